"""Forms of inspections, meetings and project notices. They check the input's form and offer
only what the user may name; the services (``supervision.inspections.services``) decide and
write."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from projects import selectors
from projects.forms import DATE_INPUT
from projects.models import Leader, Project, Unit
from supervision import selectors as supervision_selectors
from supervision.inspections.services import (
    INSPECTION_FIELDS,
    INSPECTION_M2M_FIELDS,
    MEETING_FIELDS,
    MEETING_M2M_FIELDS,
    RowErrors,
)
from supervision.models import (
    Inspection,
    IssueCategory,
    Meeting,
    NoticeStatus,
    ProjectNotice,
)
from tracker.dates import PlausibleDateField

TITLE_LABEL = pgettext_lazy("document", "title")
MULTI = {"size": 8}


def add_service_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """Put a service's ValidationError on the form: per field where it names one."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def projects_to_name(user) -> QuerySet[Project]:
    return (
        supervision_selectors.projects_to_name(user)
        .select_related("lead_unit")
        .order_by("name", "id")
    )


class _VersionedModelForm(forms.ModelForm):
    label_suffix = ""
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    # Set by subclasses: the fields the service takes.
    service_field_names: frozenset[str] = frozenset()

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = supervision_selectors.supervised_units(user)
        if self.instance.pk and not self.is_bound:
            self.fields["version"].initial = self.instance.version
        elif not self.is_bound:
            # The office the supervisor works for is the usual organiser.
            own = selectors.scope_paths(user, selectors.SUPERVISE_ROLES)
            if own:
                self.fields["unit"].initial = (
                    supervision_selectors.supervised_units(user).filter(path=own[0]).first()
                )

    def service_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k in self.service_field_names}

    def _post_clean(self) -> None:
        # The service validates the model (with the actor's rights); the form only the input.
        pass


class InspectionForm(_VersionedModelForm):
    service_field_names = INSPECTION_FIELDS | INSPECTION_M2M_FIELDS

    class Meta:
        model = Inspection
        fields = [
            "title",
            "kind",
            "held_on",
            "unit",
            "inspectors",
            "projects",
            "units_visited",
            "findings",
        ]
        labels = {"title": TITLE_LABEL}
        help_texts = {"inspectors": _("Names of the inspectors, separated by 、")}
        widgets = {
            "held_on": DATE_INPUT,
            "findings": forms.Textarea(attrs={"rows": 8}),
            "projects": forms.SelectMultiple(attrs=MULTI),
            "units_visited": forms.SelectMultiple(attrs=MULTI),
        }

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, user=user, **kwargs)
        self.fields["projects"].queryset = projects_to_name(user)
        self.fields["units_visited"].queryset = supervision_selectors.units_to_name(user)
        if not self.instance.pk and not self.is_bound:
            self.fields["held_on"].initial = timezone.localdate()


class MeetingForm(_VersionedModelForm):
    service_field_names = MEETING_FIELDS | MEETING_M2M_FIELDS

    class Meta:
        model = Meeting
        fields = [
            "title",
            "kind",
            "held_on",
            "unit",
            "host",
            "location",
            "attendees",
            "absentees",
            "attendee_names",
            "projects",
            "minutes",
        ]
        labels = {"title": TITLE_LABEL, "location": _("venue")}
        widgets = {
            "held_on": DATE_INPUT,
            "minutes": forms.Textarea(attrs={"rows": 8}),
            "attendees": forms.SelectMultiple(attrs=MULTI),
            "absentees": forms.SelectMultiple(attrs=MULTI),
            "projects": forms.SelectMultiple(attrs=MULTI),
        }

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, user=user, **kwargs)
        units = supervision_selectors.units_to_name(user)
        self.fields["attendees"].queryset = units
        self.fields["absentees"].queryset = units
        self.fields["projects"].queryset = projects_to_name(user)
        self.fields["host"].queryset = supervision_selectors.leaders_to_name(user)
        if not self.instance.pk and not self.is_bound:
            self.fields["held_on"].initial = timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        both = set(data.get("attendees") or []) & set(data.get("absentees") or [])
        if both:
            self.add_error(
                "absentees",
                _("A unit cannot both attend and be absent: %(units)s.")
                % {"units": "、".join(u.name for u in both)},
            )
        return data


# ---------------------------------------------------------------------------------------------
# Batches of issues: findings of an inspection, decisions of a meeting
# ---------------------------------------------------------------------------------------------


class IssueRowForm(forms.Form):
    """One finding or decision; a row left blank is skipped."""

    label_suffix = ""

    title = forms.CharField(label=_("problem"), max_length=200)
    # A blank first choice: a row the user left alone posts nothing and is skipped.
    category = forms.ChoiceField(
        label=_("category"), choices=[("", "---------"), *IssueCategory.choices]
    )
    project = forms.ModelChoiceField(
        label=_("project"), queryset=Project.objects.none(), required=False
    )
    unit = forms.ModelChoiceField(
        label=_("responsible unit"),
        queryset=Unit.objects.none(),
        required=False,
        help_text=_("Blank: the project's responsible unit."),
    )
    leader = forms.ModelChoiceField(
        label=_("responsible leader"),
        queryset=Leader.objects.none(),
        required=False,
        help_text=_("Blank: the project's lead leader."),
    )
    deadline = PlausibleDateField(label=_("deadline"), widget=DATE_INPUT)
    requirement = forms.CharField(
        label=_("rectification required"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, user, projects: QuerySet[Project], decision: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects
        self.fields["unit"].queryset = supervision_selectors.supervised_units(user)
        self.fields["leader"].queryset = supervision_selectors.leaders_to_name(user)
        if decision:
            self.fields["title"].label = _("task assigned")
            self.fields["unit"].label = _("owner unit")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("unit") is None:
            project = data.get("project")
            if project is not None:
                data["unit"] = project.lead_unit
            elif "unit" not in self.errors:
                self.add_error("unit", _("Name the responsible unit, or choose a project."))
        deadline = data.get("deadline")
        if deadline is not None and deadline < timezone.localdate():
            self.add_error("deadline", _("The deadline cannot be in the past."))
        return data

    def issue_fields(self) -> dict[str, Any]:
        return {key: self.cleaned_data.get(key) for key in self.fields}


class BaseIssueRowFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        if not self.filled_forms():
            raise ValidationError(_("Fill in at least one issue."))

    def filled_forms(self) -> list[IssueRowForm]:
        return [f for f in self.forms if f.has_changed() and f not in self.deleted_forms]

    def rows(self) -> list[dict[str, Any]]:
        return [f.issue_fields() for f in self.filled_forms()]

    def add_row_errors(self, error: RowErrors) -> None:
        forms_ = self.filled_forms()
        for index, row_error in error.rows.items():
            add_service_errors(forms_[index], row_error)


IssueRowFormSet = forms.formset_factory(
    IssueRowForm, formset=BaseIssueRowFormSet, extra=3, max_num=30, validate_max=True
)


def issue_formset(
    *,
    user,
    projects: QuerySet[Project],
    prefix: str,
    decision: bool = False,
    data=None,
) -> BaseIssueRowFormSet:
    return IssueRowFormSet(
        data,
        prefix=prefix,
        form_kwargs={"user": user, "projects": projects, "decision": decision},
    )


# ---------------------------------------------------------------------------------------------
# Scores and photos of an inspection
# ---------------------------------------------------------------------------------------------


class ScoreForm(forms.Form):
    label_suffix = ""

    project = forms.ModelChoiceField(queryset=Project.objects.none(), widget=forms.HiddenInput)
    score = forms.DecimalField(
        label=_("score"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(100),
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(
            attrs={"inputmode": "decimal", "step": "0.01", "min": "0", "max": "100"}
        ),
    )
    comment = forms.CharField(label=_("comment"), required=False, max_length=300)

    def __init__(self, *args, projects: QuerySet[Project], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = projects


class BaseScoreFormSet(forms.BaseFormSet):
    def rows(self) -> list[dict[str, Any]]:
        return [f.cleaned_data for f in self.forms if f.cleaned_data.get("project")]

    def add_row_errors(self, error: RowErrors) -> None:
        forms_ = [f for f in self.forms if f.cleaned_data.get("project")]
        for index, row_error in error.rows.items():
            add_service_errors(forms_[index], row_error)


ScoreFormSet = forms.formset_factory(ScoreForm, formset=BaseScoreFormSet, extra=0, max_num=200)


def score_formset(*, inspection: Inspection, data=None) -> BaseScoreFormSet:
    """One row per project visited, with its score if it has one."""
    projects = list(inspection.projects.all())
    scores = {s.project_id: s for s in inspection.scores.all()}
    initial = [
        {
            "project": p.pk,
            "project_name": p.name,
            "score": scores[p.pk].score if p.pk in scores else None,
            "comment": scores[p.pk].comment if p.pk in scores else "",
        }
        for p in projects
    ]
    formset = ScoreFormSet(
        data,
        initial=initial,
        prefix="scores",
        form_kwargs={"projects": inspection.projects.all()},
    )
    for form, row in zip(formset.forms, initial, strict=False):
        form.project_name = row["project_name"]
    return formset


class PhotoForm(forms.Form):
    label_suffix = ""

    caption = forms.CharField(label=_("Caption"), required=False, max_length=200)
    project = forms.ModelChoiceField(
        label=_("project"), queryset=Project.objects.none(), required=False
    )

    def __init__(self, *args, inspection: Inspection, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = inspection.projects.all()


# ---------------------------------------------------------------------------------------------
# Project notices
# ---------------------------------------------------------------------------------------------


class NoticeIssueForm(forms.ModelForm):
    label_suffix = ""

    class Meta:
        model = ProjectNotice
        fields = ["kind", "requirement", "deadline", "consequence"]
        labels = {"requirement": _("reason and requirement")}
        widgets = {"requirement": forms.Textarea(attrs={"rows": 3}), "deadline": DATE_INPUT}
        help_texts = {
            "deadline": _(
                "Required for a deadline notice, e.g. the date by which work must start."
            ),
            "consequence": _("e.g. 逾期取消项目 (required for a deadline notice)"),
        }

    def _post_clean(self) -> None:
        pass  # the service validates, with the actor's rights


class NoticeSettleForm(forms.Form):
    label_suffix = ""

    status = forms.ChoiceField(
        label=_("settled as"),
        choices=[(s.value, s.label) for s in NoticeStatus if s != NoticeStatus.ACTIVE],
        widget=forms.RadioSelect,
    )
    outcome = forms.CharField(label=_("follow-up"), widget=forms.Textarea(attrs={"rows": 2}))
    cancel_project = forms.BooleanField(
        label=_("Also cancel the project (move it to the stage “cancelled”)"), required=False
    )

    def __init__(self, *args, notice: ProjectNotice, offers_cancellation: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.notice = notice
        if not offers_cancellation:
            del self.fields["cancel_project"]
