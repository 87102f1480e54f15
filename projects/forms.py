"""Forms of the staff workspace. They validate input; the services decide and write."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MinValueValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects import selectors, services
from projects.models import Project, Stage
from tracker.dates import DATE_PICKER_ATTRS, PlausibleDateField

DATE_INPUT = forms.DateInput(attrs=DATE_PICKER_ATTRS, format="%Y-%m-%d")
MONEY_ATTRS = {"inputmode": "decimal", "step": "0.01", "min": "0"}


class VersionedForm(forms.Form):
    """Carries the version the user loaded, so a concurrent save can be detected."""

    label_suffix = ""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ProjectForm(forms.ModelForm):
    label_suffix = ""
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Project
        fields = [
            "name",
            "code",
            "kind",
            "level",
            "category",
            "tier",
            "build_type",
            "source",
            "is_private",
            "tags",
            "parent",
            "description",
            "lead_unit",
            "cooperating_units",
            "township",
            "location",
            "latitude",
            "longitude",
            "lead_leader",
            "co_leaders",
            "owner",
            "contractor",
            "supervising_engineer",
            "total_investment",
            "prior_investment",
            "remarks",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "remarks": forms.Textarea(attrs={"rows": 2}),
            "total_investment": forms.NumberInput(attrs=MONEY_ATTRS),
            "prior_investment": forms.NumberInput(attrs=MONEY_ATTRS),
            "tags": forms.CheckboxSelectMultiple,
            "cooperating_units": forms.SelectMultiple(attrs={"size": 6}),
            "co_leaders": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, queryset in selectors.project_reference_choices(user, self.instance).items():
            self.fields[name].queryset = queryset
        for name in ("total_investment", "prior_investment"):
            self.fields[name].validators.append(MinValueValidator(Decimal(0)))
        if self.instance.pk and not self.is_bound:
            self.fields["version"].initial = self.instance.version

    def service_fields(self) -> dict[str, object]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        return {
            key: value
            for key, value in data.items()
            if key in services.PROJECT_EDITABLE_FIELDS | services.PROJECT_M2M_FIELDS
        }


class StageForm(forms.Form):
    label_suffix = ""
    to_stage = forms.ChoiceField(label=_("new stage"), choices=Stage.choices)
    changed_on = PlausibleDateField(label=_("date of change"), widget=DATE_INPUT)
    note = forms.CharField(
        label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, project: Project | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["changed_on"].initial = timezone.localdate()
        if project is not None:
            self.fields["to_stage"].choices = [
                (value, label) for value, label in Stage.choices if value != project.stage
            ]


class MilestoneCompleteForm(VersionedForm):
    done_date = PlausibleDateField(label=_("date done"), widget=DATE_INPUT)


class MilestoneReviseForm(VersionedForm):
    new_due_date = PlausibleDateField(label=_("new due date"), widget=DATE_INPUT)
    reason = forms.CharField(
        label=_("reason for the change"), widget=forms.Textarea(attrs={"rows": 2})
    )


class ReportForm(VersionedForm):
    investment = forms.DecimalField(
        label=_("investment completed this period (10k yuan)"),
        min_value=Decimal(0),
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs=MONEY_ATTRS),
    )
    physical_progress = forms.CharField(
        label=_("physical progress"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    problems = forms.CharField(
        label=_("problems"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    next_steps = forms.CharField(
        label=_("next steps"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReviewForm(VersionedForm):
    decision = forms.ChoiceField(
        choices=[("approve", _("approve")), ("return", _("return"))], widget=forms.HiddenInput
    )
    return_reason = forms.CharField(
        label=_("reason for return"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def clean(self) -> dict[str, object]:
        data = super().clean()
        if data.get("decision") == "return" and not (data.get("return_reason") or "").strip():
            self.add_error("return_reason", _("Give the reason for returning the report."))
        return data
