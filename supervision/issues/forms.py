"""Forms of the ledger pages. They validate input; the services decide and write."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects import selectors as project_selectors
from projects.models import Leader, Project, Unit, UnitKind
from supervision import selectors as supervision_selectors
from supervision.models import EscalationLevel, IssueCategory, IssueSource
from supervision.selectors import UNIT_ROLES
from tracker.dates import DATE_PICKER_ATTRS, PlausibleDateField

DATE_INPUT = forms.DateInput(attrs=DATE_PICKER_ATTRS, format="%Y-%m-%d")
TEXT_AREA = forms.Textarea(attrs={"rows": 3})


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented pattern)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


class LedgerForm(forms.Form):
    label_suffix = ""
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


def _units(user, *, supervised: bool):
    """Units an issue may be raised against (those the user supervises) or asked for help on
    behalf of (the user's own), villages aside."""
    if supervised:
        return supervision_selectors.units_to_name(user).order_by("path")
    return supervision_selectors.referable_units(user).order_by("path")


def _units_to_push(user):
    """Units one may ask the county to push: those of the counties of the user's units."""

    paths = project_selectors.jurisdiction_paths(user, UNIT_ROLES)
    return project_selectors.units_in(paths).exclude(kind=UnitKind.VILLAGE).order_by("path")


class IssueRaiseForm(LedgerForm):
    title = forms.CharField(label=_("problem"), max_length=200)
    description = forms.CharField(label=_("details"), widget=TEXT_AREA, required=False)
    requirement = forms.CharField(
        label=_("rectification required"), widget=TEXT_AREA, required=False
    )
    source = forms.ChoiceField(
        label=_("source"),
        choices=[(v, label) for v, label in IssueSource.choices if v != IssueSource.UNIT_REQUEST],
    )
    category = forms.ChoiceField(label=_("category"), choices=IssueCategory.choices)
    project = forms.ModelChoiceField(
        label=_("project"), queryset=Project.objects.none(), required=False
    )
    unit = forms.ModelChoiceField(label=_("responsible unit"), queryset=Unit.objects.none())
    leader = forms.ModelChoiceField(
        label=_("responsible leader"),
        queryset=Leader.objects.filter(is_active=True),
        required=False,
        help_text=_("Blank: the project's lead leader."),
    )
    deadline = PlausibleDateField(label=_("deadline"), widget=DATE_INPUT)

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["project"].queryset = supervision_selectors.projects_to_name(user).order_by(
            "name"
        )
        self.fields["unit"].queryset = _units(user, supervised=True)
        self.fields["leader"].queryset = supervision_selectors.leaders_to_name(user)

    def clean_deadline(self):
        deadline = self.cleaned_data["deadline"]
        if deadline < timezone.localdate():
            raise forms.ValidationError(_("The deadline cannot be in the past."))
        return deadline


class HelpRequestForm(LedgerForm):
    requesting_unit = forms.ModelChoiceField(label=_("on behalf of"), queryset=Unit.objects.none())
    title = forms.CharField(label=_("what is blocked"), max_length=200)
    description = forms.CharField(label=_("what you need the county to do"), widget=TEXT_AREA)
    category = forms.ChoiceField(label=_("category"), choices=IssueCategory.choices)
    project = forms.ModelChoiceField(
        label=_("project"), queryset=Project.objects.none(), required=False
    )
    target_unit = forms.ModelChoiceField(
        label=_("unit to push"),
        queryset=Unit.objects.none(),
        required=False,
        help_text=_("Blank: ask the county to coordinate."),
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["requesting_unit"].queryset = _units(user, supervised=False)
        self.fields["project"].queryset = project_selectors.visible_projects(user).order_by("name")
        self.fields["target_unit"].queryset = _units_to_push(user)


class TextFilesForm(LedgerForm):
    text = forms.CharField(label=_("text"), widget=TEXT_AREA)
    files = MultipleFileField(label=_("evidence files"))


class ExtensionRequestForm(LedgerForm):
    new_deadline = PlausibleDateField(label=_("new deadline asked for"), widget=DATE_INPUT)
    reason = forms.CharField(label=_("reason"), widget=TEXT_AREA)


class ExtensionDecisionForm(LedgerForm):
    grant = forms.TypedChoiceField(
        label=_("decision"),
        choices=[("1", _("grant")), ("0", _("refuse"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("note"), max_length=300, required=False)


class UrgeForm(LedgerForm):
    text = forms.CharField(label=_("text"), widget=TEXT_AREA)
    target_unit = forms.ModelChoiceField(
        label=_("unit to push"), queryset=Unit.objects.none(), required=False
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_unit"].queryset = _units(user, supervised=True)


class UrgeUpForm(LedgerForm):
    text = forms.CharField(label=_("what you need the county to do"), widget=TEXT_AREA)
    target_unit = forms.ModelChoiceField(
        label=_("unit to push"), queryset=Unit.objects.none(), required=False
    )

    def __init__(self, *args, unit: Unit, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The units of the responsible unit's county (services.unit_may_be_pushed).
        paths = [project_selectors.jurisdiction_path(unit)]
        self.fields["target_unit"].queryset = (
            project_selectors.units_in(paths).exclude(kind=UnitKind.VILLAGE).order_by("path")
        )


class EscalateForm(LedgerForm):
    level = forms.TypedChoiceField(label=_("step"), choices=(), coerce=int)
    reason = forms.CharField(label=_("reason"), widget=TEXT_AREA)

    def __init__(self, *args, current: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["level"].choices = [
            (value, label) for value, label in EscalationLevel.choices if value > current
        ]


class ReasonForm(LedgerForm):
    reason = forms.CharField(label=_("reason"), widget=TEXT_AREA)


class NoteForm(LedgerForm):
    note = forms.CharField(label=_("note"), widget=TEXT_AREA, required=False)


class InstructionForm(LedgerForm):
    text = forms.CharField(label=_("instruction"), widget=TEXT_AREA)


class AcceptForm(LedgerForm):
    unit = forms.ModelChoiceField(label=_("responsible unit"), queryset=Unit.objects.none())
    leader = forms.ModelChoiceField(
        label=_("responsible leader"),
        queryset=Leader.objects.filter(is_active=True),
        required=False,
    )
    deadline = PlausibleDateField(label=_("deadline"), widget=DATE_INPUT)
    requirement = forms.CharField(
        label=_("rectification required"), widget=TEXT_AREA, required=False
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = _units(user, supervised=True)
        self.fields["leader"].queryset = supervision_selectors.leaders_to_name(user)
