"""Resources for a nightly mirror (docs/api.md, "Resources"), tombstones and OC4IDS; writes to
projects, milestones and progress reports (docs/api.md, "Writing") go through ``projects.services``
with optimistic concurrency: ``ETag: "<version>"`` out, ``If-Match: "<version>"`` in.

Every queryset starts from what the user may see (``projects.selectors``); every list is
paginated, ordered by ``id`` unless ``?ordering=`` says otherwise, filterable by
``?updated_since=`` and runs a fixed number of queries whatever the page size.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from projects import selectors, services
from projects.api.errors import error_body
from projects.api.filtering import ApiFilterSet, StrictBooleanFilter
from projects.api.idempotency import IdempotentPostMixin
from projects.api.rows import ValueRowsListMixin
from projects.api.serializers import ErrorSerializer, StrictModelSerializer, StrictSerializer
from projects.api.views import ERRORS, StandardPagination, UnitViewSet
from projects.models import (
    BuildType,
    FundingApplication,
    Leader,
    Milestone,
    MilestoneRevision,
    ProgressReport,
    Project,
    ProjectFunding,
    Stage,
    StageChange,
    Target,
    Tier,
    Tombstone,
    TombstoneReason,
    Unit,
)
from projects.oc4ids import project_package
from projects.signals import TOMBSTONE_MODELS, tombstone_cutoff
from tracker import periods
from tracker.context_processors import SITE_NAME
from tracker.dates import validate_plausible_date

# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------

# "+08:00" sent unencoded in a query string arrives as " 08:00": take it back.
_SPACED_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class SyncDateTimeField(django_filters.fields.IsoDateTimeField):
    def strptime(self, value, format):
        return super().strptime(_SPACED_OFFSET.sub(r"\1+\2", value.strip()), format)

    def to_python(self, value):
        parsed = super().to_python(value)
        validate_plausible_date(parsed)  # on the day as written, before the move to UTC
        # In UTC: PostgreSQL refuses offsets beyond ±15:59, which ISO 8601 allows.
        return parsed.astimezone(dt.UTC) if parsed is not None and parsed.tzinfo else parsed


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


class UnitFilterSet(ApiFilterSet):
    updated_since = since_filter("updated_at")

    class Meta:
        model = Unit
        fields = ["kind", "parent", "is_active"]


class LeaderFilterSet(ApiFilterSet):
    updated_since = since_filter("updated_at")

    class Meta:
        model = Leader
        fields = ["unit"]


class ProjectFilterSet(ApiFilterSet):
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


class MilestoneFilterSet(ApiFilterSet):
    overdue = StrictBooleanFilter(method="filter_overdue", label=_("Open and past its due date"))
    updated_since = since_filter("updated_at")

    class Meta:
        model = Milestone
        fields = ["project", "kind"]

    def filter_overdue(self, queryset, name, value):
        overdue = Q(done_date__isnull=True, due_date__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class ProgressReportFilterSet(ApiFilterSet):
    period = django_filters.CharFilter(field_name="period_key", label=_("Period key"))
    updated_since = since_filter("updated_at")

    class Meta:
        model = ProgressReport
        fields = ["project", "status", "period_kind"]


class ProjectFundingFilterSet(ApiFilterSet):
    updated_since = since_filter("updated_at")

    class Meta:
        model = ProjectFunding
        fields = ["project", "source"]


class FundingApplicationFilterSet(ApiFilterSet):
    unit = django_filters.NumberFilter(
        method=_in_unit_subtree("unit"), label=_("Unit or one of its sub-units")
    )
    updated_since = since_filter("updated_at")

    class Meta:
        model = FundingApplication
        fields = ["project", "year", "status", "channel"]


class TargetFilterSet(ApiFilterSet):
    unit = django_filters.NumberFilter(
        method=_in_unit_subtree("unit"), label=_("Unit or one of its sub-units")
    )
    updated_since = since_filter("updated_at")

    class Meta:
        model = Target
        fields = ["year", "metric"]


class StageChangeFilterSet(ApiFilterSet):
    updated_since = since_filter("created_at")

    class Meta:
        model = StageChange
        fields = ["project", "to_stage"]


class TombstoneFilterSet(ApiFilterSet):
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
    # Blank when not applicable (key tasks have no tier or build type): documented as such.
    tier = serializers.ChoiceField(choices=Tier.choices, allow_blank=True, read_only=True)
    build_type = serializers.ChoiceField(
        choices=BuildType.choices, allow_blank=True, read_only=True
    )
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
        fields = ["id", "project", "source", "planned", "arrived", "version", "updated_at"]
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
            "version",
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
            "version",
            "updated_at",
        ]
        read_only_fields = fields


class StageChangeSerializer(serializers.ModelSerializer):
    # Blank on the first entry of a project's log (its registration).
    from_stage = serializers.ChoiceField(choices=Stage.choices, allow_blank=True, read_only=True)

    class Meta:
        model = StageChange
        fields = ["id", "project", "from_stage", "to_stage", "changed_on", "note", "created_at"]
        read_only_fields = fields


class TombstoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tombstone
        fields = ["id", "model", "object_id", "reason", "scope_path", "deleted_at"]
        read_only_fields = fields


# ---------------------------------------------------------------------------------------------
# Write serializers: they check the input's form; rights and rules are the services'
# ---------------------------------------------------------------------------------------------


class ScopedReferences:
    """A write serializer whose references are limited to what the caller may name
    (``reference_scopes(user)``: field name → queryset), like the web form's choices. Anything
    else, whether it exists or not, answers exactly like an id that does not exist; the services
    check the same rules again (docs/security.md, "References in writes"). Nested row
    serializers that are ScopedReferences too are limited with the same user."""

    def __init__(self, *args, user=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if user is not None:  # None: the schema generator
            self.limit_references(user)

    def reference_scopes(self, user) -> dict[str, QuerySet]:
        return {}

    def limit_references(self, user) -> None:
        for name, queryset in self.reference_scopes(user).items():
            field = self.fields[name]
            if isinstance(field, serializers.ManyRelatedField):
                field = field.child_relation
            field.queryset = queryset
        for field in self.fields.values():
            child = getattr(field, "child", None)
            if isinstance(field, serializers.ListSerializer) and isinstance(
                child, ScopedReferences
            ):
                child.limit_references(user)


class SubjectReference(serializers.PrimaryKeyRelatedField):
    """The object a write is about, named in the body (a report's project, a new project's
    responsible unit, a target's unit): one outside the caller's scope is a 404, exactly like
    an id that does not exist and like an object in the URL. One the caller sees but may not
    change is the service's 403."""

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as exc:
            codes = exc.get_codes()
            if isinstance(codes, list) and "does_not_exist" in codes:
                raise exceptions.NotFound() from None
            raise


class ProjectWriteSerializer(ScopedReferences, StrictModelSerializer):
    """The editable fields of a project; stage and red card have their own paths."""

    lead_unit = SubjectReference(queryset=Unit.objects.active())
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50),
        required=False,
        help_text="Programme names; unknown names are created.",
    )

    class Meta:
        model = Project
        fields = [
            *sorted(services.PROJECT_EDITABLE_FIELDS),
            "cooperating_units",
            "co_leaders",
            "tags",
        ]
        extra_kwargs = {"total_investment": {"min_value": 0}, "prior_investment": {"min_value": 0}}

    def reference_scopes(self, user) -> dict[str, QuerySet]:
        # The same choices as the browser's form: a parent, township, co-unit or leader the
        # caller may not name is "does not exist". The lead unit is the subject: 404 outside
        # the caller's sight, the service's 403 without the right to edit for it.
        choices = selectors.project_reference_choices(user, self.instance)
        choices["lead_unit"] = selectors.visible_units(user).filter(is_active=True)
        return choices


class StageChangeRequestSerializer(StrictSerializer):
    to_stage = serializers.ChoiceField(choices=Stage.choices)
    changed_on = serializers.DateField()
    note = serializers.CharField(required=False, allow_blank=True, default="")


def _visible_subject(user) -> dict[str, QuerySet]:
    return {"project": selectors.visible_projects(user)}


class MilestoneCreateSerializer(ScopedReferences, StrictModelSerializer):
    project = SubjectReference(queryset=Project.objects.all())

    def reference_scopes(self, user) -> dict[str, QuerySet]:
        return _visible_subject(user)

    class Meta:
        model = Milestone
        fields = ["project", "kind", "name", "due_date", "sort_order"]


class MilestoneCompleteSerializer(StrictSerializer):
    done_date = serializers.DateField()


class MilestoneReviseSerializer(StrictSerializer):
    new_due_date = serializers.DateField()
    reason = serializers.CharField(allow_blank=True)


class ProgressReportEditSerializer(StrictSerializer):
    investment = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    physical_progress = serializers.CharField(required=False, allow_blank=True)
    problems = serializers.CharField(required=False, allow_blank=True)
    next_steps = serializers.CharField(required=False, allow_blank=True)


class ProgressReportSaveSerializer(ScopedReferences, ProgressReportEditSerializer):
    project = SubjectReference(queryset=Project.objects.all())
    period = serializers.CharField(help_text="Period key, e.g. 2026-10.")

    def reference_scopes(self, user) -> dict[str, QuerySet]:
        return _visible_subject(user)

    def validate_period(self, value: str) -> periods.Period:
        try:
            return periods.parse(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None


class ReturnReportSerializer(StrictSerializer):
    reason = serializers.CharField(allow_blank=True)


class ProjectFundingEditSerializer(StrictModelSerializer):
    class Meta:
        model = ProjectFunding
        fields = ["planned", "arrived"]
        extra_kwargs = {"planned": {"min_value": 0}, "arrived": {"min_value": 0}}


class ProjectFundingSaveSerializer(ScopedReferences, StrictModelSerializer):
    project = SubjectReference(queryset=Project.objects.all())

    def reference_scopes(self, user) -> dict[str, QuerySet]:
        return _visible_subject(user)

    class Meta:
        model = ProjectFunding
        fields = ["project", "source", "planned", "arrived"]
        extra_kwargs = {"planned": {"min_value": 0}, "arrived": {"min_value": 0}}
        validators = []  # one row per (project, source): a second POST saves the existing row


class FundingApplicationWriteSerializer(ScopedReferences, StrictModelSerializer):
    unit = SubjectReference(queryset=Unit.objects.all())

    class Meta:
        model = FundingApplication
        fields = ["unit", *sorted(services.FUNDING_APPLICATION_FIELDS)]
        extra_kwargs = {
            "requested": {"min_value": 0},
            "approved": {"min_value": 0},
            "arrived": {"min_value": 0},
        }

    def reference_scopes(self, user) -> dict[str, QuerySet]:
        # The project an application is for: one the caller may edit.
        return {
            "unit": selectors.visible_units(user),
            "project": selectors.editable_projects(user),
        }


class TargetSaveSerializer(ScopedReferences, StrictModelSerializer):
    unit = SubjectReference(queryset=Unit.objects.all())

    def reference_scopes(self, user) -> dict[str, QuerySet]:
        return {"unit": selectors.visible_units(user)}

    class Meta:
        model = Target
        fields = ["unit", "year", "metric", "target_value", "note"]
        extra_kwargs = {"target_value": {"min_value": Decimal("0.01")}}
        validators = []  # one row per (unit, year, metric): a second POST saves the existing row


class TargetEditSerializer(StrictModelSerializer):
    class Meta:
        model = Target
        fields = ["target_value", "note"]
        extra_kwargs = {"target_value": {"min_value": Decimal("0.01")}}


class TargetActualSerializer(StrictSerializer):
    actual_value = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)


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


class ResourceViewSet(IdempotentPostMixin, viewsets.ReadOnlyModelViewSet):
    """The base of the API's resources: every POST honours ``Idempotency-Key``."""

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
        projects = selectors.visible_projects(user)
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


class PreconditionRequired(exceptions.APIException):
    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "precondition_required"
    default_detail = _(
        "Send the version you edited in an If-Match header (the ETag of the object)."
    )


def etag(obj) -> str:
    return f'"{obj.version}"'


def if_match_version(request: Request, *, required: bool) -> int | None:
    """The version named by ``If-Match`` (``"3"``, ``W/"3"`` or ``3``); ``*`` names any."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        if required:
            raise PreconditionRequired()
        return None
    if header == "*":
        return None
    value = header.removeprefix("W/").strip().strip('"')
    if not value.isdigit():
        raise serializers.ValidationError(
            {"If-Match": [_('Send the ETag of the object as it was given, e.g. "3".')]}
        )
    return int(value)


IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the object as read, e.g. "3". Missing: 428; stale: 412.',
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='The ETag of the object as read, e.g. "3"; when sent and stale: 412.',
)
# 409: a write that raced another into a unique constraint; 413: a body over the limit.
WRITE_ERRORS = {
    400: ErrorSerializer,
    404: ErrorSerializer,
    409: ErrorSerializer,
    413: ErrorSerializer,
    **ERRORS,
}
UPDATE_ERRORS = {**WRITE_ERRORS, 412: ErrorSerializer, 428: ErrorSerializer}
ACTION_ERRORS = {**WRITE_ERRORS, 412: ErrorSerializer}


def writes(serializer, request_serializer, *, created: str = ""):
    """Schema of create, update and partial_update."""
    schemas = {
        "update": extend_schema(
            summary="Replace the editable fields",
            request=request_serializer,
            parameters=[IF_MATCH],
            responses={200: serializer, **UPDATE_ERRORS},
        ),
        "partial_update": extend_schema(
            summary="Change some editable fields",
            request=request_serializer,
            parameters=[IF_MATCH],
            responses={200: serializer, **UPDATE_ERRORS},
        ),
    }
    if created:
        schemas["create"] = extend_schema(
            summary=created,
            request=request_serializer,
            responses={201: serializer, **WRITE_ERRORS},
        )
    return extend_schema_view(**schemas)


class VersionedMixin:
    """GET detail answers with ``ETag: "<version>"``; writes answer with the new one."""

    basename_detail = ""

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        tag = etag(obj)
        if_none_match = request.headers.get("If-None-Match", "")
        if tag in {t.strip().removeprefix("W/") for t in if_none_match.split(",")} or (
            if_none_match.strip() == "*"
        ):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": tag})
        return Response(self.get_serializer(obj).data, headers={"ETag": tag})

    def written(self, obj, *, created: bool = False) -> Response:
        obj = self.get_queryset().get(pk=obj.pk)
        headers = {"ETag": etag(obj)}
        if created:
            headers["Location"] = reverse(
                f"{self.basename}-detail", args=[obj.pk], request=self.request
            )
        return Response(
            self.serializer_class(obj, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
            headers=headers,
        )


def _project_changes(data: dict) -> dict:
    data = dict(data)
    if "tags" in data:
        data["tags"] = services.tags_by_name(data["tags"])
    return data


@read_only("Projects", ProjectSerializer)
@writes(ProjectSerializer, ProjectWriteSerializer, created="Register a project")
class ProjectViewSet(VersionedMixin, ValueRowsListMixin, ResourceViewSet):
    serializer_class = ProjectSerializer
    filterset_class = ProjectFilterSet

    def get_queryset(self):
        return (
            selectors.visible_projects(self.request.user)
            .prefetch_related("tags", "cooperating_units", "co_leaders")
            .order_by("id")
        )

    def create(self, request: Request) -> Response:
        serializer = ProjectWriteSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            project = services.project_create(
                actor=request.user, **_project_changes(serializer.validated_data)
            )
        return self.written(project, created=True)

    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        project = self.get_object()
        expected = if_match_version(request, required=True)
        serializer = ProjectWriteSerializer(
            project, data=request.data, partial=partial, user=request.user
        )
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            project = services.project_update(
                project=project,
                actor=request.user,
                expected_version=expected,
                **_project_changes(serializer.validated_data),
            )
        return self.written(project)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk, partial=True)

    @extend_schema(
        summary="Move the project to another stage",
        request=StageChangeRequestSerializer,
        parameters=[IF_MATCH_OPTIONAL],
        responses={200: ProjectSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def stage(self, request: Request, pk=None) -> Response:
        project = self.get_object()
        expected = if_match_version(request, required=False)
        serializer = StageChangeRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            locked = Project.objects.select_for_update().get(pk=project.pk)
            if expected is not None and locked.version != expected:
                raise services.VersionConflict(locked, expected)
            services.project_change_stage(
                project=locked, actor=request.user, **serializer.validated_data
            )
        return self.written(project)


@read_only("Milestones", MilestoneSerializer)
@extend_schema_view(
    create=extend_schema(
        summary="Add a milestone to a project",
        request=MilestoneCreateSerializer,
        responses={201: MilestoneSerializer, **WRITE_ERRORS},
    )
)
class MilestoneViewSet(VersionedMixin, ResourceViewSet):
    serializer_class = MilestoneSerializer
    filterset_class = MilestoneFilterSet

    def get_queryset(self):
        return (
            Milestone.objects.filter(project__in=selectors.visible_projects(self.request.user))
            .prefetch_related("revisions")
            .order_by("id")
        )

    def create(self, request: Request) -> Response:
        serializer = MilestoneCreateSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = data.pop("project")
        milestone = services.milestone_create(project=project, actor=request.user, **data)
        return self.written(milestone, created=True)

    @extend_schema(
        summary="Record the milestone as done",
        request=MilestoneCompleteSerializer,
        parameters=[IF_MATCH_OPTIONAL],
        responses={200: MilestoneSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk=None) -> Response:
        milestone = self.get_object()
        expected = if_match_version(request, required=False)
        serializer = MilestoneCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        milestone = services.milestone_complete(
            milestone=milestone,
            actor=request.user,
            expected_version=expected,
            **serializer.validated_data,
        )
        return self.written(milestone)

    @extend_schema(
        summary="Move the milestone's due date, with the reason",
        request=MilestoneReviseSerializer,
        parameters=[IF_MATCH_OPTIONAL],
        responses={200: MilestoneSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def revise(self, request: Request, pk=None) -> Response:
        milestone = self.get_object()
        expected = if_match_version(request, required=False)
        serializer = MilestoneReviseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.milestone_revise(
            milestone=milestone,
            actor=request.user,
            expected_version=expected,
            **serializer.validated_data,
        )
        return self.written(milestone)


REPORT_TEXTS = services.REPORT_TEXT_FIELDS


@read_only("Progress reports", ProgressReportSerializer)
@writes(ProgressReportSerializer, ProgressReportEditSerializer)
@extend_schema_view(
    create=extend_schema(
        summary="Write or save the draft report of a project for a period",
        description="Creates the draft (201). Without If-Match, sending it again answers 200 "
        "with the same report and writes nothing, or 409 `report_exists` when the period's "
        "report has other content; with If-Match (its version, or `*`) saves over the existing "
        "draft (200, 412 when the version is stale).",
        request=ProgressReportSaveSerializer,
        parameters=[IF_MATCH_OPTIONAL],
        responses={
            200: ProgressReportSerializer,
            201: ProgressReportSerializer,
            409: ErrorSerializer,
            **ACTION_ERRORS,
        },
    )
)
class ProgressReportViewSet(VersionedMixin, ResourceViewSet):
    serializer_class = ProgressReportSerializer
    filterset_class = ProgressReportFilterSet

    def get_queryset(self):
        return ProgressReport.objects.filter(
            project__in=selectors.visible_projects(self.request.user)
        ).order_by("id")

    def create(self, request: Request) -> Response:
        serializer = ProgressReportSaveSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = data.pop("project")
        period = data.pop("period")
        if request.headers.get("If-Match", "").strip():
            # A deliberate save over the period's report, at the version named (or any: "*").
            expected = if_match_version(request, required=False)
            report = services.report_save(
                project=project,
                period=period,
                actor=request.user,
                expected_version=expected,
                **data,
            )
            # A new report starts at version 1; saving one raises it.
            return self.written(report, created=report.version == 1)
        try:
            report, created = services.report_create(
                project=project, period=period, actor=request.user, **data
            )
        except services.ReportExists as exc:
            existing = exc.report
            return Response(
                error_body(
                    "report_exists",
                    str(exc),
                    {"id": existing.pk, "current_version": existing.version},
                ),
                status=status.HTTP_409_CONFLICT,
                headers={
                    "ETag": etag(existing),
                    "Location": reverse(
                        f"{self.basename}-detail", args=[existing.pk], request=request
                    ),
                },
            )
        return self.written(report, created=created)

    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        report = self.get_object()
        expected = if_match_version(request, required=True)
        serializer = ProgressReportEditSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        values = {"investment": data.get("investment", report.investment)}
        for field in REPORT_TEXTS:
            values[field] = data.get(field, getattr(report, field) if partial else "")
        report = services.report_save(
            project=report.project,
            period=periods.parse(report.period_key),
            actor=request.user,
            expected_version=expected,
            **values,
        )
        return self.written(report)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk, partial=True)

    def _transition(self, service, **kwargs) -> Response:
        report = self.get_object()
        expected = if_match_version(self.request, required=False)
        report = service(
            report=report, actor=self.request.user, expected_version=expected, **kwargs
        )
        return self.written(report)

    @extend_schema(
        summary="Submit the report",
        request=None,
        parameters=[IF_MATCH_OPTIONAL],
        responses={200: ProgressReportSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk=None) -> Response:
        return self._transition(services.report_submit)

    @extend_schema(
        summary="Approve the submitted report (unit head or supervisor)",
        request=None,
        parameters=[IF_MATCH_OPTIONAL],
        responses={200: ProgressReportSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk=None) -> Response:
        return self._transition(services.report_approve)

    @extend_schema(
        summary="Return the submitted report, with the reason (unit head or supervisor)",
        request=ReturnReportSerializer,
        parameters=[IF_MATCH_OPTIONAL],
        responses={200: ProgressReportSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"], url_path="return")
    def return_report(self, request: Request, pk=None) -> Response:
        serializer = ReturnReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            return self._transition(
                services.report_return, reason=serializer.validated_data["reason"]
            )
        except DjangoValidationError as exc:
            # The service names the model field; the request calls it "reason".
            if hasattr(exc, "error_dict") and "return_reason" in exc.error_dict:
                exc.error_dict["reason"] = exc.error_dict.pop("return_reason")
            raise


def upsert(name: str, serializer, request_serializer):
    """Schema of a POST that creates the row (201) or saves the existing one (200)."""
    return extend_schema_view(
        create=extend_schema(
            summary=name,
            description="Creates the row (201), or saves the existing one (200): there is one "
            "row per key. An If-Match header, when sent, must name the existing row's version.",
            request=request_serializer,
            parameters=[IF_MATCH_OPTIONAL],
            responses={200: serializer, 201: serializer, **ACTION_ERRORS},
        )
    )


@read_only("Project funding", ProjectFundingSerializer)
@writes(ProjectFundingSerializer, ProjectFundingEditSerializer)
@upsert(
    "Set a project's planned and arrived money from one source",
    ProjectFundingSerializer,
    ProjectFundingSaveSerializer,
)
class ProjectFundingViewSet(VersionedMixin, ResourceViewSet):
    serializer_class = ProjectFundingSerializer
    filterset_class = ProjectFundingFilterSet

    def get_queryset(self):
        return ProjectFunding.objects.filter(
            project__in=selectors.visible_projects(self.request.user)
        ).order_by("id")

    def create(self, request: Request) -> Response:
        expected = if_match_version(request, required=False)
        serializer = ProjectFundingSaveSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = data.pop("project")
        funding = services.funding_set(
            project=project, actor=request.user, expected_version=expected, **data
        )
        # A new row starts at version 1, saving one raises it: right even when two requests
        # for one row cross (a check made before the write would tell both "created").
        return self.written(funding, created=funding.version == 1)

    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        funding = self.get_object()
        expected = if_match_version(request, required=True)
        serializer = ProjectFundingEditSerializer(funding, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        funding = services.funding_set(
            project=funding.project,
            source=funding.source,
            planned=data.get("planned", funding.planned),
            arrived=data.get("arrived", funding.arrived),
            actor=request.user,
            expected_version=expected,
        )
        return self.written(funding)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk, partial=True)


@read_only("Funding applications", FundingApplicationSerializer)
@writes(
    FundingApplicationSerializer,
    FundingApplicationWriteSerializer,
    created="Record an application for upward funding",
)
class FundingApplicationViewSet(VersionedMixin, ResourceViewSet):
    serializer_class = FundingApplicationSerializer
    filterset_class = FundingApplicationFilterSet

    def get_queryset(self):
        return FundingApplication.objects.filter(
            unit__in=selectors.visible_units(self.request.user)
        ).order_by("id")

    def create(self, request: Request) -> Response:
        serializer = FundingApplicationWriteSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        unit = data.pop("unit")
        application = services.funding_application_save(actor=request.user, unit=unit, **data)
        return self.written(application, created=True)

    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        application = self.get_object()
        expected = if_match_version(request, required=True)
        serializer = FundingApplicationWriteSerializer(
            application, data=request.data, partial=partial, user=request.user
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        unit = data.pop("unit", application.unit)
        application = services.funding_application_save(
            actor=request.user,
            unit=unit,
            application=application,
            expected_version=expected,
            **data,
        )
        return self.written(application)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk, partial=True)


@read_only("Targets", TargetSerializer)
@writes(TargetSerializer, TargetEditSerializer)
@upsert("Set a unit's yearly target (supervisors)", TargetSerializer, TargetSaveSerializer)
class TargetViewSet(VersionedMixin, ResourceViewSet):
    serializer_class = TargetSerializer
    filterset_class = TargetFilterSet

    def get_queryset(self):
        return Target.objects.filter(unit__in=selectors.visible_units(self.request.user)).order_by(
            "id"
        )

    def create(self, request: Request) -> Response:
        expected = if_match_version(request, required=False)
        serializer = TargetSaveSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        unit = data.pop("unit")
        target = services.target_set(
            actor=request.user, unit=unit, expected_version=expected, **data
        )
        return self.written(target, created=target.version == 1)

    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        target = self.get_object()
        expected = if_match_version(request, required=True)
        serializer = TargetEditSerializer(target, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        target = services.target_set(
            actor=request.user,
            unit=target.unit,
            year=target.year,
            metric=target.metric,
            target_value=data.get("target_value", target.target_value),
            note=data.get("note", target.note if partial else ""),
            expected_version=expected,
        )
        return self.written(target)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk, partial=True)

    @extend_schema(
        summary="Report what the unit has achieved against the target so far",
        request=TargetActualSerializer,
        parameters=[IF_MATCH_OPTIONAL],
        responses={200: TargetSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def actual(self, request: Request, pk=None) -> Response:
        target = self.get_object()
        expected = if_match_version(request, required=False)
        serializer = TargetActualSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = services.target_record_actual(
            target=target,
            actor=request.user,
            expected_version=expected,
            **serializer.validated_data,
        )
        return self.written(target)


@read_only("Stage changes", StageChangeSerializer)
class StageChangeViewSet(ResourceViewSet):
    serializer_class = StageChangeSerializer
    filterset_class = StageChangeFilterSet

    def get_queryset(self):
        return StageChange.objects.filter(
            project__in=selectors.visible_projects(self.request.user)
        ).order_by("id")


class SyncTooOld(exceptions.APIException):
    status_code = status.HTTP_410_GONE
    default_code = "sync_too_old"
    default_detail = _(
        "Tombstones older than %(days)d days are no longer kept: pull everything again "
        "without updated_since."
    )


@extend_schema_view(
    list=extend_schema(
        summary="Deleted objects, and projects that left the caller's scope",
        description="A tombstone names only a model and an id. `reason` is `deleted`, or "
        "`moved` for a project no longer seen through the unit whose path is `scope_path` "
        "(drop it and everything under it; if it is still visible another way it comes back "
        "with `updated_since`). Tombstones are kept for TRACKER_TOMBSTONE_DAYS days; a `since` "
        "older than that is a 410.",
        responses={200: TombstoneSerializer, 410: ErrorSerializer, **LIST_ERRORS},
    )
)
class TombstoneViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Every user reads every deletion (they reveal only ids and model names), and the
    departures of projects from the units in their scope."""

    serializer_class = TombstoneSerializer
    pagination_class = StandardPagination
    filterset_class = TombstoneFilterSet

    def get_queryset(self):
        user = self.request.user
        tombstones = Tombstone.objects.order_by("id")
        if selectors.is_global(user):
            return tombstones
        departures = selectors.under(selectors.scope_paths(user), "scope_path")
        return tombstones.filter(Q(reason=TombstoneReason.DELETED) | departures)

    def list(self, request: Request, *args, **kwargs) -> Response:
        filterset = TombstoneFilterSet(request.query_params, self.get_queryset(), request=request)
        if not filterset.is_valid():
            raise django_filters.utils.translate_validation(filterset.errors)
        queryset = filterset.qs
        since = filterset.form.cleaned_data.get("since")
        if since is not None and since < tombstone_cutoff():
            days = settings.TRACKER_TOMBSTONE_DAYS
            raise SyncTooOld(SyncTooOld.default_detail % {"days": days})
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)


class Oc4idsView(generics.GenericAPIView):
    """The visible projects as an OC4IDS 0.9 project package; the projects list's filters."""

    filterset_class = ProjectFilterSet
    pagination_class = None

    def get_queryset(self):
        return selectors.visible_projects(self.request.user).order_by("id")

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
