"""Read-only resources for a nightly mirror (docs/api.md, "Resources"), tombstones and OC4IDS.

Every queryset starts from what the user may see (``projects.selectors``); every list is
paginated, ordered by ``id`` unless ``?ordering=`` says otherwise, filterable by
``?updated_since=`` and runs a fixed number of queries whatever the page size.
"""

from __future__ import annotations

import re

import django_filters
from django.conf import settings
from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import generics, mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from projects import selectors
from projects.api.serializers import ErrorSerializer
from projects.api.views import ERRORS, StandardPagination, UnitViewSet
from projects.models import (
    FundingApplication,
    Leader,
    Milestone,
    MilestoneRevision,
    ProgressReport,
    Project,
    ProjectFunding,
    StageChange,
    Target,
    Tombstone,
    Unit,
)
from projects.oc4ids import project_package
from projects.signals import TOMBSTONE_MODELS
from tracker.context_processors import SITE_NAME

# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------

# "+08:00" sent unencoded in a query string arrives as " 08:00": take it back.
_SPACED_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class SyncDateTimeField(django_filters.fields.IsoDateTimeField):
    def strptime(self, value, format):
        return super().strptime(_SPACED_OFFSET.sub(r"\1+\2", value.strip()), format)


class SyncDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = SyncDateTimeField


def since_filter(field_name: str) -> SyncDateTimeFilter:
    return SyncDateTimeFilter(
        field_name=field_name,
        lookup_expr="gte",
        label=_("Changed at or after this ISO 8601 time"),
        error_messages={
            "invalid": _(
                "Enter a date and time in ISO 8601 format, e.g. 2026-11-21T00:00:00+08:00."
            )
        },
    )


class StableOrderingFilter(django_filters.OrderingFilter):
    """``?ordering=`` with ``id`` as the last key, so pages never overlap or skip."""

    def filter(self, qs, value):
        qs = super().filter(qs, value)
        if value and not any(v.lstrip("-") == "id" for v in value):
            qs = qs.order_by(*qs.query.order_by, "id")
        return qs


def _in_unit_subtree(field: str):
    """A filter method: ``field`` (a unit) is the given unit or below it, in one query."""

    def method(queryset, name, value):
        path = Subquery(Unit.objects.filter(pk=value).values("path")[:1])
        return queryset.filter(**{f"{field}__path__startswith": path})

    return method


class UnitFilterSet(django_filters.FilterSet):
    updated_since = since_filter("updated_at")

    class Meta:
        model = Unit
        fields = ["kind", "parent", "is_active"]


class LeaderFilterSet(django_filters.FilterSet):
    updated_since = since_filter("updated_at")

    class Meta:
        model = Leader
        fields = ["unit"]


class ProjectFilterSet(django_filters.FilterSet):
    unit = django_filters.NumberFilter(
        method=_in_unit_subtree("lead_unit"), label=_("Responsible unit or one of its sub-units")
    )
    leader = django_filters.NumberFilter(method="filter_leader", label=_("Lead or co-leader"))
    min_investment = django_filters.NumberFilter(field_name="total_investment", lookup_expr="gte")
    updated_since = since_filter("updated_at")
    ordering = StableOrderingFilter(fields=["name", "total_investment", "updated_at", "id"])

    class Meta:
        model = Project
        fields = [
            "township",
            "category",
            "level",
            "stage",
            "kind",
            "is_private",
            "red_card",
        ]

    def filter_leader(self, queryset, name, value):
        co_led = Project.co_leaders.through.objects.filter(leader_id=value).values("project_id")
        return queryset.filter(Q(lead_leader_id=value) | Q(pk__in=co_led))


class MilestoneFilterSet(django_filters.FilterSet):
    overdue = django_filters.BooleanFilter(
        method="filter_overdue", label=_("Open and past its due date")
    )
    updated_since = since_filter("updated_at")

    class Meta:
        model = Milestone
        fields = ["project", "kind"]

    def filter_overdue(self, queryset, name, value):
        overdue = Q(done_date__isnull=True, due_date__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class ProgressReportFilterSet(django_filters.FilterSet):
    period = django_filters.CharFilter(field_name="period_key", label=_("Period key"))
    updated_since = since_filter("updated_at")

    class Meta:
        model = ProgressReport
        fields = ["project", "status", "period_kind"]


class ProjectFundingFilterSet(django_filters.FilterSet):
    updated_since = since_filter("updated_at")

    class Meta:
        model = ProjectFunding
        fields = ["project", "source"]


class FundingApplicationFilterSet(django_filters.FilterSet):
    unit = django_filters.NumberFilter(
        method=_in_unit_subtree("unit"), label=_("Unit or one of its sub-units")
    )
    updated_since = since_filter("updated_at")

    class Meta:
        model = FundingApplication
        fields = ["project", "year", "status", "channel"]


class TargetFilterSet(django_filters.FilterSet):
    unit = django_filters.NumberFilter(
        method=_in_unit_subtree("unit"), label=_("Unit or one of its sub-units")
    )
    updated_since = since_filter("updated_at")

    class Meta:
        model = Target
        fields = ["year", "metric"]


class StageChangeFilterSet(django_filters.FilterSet):
    updated_since = since_filter("created_at")

    class Meta:
        model = StageChange
        fields = ["project", "to_stage"]


class TombstoneFilterSet(django_filters.FilterSet):
    model = django_filters.ChoiceFilter(choices=[(m, m) for m in TOMBSTONE_MODELS])
    since = since_filter("deleted_at")

    class Meta:
        model = Tombstone
        fields = ["model"]


# ---------------------------------------------------------------------------------------------
# Serializers
# ---------------------------------------------------------------------------------------------


class LeaderSerializer(serializers.ModelSerializer):
    class Meta:
        model = Leader
        fields = ["id", "name", "title", "unit", "sort_order", "is_active", "updated_at"]
        read_only_fields = fields


class ProjectSerializer(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)

    class Meta:
        model = Project
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "level",
            "category",
            "tier",
            "build_type",
            "source",
            "is_private",
            "tags",
            "parent",
            "township",
            "lead_unit",
            "cooperating_units",
            "lead_leader",
            "co_leaders",
            "owner",
            "contractor",
            "supervising_engineer",
            "total_investment",
            "prior_investment",
            "stage",
            "stage_changed_on",
            "red_card",
            "red_card_reason",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MilestoneRevisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = MilestoneRevision
        fields = ["previous_due_date", "new_due_date", "reason", "created_at"]
        read_only_fields = fields


class MilestoneSerializer(serializers.ModelSerializer):
    revisions = MilestoneRevisionSerializer(many=True, read_only=True)

    class Meta:
        model = Milestone
        fields = [
            "id",
            "project",
            "kind",
            "name",
            "due_date",
            "original_due_date",
            "done_date",
            "note",
            "sort_order",
            "version",
            "updated_at",
            "revisions",
        ]
        read_only_fields = fields


class ProgressReportSerializer(serializers.ModelSerializer):
    is_late = serializers.BooleanField(read_only=True)

    class Meta:
        model = ProgressReport
        fields = [
            "id",
            "project",
            "period_kind",
            "period_key",
            "period_start",
            "period_end",
            "deadline",
            "status",
            "investment",
            "physical_progress",
            "problems",
            "next_steps",
            "submitted_at",
            "first_submitted_at",
            "reviewed_at",
            "return_reason",
            "is_late",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProjectFundingSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProjectFunding
        fields = ["id", "project", "source", "planned", "arrived", "updated_at"]
        read_only_fields = fields


class FundingApplicationSerializer(serializers.ModelSerializer):
    class Meta:
        model = FundingApplication
        fields = [
            "id",
            "unit",
            "project",
            "year",
            "title",
            "channel",
            "policy_basis",
            "requested",
            "approved",
            "arrived",
            "status",
            "applied_on",
            "approved_on",
            "note",
            "updated_at",
        ]
        read_only_fields = fields


class TargetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Target
        fields = [
            "id",
            "unit",
            "year",
            "metric",
            "target_value",
            "actual_value",
            "note",
            "updated_at",
        ]
        read_only_fields = fields


class StageChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = StageChange
        fields = ["id", "project", "from_stage", "to_stage", "changed_on", "note", "created_at"]
        read_only_fields = fields


class TombstoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tombstone
        fields = ["id", "model", "object_id", "deleted_at"]
        read_only_fields = fields


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------

LIST_ERRORS = {400: ErrorSerializer, **ERRORS}
DETAIL_ERRORS = {404: ErrorSerializer, **ERRORS}


def read_only(name: str, serializer):
    """The schema of a read-only resource: a list and a detail."""
    return extend_schema_view(
        list=extend_schema(
            summary=f"{name} visible to the caller",
            responses={200: serializer, **LIST_ERRORS},
        ),
        retrieve=extend_schema(
            summary=f"One of {name}", responses={200: serializer, **DETAIL_ERRORS}
        ),
    )


def visible_projects(user) -> QuerySet[Project]:
    return Project.objects.visible_to(user)


class ResourceViewSet(viewsets.ReadOnlyModelViewSet):
    pagination_class = StandardPagination


@extend_schema_view(
    list=extend_schema(
        summary="Units visible to the caller",
        responses={200: UnitViewSet.serializer_class, **LIST_ERRORS},
    )
)
class UnitSyncViewSet(UnitViewSet):
    """The foundation's units, with ``?updated_since=``."""

    filterset_class = UnitFilterSet
    filterset_fields = None


@read_only("Leaders", LeaderSerializer)
class LeaderViewSet(ResourceViewSet):
    serializer_class = LeaderSerializer
    filterset_class = LeaderFilterSet

    def get_queryset(self):
        user = self.request.user
        projects = visible_projects(user)
        co_leading = Project.co_leaders.through.objects.filter(project__in=projects)
        return (
            Leader.objects.filter(is_active=True)
            .filter(
                Q(unit__in=selectors.visible_units(user))
                | Q(pk__in=projects.values("lead_leader_id"))
                | Q(pk__in=co_leading.values("leader_id"))
            )
            .order_by("id")
        )


@read_only("Projects", ProjectSerializer)
class ProjectViewSet(ResourceViewSet):
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet

    def get_queryset(self):
        return (
            visible_projects(self.request.user)
            .prefetch_related("tags", "cooperating_units", "co_leaders")
            .order_by("id")
        )


@read_only("Milestones", MilestoneSerializer)
class MilestoneViewSet(ResourceViewSet):
    serializer_class = MilestoneSerializer
    filterset_class = MilestoneFilterSet

    def get_queryset(self):
        return (
            Milestone.objects.filter(project__in=visible_projects(self.request.user))
            .prefetch_related("revisions")
            .order_by("id")
        )


@read_only("Progress reports", ProgressReportSerializer)
class ProgressReportViewSet(ResourceViewSet):
    serializer_class = ProgressReportSerializer
    filterset_class = ProgressReportFilterSet

    def get_queryset(self):
        return ProgressReport.objects.filter(
            project__in=visible_projects(self.request.user)
        ).order_by("id")


@read_only("Project funding", ProjectFundingSerializer)
class ProjectFundingViewSet(ResourceViewSet):
    serializer_class = ProjectFundingSerializer
    filterset_class = ProjectFundingFilterSet

    def get_queryset(self):
        return ProjectFunding.objects.filter(
            project__in=visible_projects(self.request.user)
        ).order_by("id")


@read_only("Funding applications", FundingApplicationSerializer)
class FundingApplicationViewSet(ResourceViewSet):
    serializer_class = FundingApplicationSerializer
    filterset_class = FundingApplicationFilterSet

    def get_queryset(self):
        return FundingApplication.objects.filter(
            unit__in=selectors.visible_units(self.request.user)
        ).order_by("id")


@read_only("Targets", TargetSerializer)
class TargetViewSet(ResourceViewSet):
    serializer_class = TargetSerializer
    filterset_class = TargetFilterSet

    def get_queryset(self):
        return Target.objects.filter(unit__in=selectors.visible_units(self.request.user)).order_by(
            "id"
        )


@read_only("Stage changes", StageChangeSerializer)
class StageChangeViewSet(ResourceViewSet):
    serializer_class = StageChangeSerializer
    filterset_class = StageChangeFilterSet

    def get_queryset(self):
        return StageChange.objects.filter(project__in=visible_projects(self.request.user)).order_by(
            "id"
        )


@extend_schema_view(
    list=extend_schema(
        summary="Deleted objects (ids and model names only)",
        responses={200: TombstoneSerializer, **LIST_ERRORS},
    )
)
class TombstoneViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Any authenticated user may read every tombstone: they reveal only ids and model names."""

    serializer_class = TombstoneSerializer
    pagination_class = StandardPagination
    filterset_class = TombstoneFilterSet
    queryset = Tombstone.objects.order_by("id")


class Oc4idsView(generics.GenericAPIView):
    """The visible projects as an OC4IDS 0.9 project package; the projects list's filters."""

    filterset_class = ProjectFilterSet
    pagination_class = None

    def get_queryset(self):
        return visible_projects(self.request.user).order_by("id")

    @extend_schema(
        summary="OC4IDS project package of the visible projects",
        filters=True,
        responses={200: OpenApiTypes.OBJECT, **LIST_ERRORS},
    )
    def get(self, request: Request) -> Response:
        projects = self.filter_queryset(self.get_queryset())
        with translation.override(settings.LANGUAGE_CODE):
            publisher_name = str(SITE_NAME)
        package = project_package(
            projects,
            published=timezone.now(),
            uri=request.build_absolute_uri(),
            publisher_name=publisher_name,
            as_of=timezone.localdate(),
        )
        return Response(package)
