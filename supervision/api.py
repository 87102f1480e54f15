"""Rankings over the REST API (docs/api.md, "Rankings"), under the rules of projects.api:
bearer tokens or sessions, the same visibility as the pages, paginated, filterable, read-only."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.routers import SimpleRouter

from projects.api.filtering import ApiFilterSet, StrictBooleanFilter
from projects.api.resources import DETAIL_ERRORS, LIST_ERRORS, since_filter
from projects.api.views import StandardPagination
from supervision import selectors
from supervision.alerts import RULES
from supervision.metrics import REGISTRY
from supervision.models import (
    Alert,
    RankingEntry,
    RankingScheme,
    RankingSnapshot,
    SchemeMetric,
    SnapshotStatus,
)


class SchemeMetricSerializer(serializers.ModelSerializer):
    label = serializers.SerializerMethodField()
    higher_is_better = serializers.BooleanField(read_only=True)

    class Meta:
        model = SchemeMetric
        fields = ["metric", "label", "weight", "higher_is_better"]
        read_only_fields = fields

    def get_label(self, obj: SchemeMetric) -> str:
        return str(REGISTRY[obj.metric].label)


class RankingSchemeSerializer(serializers.ModelSerializer):
    metrics = SchemeMetricSerializer(many=True, read_only=True)
    child_kinds = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = RankingScheme
        fields = [
            "id",
            "name",
            "parent_unit",
            "child_kinds",
            "cadence",
            "top_count",
            "bottom_count",
            "co_unit_weight",
            "starts_on",
            "is_active",
            "metrics",
            "updated_at",
        ]
        read_only_fields = fields


class RankingEntrySerializer(serializers.ModelSerializer):
    unit_name = serializers.CharField(source="unit.name", read_only=True)
    values = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        read_only=True,
        help_text="Metric key → value as a decimal string (null: nothing to measure).",
    )
    scores = serializers.DictField(
        child=serializers.CharField(allow_null=True),
        read_only=True,
        help_text="Metric key → 0–100 score as a decimal string.",
    )

    class Meta:
        model = RankingEntry
        fields = [
            "unit",
            "unit_name",
            "rank",
            "score",
            "previous_rank",
            "movement",
            "is_top",
            "is_bottom",
            "exempt_reason",
            "values",
            "scores",
        ]
        read_only_fields = fields


class RankingSnapshotSerializer(serializers.ModelSerializer):
    entries = RankingEntrySerializer(many=True, read_only=True)
    metrics = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta:
        model = RankingSnapshot
        fields = [
            "id",
            "scheme",
            "period_key",
            "period_start",
            "period_end",
            "status",
            "is_provisional",
            "metrics",
            "computed_at",
            "published_at",
            "commentary",
            "updated_at",
            "entries",
        ]
        read_only_fields = fields


class RankingSchemeFilterSet(ApiFilterSet):
    updated_since = since_filter("updated_at")

    class Meta:
        model = RankingScheme
        fields = ["parent_unit", "cadence", "is_active"]


class RankingSnapshotFilterSet(ApiFilterSet):
    period = django_filters.CharFilter(field_name="period_key", label="Period key, e.g. 2026-10")
    status = django_filters.ChoiceFilter(choices=SnapshotStatus.choices)
    updated_since = since_filter("updated_at")

    class Meta:
        model = RankingSnapshot
        fields = ["scheme", "is_provisional"]


@extend_schema_view(
    list=extend_schema(
        summary="Ranking schemes visible to the caller",
        responses={200: RankingSchemeSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One ranking scheme", responses={200: RankingSchemeSerializer, **DETAIL_ERRORS}
    ),
)
class RankingSchemeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RankingSchemeSerializer
    pagination_class = StandardPagination
    filterset_class = RankingSchemeFilterSet

    def get_queryset(self):
        return (
            selectors.visible_schemes(self.request.user).prefetch_related("metrics").order_by("id")
        )


@extend_schema_view(
    list=extend_schema(
        summary="Rankings (published, and drafts for supervisors) with their entries",
        responses={200: RankingSnapshotSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One ranking with its entries",
        responses={200: RankingSnapshotSerializer, **DETAIL_ERRORS},
    ),
)
class RankingSnapshotViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RankingSnapshotSerializer
    pagination_class = StandardPagination
    filterset_class = RankingSnapshotFilterSet

    def get_queryset(self):
        entries = RankingEntry.objects.select_related("unit").order_by(*RankingEntry._meta.ordering)
        return (
            selectors.visible_snapshots(self.request.user)
            .prefetch_related(Prefetch("entries", queryset=entries))
            .order_by("id")
        )


class AlertSerializer(serializers.ModelSerializer):
    rule = serializers.CharField(source="rule.key", read_only=True)
    active = serializers.BooleanField(source="is_active", read_only=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "subject",
            "period_key",
            "project",
            "unit",
            "level",
            "value",
            "detail",
            "active",
            "opened_at",
            "resolved_at",
            "updated_at",
        ]
        read_only_fields = fields


class AlertFilterSet(ApiFilterSet):
    rule = django_filters.ChoiceFilter(
        field_name="rule__key", choices=[(key, key) for key in RULES]
    )
    active = StrictBooleanFilter(
        field_name="resolved_at", lookup_expr="isnull", label="Still active"
    )
    updated_since = since_filter("updated_at")

    class Meta:
        model = Alert
        fields = ["level", "project", "unit"]


@extend_schema_view(
    list=extend_schema(
        summary="Alerts on the caller's projects and units (active and resolved)",
        responses={200: AlertSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One alert", responses={200: AlertSerializer, **DETAIL_ERRORS}),
)
class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AlertSerializer
    pagination_class = StandardPagination
    filterset_class = AlertFilterSet

    def get_queryset(self):
        return selectors.visible_alerts(self.request.user).select_related("rule").order_by("id")


router = SimpleRouter()
router.register("alerts", AlertViewSet, basename="api-alert")
router.register("ranking-schemes", RankingSchemeViewSet, basename="api-ranking-scheme")
router.register("rankings", RankingSnapshotViewSet, basename="api-ranking")

# Mounted at /api/v1/ by tracker/urls.py, before projects.api's catch-all.
urlpatterns = [*router.urls]
