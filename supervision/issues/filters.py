"""The ledger's filters, shared by the page, its Excel export and the API: what the page shows is
what the export contains. Choices are limited to what the user can see."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from projects import selectors as project_selectors
from projects.models import Category, Leader, Unit
from supervision import selectors
from supervision.models import (
    ISSUE_ACTIVE_STATUSES,
    EscalationLevel,
    Issue,
    IssueCategory,
    IssueSource,
    IssueStatus,
)
from tracker.dates import DATE_PICKER_ATTRS, PlausibleDateFilter

YES_NO = forms.Select(choices=[("", "---------"), ("true", _("yes")), ("false", _("no"))])


class IssueFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label=_("Search"))
    unit = django_filters.ModelChoiceFilter(
        queryset=Unit.objects.none(),
        method="filter_unit",
        label=_("Responsible unit (and the units under it)"),
    )
    status = django_filters.MultipleChoiceFilter(choices=IssueStatus.choices, label=_("status"))
    level = django_filters.TypedChoiceFilter(
        choices=EscalationLevel.choices,
        coerce=int,
        method="filter_level",
        label=_("escalated at least to"),
    )
    at_level = django_filters.TypedChoiceFilter(
        choices=EscalationLevel.choices,
        coerce=int,
        field_name="level",
        label=_("escalation level"),
        widget=forms.HiddenInput,
    )
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label=_("overdue"), widget=YES_NO
    )
    source = django_filters.ChoiceFilter(choices=IssueSource.choices, label=_("source"))
    category = django_filters.ChoiceFilter(choices=IssueCategory.choices, label=_("category"))
    project_category = django_filters.ChoiceFilter(
        field_name="project__category", choices=Category.choices, label=_("project category")
    )
    leader = django_filters.ModelChoiceFilter(
        queryset=Leader.objects.filter(is_active=True), label=_("responsible leader")
    )
    awaiting_office = django_filters.BooleanFilter(
        method="filter_queue", label=_("waiting for the supervision office"), widget=YES_NO
    )
    raised_after = PlausibleDateFilter(
        field_name="raised_on",
        lookup_expr="gte",
        label=_("raised from"),
        widget=forms.DateInput(attrs=DATE_PICKER_ATTRS),
    )
    raised_before = PlausibleDateFilter(
        field_name="raised_on",
        lookup_expr="lte",
        label=_("raised until"),
        widget=forms.DateInput(attrs=DATE_PICKER_ATTRS),
    )

    class Meta:
        model = Issue
        fields: list[str] = []

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.filters["unit"].queryset = project_selectors.visible_units(user).order_by("path")
        for f in self.form.fields.values():
            f.label_suffix = ""

    def filter_text(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(description__icontains=value)
            | Q(project__name__icontains=value)
        )

    def filter_unit(self, queryset: QuerySet, name: str, value: Unit | None) -> QuerySet:
        return queryset.filter(unit__path__startswith=value.path) if value else queryset

    def filter_level(self, queryset: QuerySet, name: str, value) -> QuerySet:
        return queryset if value in (None, "") else queryset.filter(level__gte=value)

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        overdue = Q(status__in=ISSUE_ACTIVE_STATUSES, deadline__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_queue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        waiting = Q(status=IssueStatus.PENDING) | Q(awaiting_office=True)
        return queryset.filter(waiting) if value else queryset.exclude(waiting)


def filtered_issues(request: HttpRequest) -> tuple[IssueFilter, QuerySet[Issue]]:
    filterset = IssueFilter(
        request.GET or None,
        queryset=selectors.visible_issues(request.user),
        user=request.user,
    )
    issues = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    return filterset, issues
