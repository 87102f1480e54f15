"""The supervision ledger over the REST API (docs/api.md, "Issues"), under the rules of
projects.api: bearer tokens or sessions, the same visibility and rights as the pages, every write
through ``supervision.issues.services``, ``ETag``/``If-Match`` on the issue's version.

Each issue comes with its timeline (who did what, when) and its extension requests; attachments
are listed with their download links. A response or a rectification may carry files: those two
actions also take ``multipart/form-data`` (``text`` and ``files``), checked by the service as on
the web page (the kinds of file the ledger keeps, the size limit, at most ten).
"""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, serializers
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from projects import selectors as project_selectors
from projects.api.filtering import ApiFilterSet, StrictBooleanFilter
from projects.api.parsers import JSONParser
from projects.api.resources import (
    ACTION_ERRORS,
    IF_MATCH_OPTIONAL,
    WRITE_ERRORS,
    ResourceViewSet,
    ScopedReferences,
    VersionedMixin,
    if_match_version,
    read_only,
    since_filter,
)
from projects.api.serializers import StrictSerializer
from projects.models import Leader, Project, Unit, UnitKind
from supervision import selectors
from supervision import selectors as supervision_selectors
from supervision.issues import services as issue_services
from supervision.models import (
    ISSUE_ACTIVE_STATUSES,
    EscalationLevel,
    ExtensionRequest,
    ExtensionStatus,
    Issue,
    IssueAttachment,
    IssueCategory,
    IssueEvent,
    IssueSource,
    IssueStatus,
)

# ---------------------------------------------------------------------------------------------
# Serializers
# ---------------------------------------------------------------------------------------------


class IssueAttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = IssueAttachment
        fields = ["id", "name", "size", "url"]
        read_only_fields = fields

    def get_url(self, obj: IssueAttachment) -> str:
        path = reverse("issue_attachment", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class IssueEventSerializer(serializers.ModelSerializer):
    actor_name = serializers.SerializerMethodField(help_text="Who did it; empty for the daily job.")
    attachments = IssueAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = IssueEvent
        fields = [
            "id",
            "kind",
            "created_at",
            "actor",
            "actor_name",
            "actor_unit",
            "text",
            "level",
            "deadline",
            "target_unit",
            "attachments",
        ]
        read_only_fields = fields

    def get_actor_name(self, obj: IssueEvent) -> str:
        if obj.actor is None:
            return ""
        return obj.actor.get_full_name() or obj.actor.username


class ExtensionRequestSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExtensionRequest
        fields = [
            "id",
            "requested_deadline",
            "reason",
            "requested_by",
            "requested_at",
            "status",
            "decided_by",
            "decided_at",
            "decision_note",
        ]
        read_only_fields = fields


class IssueSerializer(serializers.ModelSerializer):
    number = serializers.CharField(read_only=True, help_text="The ledger number, e.g. 2026-0042.")
    days_overdue = serializers.SerializerMethodField()
    timeline = IssueEventSerializer(source="events", many=True, read_only=True)
    extensions = ExtensionRequestSerializer(many=True, read_only=True)

    class Meta:
        model = Issue
        fields = [
            "id",
            "number",
            "title",
            "description",
            "requirement",
            "source",
            "category",
            "project",
            "unit",
            "leader",
            "requested_by_unit",
            "inspection",
            "meeting",
            "report",
            "raised_on",
            "deadline",
            "original_deadline",
            "days_overdue",
            "status",
            "level",
            "awaiting_office",
            "resolved_at",
            "closed_at",
            "closed_by",
            "version",
            "created_at",
            "updated_at",
            "timeline",
            "extensions",
        ]
        read_only_fields = fields

    def get_days_overdue(self, obj: Issue) -> int:
        return obj.days_overdue(timezone.localdate())


class IssueRaiseSerializer(ScopedReferences, StrictSerializer):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    requirement = serializers.CharField(required=False, allow_blank=True, default="")
    source = serializers.ChoiceField(
        choices=[c for c in IssueSource.choices if c[0] != IssueSource.UNIT_REQUEST]
    )
    category = serializers.ChoiceField(choices=IssueCategory.choices)
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all())
    leader = serializers.PrimaryKeyRelatedField(
        queryset=Leader.objects.filter(is_active=True), required=False, allow_null=True
    )
    project = serializers.PrimaryKeyRelatedField(
        queryset=Project.objects.all(), required=False, allow_null=True
    )
    deadline = serializers.DateField()

    def reference_scopes(self, user) -> dict:
        # The unit answerable: one the caller sees (a supervisor over it raises, others get
        # the service's 403); the project and leader: those the caller may name.
        return {
            "unit": project_selectors.visible_units(user),
            "project": supervision_selectors.projects_to_name(user),
            "leader": supervision_selectors.leaders_to_name(user),
        }


def units_to_push(user):
    """Units one may ask the county to push: those of the counties of the caller's units (the
    service checks the county of the unit asking)."""
    paths = project_selectors.jurisdiction_paths(user, selectors.UNIT_ROLES)
    return project_selectors.units_in(paths).exclude(kind=UnitKind.VILLAGE)


class HelpRequestSerializer(ScopedReferences, StrictSerializer):
    requesting_unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all())
    title = serializers.CharField(max_length=200)
    description = serializers.CharField()
    category = serializers.ChoiceField(choices=IssueCategory.choices, default=IssueCategory.OTHER)
    project = serializers.PrimaryKeyRelatedField(
        queryset=Project.objects.all(), required=False, allow_null=True
    )
    target_unit = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(), required=False, allow_null=True
    )

    def reference_scopes(self, user) -> dict:
        return {
            "requesting_unit": project_selectors.visible_units(user),
            "project": project_selectors.visible_projects(user),
            "target_unit": units_to_push(user),
        }


class TextSerializer(StrictSerializer):
    text = serializers.CharField()


class TextFilesSerializer(TextSerializer):
    files = serializers.ListField(
        child=serializers.FileField(allow_empty_file=True, use_url=False),
        required=False,
        default=list,
        help_text=(
            "Attachments (multipart/form-data only): photos, PDF, OFD, Word, Excel, text or zip, "
            "each up to TRACKER_ATTACHMENT_MAX_BYTES, at most 10; all or none are kept."
        ),
    )


# The actions that take files: JSON as everywhere else, or multipart/form-data with the files.
FILE_PARSERS = [JSONParser, MultiPartParser]
TEXT_OR_FILES = {"application/json": TextSerializer, "multipart/form-data": TextFilesSerializer}


class UrgeSerializer(ScopedReferences, TextSerializer):
    target_unit = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(), required=False, allow_null=True
    )

    def reference_scopes(self, user) -> dict:
        return {"target_unit": supervision_selectors.supervised_units(user)}


class UrgeUpSerializer(UrgeSerializer):
    def reference_scopes(self, user) -> dict:
        return {"target_unit": units_to_push(user)}


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField()


class NoteSerializer(StrictSerializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")


class EscalateSerializer(ReasonSerializer):
    level = serializers.ChoiceField(choices=EscalationLevel.choices)


class ExtensionAskSerializer(StrictSerializer):
    new_deadline = serializers.DateField()
    reason = serializers.CharField()


class ExtensionDecisionSerializer(StrictSerializer):
    grant = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class AcceptSerializer(ScopedReferences, StrictSerializer):
    unit = serializers.PrimaryKeyRelatedField(queryset=Unit.objects.all())
    deadline = serializers.DateField()
    leader = serializers.PrimaryKeyRelatedField(
        queryset=Leader.objects.filter(is_active=True), required=False, allow_null=True
    )
    requirement = serializers.CharField(required=False, allow_blank=True, default="")

    def reference_scopes(self, user) -> dict:
        return {
            "unit": project_selectors.visible_units(user),
            "leader": supervision_selectors.leaders_to_name(user),
        }


# ---------------------------------------------------------------------------------------------
# Filters
# ---------------------------------------------------------------------------------------------


class IssueFilterSet(ApiFilterSet):
    unit = django_filters.NumberFilter(
        method="filter_unit", label="Responsible unit id (that unit and the units under it)"
    )
    status = django_filters.MultipleChoiceFilter(choices=IssueStatus.choices)
    min_level = django_filters.NumberFilter(field_name="level", lookup_expr="gte")
    overdue = StrictBooleanFilter(method="filter_overdue")
    awaiting_office = StrictBooleanFilter(method="filter_queue")
    source = django_filters.ChoiceFilter(choices=IssueSource.choices)
    category = django_filters.ChoiceFilter(choices=IssueCategory.choices)
    updated_since = since_filter("updated_at")

    class Meta:
        model = Issue
        fields = ["project", "leader", "inspection", "meeting"]

    def filter_unit(self, queryset, name, value):
        path = Unit.objects.filter(pk=value).values_list("path", flat=True).first()
        return queryset.filter(unit__path__startswith=path) if path else queryset.none()

    def filter_overdue(self, queryset, name, value):
        overdue = Q(status__in=ISSUE_ACTIVE_STATUSES, deadline__lt=timezone.localdate())
        return queryset.filter(overdue) if value else queryset.exclude(overdue)

    def filter_queue(self, queryset, name, value):
        waiting = Q(status=IssueStatus.PENDING) | Q(awaiting_office=True)
        return queryset.filter(waiting) if value else queryset.exclude(waiting)


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


def _action(summary: str, request_serializer, *, status_code: int = 200):
    return extend_schema(
        summary=summary,
        request=request_serializer,
        parameters=[IF_MATCH_OPTIONAL],
        responses={status_code: IssueSerializer, **ACTION_ERRORS},
    )


@read_only("Issues of the supervision ledger", IssueSerializer)
@extend_schema_view(
    create=extend_schema(
        summary="Put an issue on the ledger (supervisors)",
        request=IssueRaiseSerializer,
        responses={201: IssueSerializer, **WRITE_ERRORS},
    )
)
class IssueViewSet(VersionedMixin, ResourceViewSet):
    serializer_class = IssueSerializer
    filterset_class = IssueFilterSet

    def get_queryset(self):
        return (
            selectors.visible_issues(self.request.user)
            .prefetch_related(
                Prefetch(
                    "events",
                    queryset=IssueEvent.objects.select_related("actor").prefetch_related(
                        Prefetch("attachments", queryset=IssueAttachment.objects.order_by("id"))
                    ),
                ),
                Prefetch("extensions", queryset=ExtensionRequest.objects.order_by("requested_at")),
            )
            .order_by("id")
        )

    def _data(self, serializer_class):
        if issubclass(serializer_class, ScopedReferences):
            serializer = serializer_class(data=self.request.data, user=self.request.user)
        else:
            serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def create(self, request: Request) -> Response:
        data = dict(self._data(IssueRaiseSerializer))
        issue = issue_services.issue_raise(actor=request.user, **data)
        return self.written(issue, created=True)

    @extend_schema(
        summary="Ask the county to push another unit or to coordinate (向上催办)",
        request=HelpRequestSerializer,
        responses={201: IssueSerializer, **WRITE_ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="request-help")
    def request_help(self, request: Request) -> Response:
        data = dict(self._data(HelpRequestSerializer))
        issue = issue_services.issue_request_help(actor=request.user, **data)
        return self.written(issue, created=True)

    def _act(self, request: Request, serializer_class, call) -> Response:
        issue = self.get_object()
        expected = if_match_version(request, required=False)
        data = self._data(serializer_class) if serializer_class else {}
        call(issue, dict(data), expected)
        return self.written(issue)

    @_action("Respond: report progress, with files (the responsible unit)", TEXT_OR_FILES)
    @action(detail=True, methods=["post"], parser_classes=FILE_PARSERS)
    def respond(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            TextFilesSerializer,
            lambda i, d, v: issue_services.issue_respond(
                issue=i, actor=request.user, expected_version=v, **d
            ),
        )

    @_action("Report the issue rectified, with evidence (the responsible unit)", TEXT_OR_FILES)
    @action(detail=True, methods=["post"], parser_classes=FILE_PARSERS)
    def rectified(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            TextFilesSerializer,
            lambda i, d, v: issue_services.issue_mark_rectified(
                issue=i, actor=request.user, expected_version=v, **d
            ),
        )

    @_action(
        "Ask for an extension, before the deadline (the responsible unit)", ExtensionAskSerializer
    )
    @action(detail=True, methods=["post"])
    def extension(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            ExtensionAskSerializer,
            lambda i, d, v: issue_services.issue_request_extension(
                issue=i, actor=request.user, expected_version=v, **d
            ),
        )

    @_action("Grant or refuse the pending extension (supervisors)", ExtensionDecisionSerializer)
    @action(detail=True, methods=["post"], url_path="extension-decision")
    def extension_decision(self, request: Request, pk=None) -> Response:
        def call(issue, data, expected):
            pending = issue.extensions.filter(status=ExtensionStatus.PENDING).first()
            if pending is None:
                raise exceptions.ValidationError(
                    {"non_field_errors": [_("No extension request is waiting for a decision.")]}
                )
            issue_services.issue_decide_extension(request=pending, actor=request.user, **data)

        return self._act(request, ExtensionDecisionSerializer, call)

    @_action("Ask the county to push on this issue (the responsible unit)", UrgeUpSerializer)
    @action(detail=True, methods=["post"], url_path="urge-up")
    def urge_up(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            UrgeUpSerializer,
            lambda i, d, v: issue_services.issue_urge_up(
                issue=i, actor=request.user, expected_version=v, **d
            ),
        )

    @_action("Urge the unit (supervisors)", UrgeSerializer)
    @action(detail=True, methods=["post"])
    def urge(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            UrgeSerializer,
            lambda i, d, v: issue_services.issue_urge(
                issue=i, actor=request.user, expected_version=v, **d
            ),
        )

    @_action("Step the issue up the ladder, with the reason (supervisors)", EscalateSerializer)
    @action(detail=True, methods=["post"])
    def escalate(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            EscalateSerializer,
            lambda i, d, v: issue_services.issue_escalate(
                issue=i, actor=request.user, expected_version=v, **d
            ),
        )

    @_action("Verify and close the issue (销号, supervisors)", NoteSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            NoteSerializer,
            lambda i, d, v: issue_services.issue_close(
                issue=i, actor=request.user, expected_version=v, **d
            ),
        )

    @_action("Send the rectification back to the unit (supervisors)", ReasonSerializer)
    @action(detail=True, methods=["post"], url_path="send-back")
    def send_back(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            ReasonSerializer,
            lambda i, d, v: issue_services.issue_send_back(
                issue=i, actor=request.user, expected_version=v, **d
            ),
        )

    @_action("Write a leader's instruction (批示)", TextSerializer)
    @action(detail=True, methods=["post"])
    def instruct(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            TextSerializer,
            lambda i, d, v: issue_services.issue_instruct(issue=i, actor=request.user, **d),
        )

    @_action("Accept a unit's request onto the ledger (supervisors)", AcceptSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            AcceptSerializer,
            lambda i, d, v: issue_services.issue_accept(
                issue=i, actor=request.user, expected_version=v, **d
            ),
        )

    @_action("Decline a unit's request (supervisors)", ReasonSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk=None) -> Response:
        return self._act(
            request,
            ReasonSerializer,
            lambda i, d, v: issue_services.issue_decline(
                issue=i, actor=request.user, expected_version=v, **d
            ),
        )


router = SimpleRouter()
router.register("issues", IssueViewSet, basename="issue")

urlpatterns = router.urls
