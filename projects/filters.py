"""The project list's filters and sort orders, shared by the page and its Excel export.

Every filter narrows ``selectors.visible_projects(user)``; the choices offered (units, townships,
leaders) are limited to what the user can see, so a filter never reveals anything outside scope.
"""

from __future__ import annotations

from decimal import Decimal

import django_filters
from django import forms
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from projects import selectors
from projects.models import (
    STAGE_FUNNEL,
    STARTED_STAGES,
    Category,
    Leader,
    Light,
    Project,
    ProjectKind,
    ProjectLevel,
    Source,
    Stage,
    StageChange,
    Tier,
    Unit,
    UnitKind,
    bundle_ids,
)

DEFAULT_SORT = "-total_investment"

# Funnel order first, then the side states (suspended, cancelled).
_STAGE_ORDER = [*STAGE_FUNNEL, *(s for s in Stage if s not in STAGE_FUNNEL)]
STAGE_RANK = Case(
    *(When(stage=stage, then=Value(rank)) for rank, stage in enumerate(_STAGE_ORDER)),
    default=Value(len(_STAGE_ORDER)),
    output_field=IntegerField(),
)

# The whitelist of sort keys: public key → ORDER BY expressions (ascending).
SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name",),
    "total_investment": ("total_investment",),
    "stage": ("stage_rank",),
    "unit": ("lead_unit__sort_order", "lead_unit__name"),
    "updated": ("updated_at",),
}
SORT_CHOICES = [
    ("-total_investment", _("Total investment, largest first")),
    ("total_investment", _("Total investment, smallest first")),
    ("name", _("Name")),
    ("-name", _("Name, reversed")),
    ("stage", _("Stage, earliest first")),
    ("-stage", _("Stage, latest first")),
    ("unit", _("Responsible unit")),
    ("-updated", _("Recently updated first")),
    ("updated", _("Least recently updated first")),
]

# 亿元以上 / 5000万以上 (amounts in 万元).
MIN_INVESTMENT_CHOICES = [
    ("10000", _("100 million yuan or more")),
    ("5000", _("50 million yuan or more")),
]

# Stages reached, as the dashboard counts them (started includes completed and operating).
PROGRESS_STAGES = {
    "signed": [Stage.SIGNED, Stage.RESERVE, Stage.PREPARING, *STARTED_STAGES],
    "started": STARTED_STAGES,
    "completed": [Stage.COMPLETED, Stage.OPERATING],
    "producing": [Stage.OPERATING],
}
PROGRESS_CHOICES = [
    ("signed", _("signed")),
    ("started", _("started")),
    ("not_started", _("not started")),
    ("completed", _("completed")),
    ("producing", _("in operation")),
]

YES_NO = forms.Select(choices=[("", "---------"), ("true", _("yes")), ("false", _("no"))])


def sort_order(key: str) -> list[str]:
    """ORDER BY for a whitelisted sort key (unknown keys fall back to the default), id last."""
    if key.lstrip("-") not in SORT_FIELDS:
        key = DEFAULT_SORT
    descending = key.startswith("-")
    fields = SORT_FIELDS[key.lstrip("-")]
    return [f"-{f}" if descending else f for f in fields] + ["-id" if descending else "id"]


def apply_sort(queryset: QuerySet[Project], key: str) -> QuerySet[Project]:
    return queryset.alias(stage_rank=STAGE_RANK).order_by(*sort_order(key))


def _visible_projects(request: HttpRequest) -> QuerySet[Project]:
    return selectors.visible_projects(request.user)


def unit_choices(request: HttpRequest | None) -> QuerySet[Unit]:
    """Units in the user's scope, and the lead units of the projects the user can see."""
    if request is None:
        return Unit.objects.none()
    scope = selectors.visible_units(request.user).values("pk")
    leading = _visible_projects(request).values("lead_unit_id")
    return Unit.objects.filter(Q(pk__in=scope) | Q(pk__in=leading)).order_by("path")


def township_choices(request: HttpRequest | None) -> QuerySet[Unit]:
    """Townships in the user's scope, and those where the user's visible projects lie."""
    if request is None:
        return Unit.objects.none()
    scope = selectors.visible_units(request.user).values("pk")
    located = _visible_projects(request).values("township_id")
    return Unit.objects.filter(
        Q(pk__in=scope) | Q(pk__in=located), kind=UnitKind.TOWNSHIP
    ).order_by("sort_order", "path")


def leader_choices(request: HttpRequest | None) -> QuerySet[Leader]:
    """Active leaders of units in scope, and those leading or co-leading visible projects."""
    if request is None:
        return Leader.objects.none()
    visible = _visible_projects(request)
    scope = selectors.visible_units(request.user).values("pk")
    co_leading = Project.co_leaders.through.objects.filter(project__in=visible).values("leader_id")
    return Leader.objects.filter(
        Q(unit__in=scope) | Q(pk__in=visible.values("lead_leader_id")) | Q(pk__in=co_leading),
        is_active=True,
    )


class ProjectFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label=_("Search"),
        method="filter_text",
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("name, code, owner…")}),
    )
    unit = django_filters.ModelChoiceFilter(
        label=_("responsible unit"), queryset=unit_choices, method="filter_unit"
    )
    township = django_filters.ModelChoiceFilter(
        label=_("township"), queryset=township_choices, field_name="township"
    )
    category = django_filters.ChoiceFilter(label=_("category"), choices=Category.choices)
    level = django_filters.ChoiceFilter(label=_("level"), choices=ProjectLevel.choices)
    stage = django_filters.ChoiceFilter(label=_("stage"), choices=Stage.choices)
    kind = django_filters.ChoiceFilter(label=_("kind"), choices=ProjectKind.choices)
    min_investment = django_filters.ChoiceFilter(
        label=_("total investment"), choices=MIN_INVESTMENT_CHOICES, method="filter_min_investment"
    )
    tier = django_filters.ChoiceFilter(label=_("industry tier"), choices=Tier.choices)
    source = django_filters.ChoiceFilter(label=_("source"), choices=Source.choices)
    progress = django_filters.ChoiceFilter(
        label=_("progress"), choices=PROGRESS_CHOICES, method="filter_progress"
    )
    light = django_filters.ChoiceFilter(label=_("light"), choices=Light.choices)
    private = django_filters.BooleanFilter(
        label=_("private investment"), field_name="is_private", widget=YES_NO
    )
    counted = django_filters.BooleanFilter(
        label=_("counted in the dashboard figures"),
        method="filter_counted",
        widget=forms.HiddenInput,
    )
    red_card = django_filters.BooleanFilter(
        label=_("red card"), field_name="red_card", widget=YES_NO
    )
    leader = django_filters.ModelChoiceFilter(
        label=_("leader"), queryset=leader_choices, method="filter_leader"
    )
    sort = django_filters.ChoiceFilter(
        label=_("Sort by"), choices=SORT_CHOICES, method="filter_sort", empty_label=None
    )

    class Meta:
        model = Project
        fields: list[str] = []

    def filter_text(self, queryset: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        for term in value.split()[:8]:
            queryset = queryset.filter(
                Q(name__icontains=term)
                | Q(code__icontains=term)
                | Q(owner__icontains=term)
                | Q(contractor__icontains=term)
                | Q(lead_unit__name__icontains=term)
                | Q(lead_unit__short_name__icontains=term)
            )
        return queryset

    def filter_unit(self, queryset: QuerySet[Project], name: str, value: Unit) -> QuerySet[Project]:
        return queryset.in_unit_subtree(value)

    def filter_min_investment(
        self, queryset: QuerySet[Project], name: str, value: str
    ) -> QuerySet[Project]:
        return queryset.filter(total_investment__gte=Decimal(value))

    def filter_progress(
        self, queryset: QuerySet[Project], name: str, value: str
    ) -> QuerySet[Project]:
        """As the dashboard counts: stages reached (by a recorded change) by today."""
        reached = StageChange.objects.filter(
            project=OuterRef("pk"), to_stage__in=PROGRESS_STAGES[value.removeprefix("not_")]
        )
        if value.startswith("not_"):
            return queryset.exclude(Exists(reached))
        return queryset.filter(Exists(reached))

    def filter_counted(self, queryset: QuerySet[Project], name: str, value) -> QuerySet[Project]:
        """The projects the dashboard counts: not bundles, not cancelled."""
        if not value:
            return queryset
        return queryset.exclude(pk__in=bundle_ids()).exclude(stage=Stage.CANCELLED)

    def filter_leader(
        self, queryset: QuerySet[Project], name: str, value: Leader
    ) -> QuerySet[Project]:
        co_led = Project.co_leaders.through.objects.filter(leader=value).values("project_id")
        return queryset.filter(Q(lead_leader=value) | Q(pk__in=co_led))

    def filter_sort(self, queryset: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        return apply_sort(queryset, value)

    @property
    def sort_key(self) -> str:
        """The sort in effect (a whitelisted key)."""
        self.form.is_valid()  # validates once; invalid fields are left out of cleaned_data
        value = self.form.cleaned_data.get("sort") or ""
        return value if value.lstrip("-") in SORT_FIELDS else DEFAULT_SORT


def filtered_projects(request: HttpRequest) -> tuple[ProjectFilter, QuerySet[Project]]:
    """The user's visible projects narrowed and sorted by the request's query string."""
    base = apply_sort(selectors.visible_projects(request.user), DEFAULT_SORT)
    filterset = ProjectFilter(request.GET, queryset=base, request=request)
    return filterset, filterset.qs
