"""Filters of the inspection, meeting and notice lists, shared by the pages and the API.

Each narrows what the user may see already (``supervision.inspections.selectors``); the units
offered on the pages are the user's own, so a filter reveals nothing outside the scope.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects.api.filtering import ApiFilterSet, StrictBooleanFilter
from projects.api.resources import since_filter
from projects.models import Unit
from supervision import selectors as supervision_selectors
from supervision.models import (
    Inspection,
    InspectionKind,
    Meeting,
    MeetingKind,
    NoticeKind,
    NoticeStatus,
    ProjectNotice,
)
from tracker.dates import DATE_PICKER_ATTRS, PlausibleDateFromToRangeFilter

DATE_RANGE = django_filters.widgets.DateRangeWidget(attrs=DATE_PICKER_ATTRS)


def _unit_path(value) -> Subquery:
    pk = value.pk if isinstance(value, Unit) else value
    return Subquery(Unit.objects.filter(pk=pk).values("path")[:1])


def inspections_concerning(queryset: QuerySet[Inspection], value) -> QuerySet[Inspection]:
    """Organised by, or visiting, the unit or one of its sub-units."""
    path = _unit_path(value)
    visited = Inspection.units_visited.through.objects.filter(unit__path__startswith=path).values(
        "inspection_id"
    )
    return queryset.filter(Q(unit__path__startswith=path) | Q(pk__in=visited))


def meetings_concerning(queryset: QuerySet[Meeting], value) -> QuerySet[Meeting]:
    """Convened by, attended by or missed by the unit or one of its sub-units."""
    path = _unit_path(value)
    attending = Meeting.attendees.through.objects.filter(unit__path__startswith=path).values(
        "meeting_id"
    )
    absent = Meeting.absentees.through.objects.filter(unit__path__startswith=path).values(
        "meeting_id"
    )
    return queryset.filter(Q(unit__path__startswith=path) | Q(pk__in=attending) | Q(pk__in=absent))


def _unit_choices(request) -> QuerySet[Unit]:
    if request is None:
        return Unit.objects.none()
    return supervision_selectors.referable_units(request.user).order_by("path")


class InspectionFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=InspectionKind.choices)
    unit = django_filters.ModelChoiceFilter(
        label=_("unit"),
        queryset=_unit_choices,
        method="filter_unit",
        help_text=_("Organised by or visiting this unit or one of its sub-units"),
    )
    held_on = PlausibleDateFromToRangeFilter(label=_("date"), widget=DATE_RANGE)

    class Meta:
        model = Inspection
        fields: list[str] = []

    def filter_unit(self, queryset, name, value):
        return inspections_concerning(queryset, value)


class MeetingFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=MeetingKind.choices)
    unit = django_filters.ModelChoiceFilter(
        label=_("unit"),
        queryset=_unit_choices,
        method="filter_unit",
        help_text=_("Convened, attended or missed by this unit or one of its sub-units"),
    )
    held_on = PlausibleDateFromToRangeFilter(label=_("date"), widget=DATE_RANGE)

    class Meta:
        model = Meeting
        fields: list[str] = []

    def filter_unit(self, queryset, name, value):
        return meetings_concerning(queryset, value)


# ---------------------------------------------------------------------------------------------
# The API's: units by id (like the other resources), and updated_since
# ---------------------------------------------------------------------------------------------


class InspectionApiFilter(ApiFilterSet):
    kind = django_filters.ChoiceFilter(choices=InspectionKind.choices)
    unit = django_filters.NumberFilter(
        method="filter_unit", label=_("Organised by or visiting this unit or one of its sub-units")
    )
    project = django_filters.NumberFilter(field_name="projects", label=_("Project visited"))
    held_on = PlausibleDateFromToRangeFilter()
    updated_since = since_filter("updated_at")

    class Meta:
        model = Inspection
        fields: list[str] = []

    def filter_unit(self, queryset, name, value):
        return inspections_concerning(queryset, value)


class MeetingApiFilter(ApiFilterSet):
    kind = django_filters.ChoiceFilter(choices=MeetingKind.choices)
    unit = django_filters.NumberFilter(
        method="filter_unit",
        label=_("Convened, attended or missed by this unit or one of its sub-units"),
    )
    project = django_filters.NumberFilter(field_name="projects", label=_("Project on the agenda"))
    held_on = PlausibleDateFromToRangeFilter()
    updated_since = since_filter("updated_at")

    class Meta:
        model = Meeting
        fields: list[str] = []

    def filter_unit(self, queryset, name, value):
        return meetings_concerning(queryset, value)


class NoticeApiFilter(ApiFilterSet):
    kind = django_filters.ChoiceFilter(choices=NoticeKind.choices)
    status = django_filters.ChoiceFilter(choices=NoticeStatus.choices)
    overdue = StrictBooleanFilter(
        method="filter_overdue", label=_("In force and past its deadline")
    )
    issued_on = PlausibleDateFromToRangeFilter()
    updated_since = since_filter("updated_at")

    class Meta:
        model = ProjectNotice
        fields = ["project"]

    def filter_overdue(self, queryset, name, value):
        overdue = Q(status=NoticeStatus.ACTIVE, deadline__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
