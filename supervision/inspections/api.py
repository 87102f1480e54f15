"""Inspections, meetings and project notices over the REST API (docs/api.md, "Inspections,
meetings and project notices"), under the rules of projects.api: bearer tokens or sessions, the
same visibility and rights as the pages (``supervision.inspections.selectors``), paginated,
filterable with ``updated_since``, a fixed number of queries per list. Writes go through
``supervision.inspections.services`` with ``ETag``/``If-Match`` on the version; photos are uploaded
on the web page and listed here with their addresses.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from projects import selectors as project_selectors
from projects.api.resources import (
    ACTION_ERRORS,
    IF_MATCH_OPTIONAL,
    WRITE_ERRORS,
    ResourceViewSet,
    ScopedReferences,
    VersionedMixin,
    if_match_version,
    read_only,
    writes,
)
from projects.api.serializers import StrictModelSerializer, StrictSerializer
from projects.models import Leader, Project, Unit
from supervision import selectors as supervision_selectors
from supervision.inspections import selectors as inspection_selectors
from supervision.inspections import services
from supervision.inspections.filters import InspectionApiFilter, MeetingApiFilter, NoticeApiFilter
from supervision.models import (
    Inspection,
    InspectionPhoto,
    InspectionScore,
    Issue,
    IssueCategory,
    Meeting,
    ProjectNotice,
)

# ---------------------------------------------------------------------------------------------
# Read serializers
# ---------------------------------------------------------------------------------------------


class InspectionScoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = InspectionScore
        fields = ["project", "score", "comment"]
        read_only_fields = fields


class InspectionPhotoSerializer(serializers.ModelSerializer):
    image = serializers.SerializerMethodField(help_text="Address of the photo.")
    thumbnail = serializers.SerializerMethodField(
        help_text="Address of a JPEG at most 320 px on its longest side."
    )

    class Meta:
        model = InspectionPhoto
        fields = ["id", "project", "caption", "taken_at", "image", "thumbnail"]
        read_only_fields = fields

    def _url(self, obj: InspectionPhoto, variant: str) -> str:
        path = reverse("inspection_photo", args=[obj.pk, variant])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_image(self, obj: InspectionPhoto) -> str:
        return self._url(obj, "full")

    def get_thumbnail(self, obj: InspectionPhoto) -> str:
        return self._url(obj, "thumb")


class InspectionSerializer(serializers.ModelSerializer):
    projects = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    units_visited = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    scores = InspectionScoreSerializer(many=True, read_only=True)
    photos = InspectionPhotoSerializer(many=True, read_only=True)
    issues = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Issues raised from this inspection."
    )

    class Meta:
        model = Inspection
        fields = [
            "id",
            "title",
            "kind",
            "held_on",
            "unit",
            "inspectors",
            "projects",
            "units_visited",
            "findings",
            "scores",
            "photos",
            "issues",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class MeetingSerializer(serializers.ModelSerializer):
    attendees = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    absentees = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    projects = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Projects on the agenda."
    )
    decisions = serializers.PrimaryKeyRelatedField(
        source="issues",
        many=True,
        read_only=True,
        help_text="Issues raised from the meeting's decisions (交办事项).",
    )

    class Meta:
        model = Meeting
        fields = [
            "id",
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
            "decisions",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProjectNoticeSerializer(serializers.ModelSerializer):
    overdue = serializers.SerializerMethodField(help_text="In force and past its deadline.")

    class Meta:
        model = ProjectNotice
        fields = [
            "id",
            "project",
            "kind",
            "requirement",
            "deadline",
            "consequence",
            "status",
            "issued_on",
            "outcome",
            "settled_at",
            "overdue",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_overdue(self, obj: ProjectNotice) -> bool:
        return obj.is_overdue(timezone.localdate())


# ---------------------------------------------------------------------------------------------
# Write serializers: the input's form; rights and rules are the services'
# ---------------------------------------------------------------------------------------------


class InspectionWriteSerializer(ScopedReferences, StrictModelSerializer):
    class Meta:
        model = Inspection
        fields = [
            "title",
            "kind",
            "held_on",
            "unit",
            "inspectors",
            "findings",
            "projects",
            "units_visited",
        ]

    def reference_scopes(self, user) -> dict:
        return {
            "unit": supervision_selectors.supervised_units(user),
            "projects": supervision_selectors.projects_to_name(user),
            "units_visited": supervision_selectors.units_to_name(user),
        }


class MeetingWriteSerializer(ScopedReferences, StrictModelSerializer):
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

    def reference_scopes(self, user) -> dict:
        units = supervision_selectors.units_to_name(user)
        return {
            "unit": supervision_selectors.supervised_units(user),
            "host": supervision_selectors.leaders_to_name(user),
            "attendees": units,
            "absentees": units,
            "projects": supervision_selectors.projects_to_name(user),
        }


class ScoreRowSerializer(ScopedReferences, StrictSerializer):
    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())
    score = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=0, max_value=100)
    comment = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def reference_scopes(self, user) -> dict:
        # Which of them the inspection visited is the service's rule.
        return {"project": project_selectors.visible_projects(user)}


class ScoreSheetSerializer(ScopedReferences, StrictSerializer):
    scores = ScoreRowSerializer(
        many=True,
        help_text="The whole score sheet: a visited project left out has no score.",
    )


class IssueRowSerializer(ScopedReferences, StrictSerializer):
    title = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=IssueCategory.choices)
    unit = serializers.PrimaryKeyRelatedField(
        queryset=Unit.objects.all(),
        required=False,
        allow_null=True,
        help_text="Responsible (owner) unit; default: the project's responsible unit.",
    )
    deadline = serializers.DateField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    requirement = serializers.CharField(required=False, allow_blank=True, default="")
    project = serializers.PrimaryKeyRelatedField(
        queryset=Project.objects.all(), required=False, allow_null=True, default=None
    )
    leader = serializers.PrimaryKeyRelatedField(
        queryset=Leader.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: the project's lead leader.",
    )

    def reference_scopes(self, user) -> dict:
        # The unit answerable: one the caller sees (the service refuses one it does not
        # supervise); the project and leader: those the caller may name.
        return {
            "unit": project_selectors.visible_units(user),
            "project": supervision_selectors.projects_to_name(user),
            "leader": supervision_selectors.leaders_to_name(user),
        }

    def validate(self, data: dict) -> dict:
        if data.get("unit") is None and data.get("project") is not None:
            data["unit"] = data["project"].lead_unit
        data.setdefault("unit", None)
        return data


class IssueBatchSerializer(ScopedReferences, StrictSerializer):
    issues = IssueRowSerializer(many=True, help_text="Every row is raised, or none is.")


class DecisionBatchSerializer(ScopedReferences, StrictSerializer):
    decisions = IssueRowSerializer(many=True, help_text="Every row is raised, or none is.")


class RaisedSerializer(serializers.Serializer):
    issues = serializers.ListField(child=serializers.IntegerField(), help_text="Ids raised.")


class NoticeIssueSerializer(ScopedReferences, StrictModelSerializer):
    class Meta:
        model = ProjectNotice
        fields = ["project", "kind", "requirement", "deadline", "consequence"]
        extra_kwargs = {"requirement": {"allow_blank": True}}

    def reference_scopes(self, user) -> dict:
        return {"project": project_selectors.visible_projects(user)}


class NoticeSettleSerializer(StrictSerializer):
    status = serializers.ChoiceField(
        choices=[(s.value, s.label) for s in services.SETTLED_STATUSES]
    )
    outcome = serializers.CharField(allow_blank=True)
    cancel_project = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also cancel the project: only for a deadline notice whose consequence is "
        "cancellation, settled as enforced.",
    )


# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------


def _ids(model) -> Prefetch:
    return Prefetch("issues", queryset=Issue.objects.only("id", model).order_by("id"))


@read_only("Inspections", InspectionSerializer)
@writes(InspectionSerializer, InspectionWriteSerializer, created="Record an inspection")
class InspectionViewSet(VersionedMixin, ResourceViewSet):
    serializer_class = InspectionSerializer
    filterset_class = InspectionApiFilter

    def get_queryset(self):
        return (
            inspection_selectors.visible_inspections(self.request.user)
            .prefetch_related(
                "projects",
                "units_visited",
                Prefetch("scores", queryset=InspectionScore.objects.order_by("-score", "id")),
                Prefetch("photos", queryset=InspectionPhoto.objects.order_by("uploaded_at", "id")),
                _ids("inspection_id"),
            )
            .order_by("id")
        )

    def create(self, request: Request) -> Response:
        serializer = InspectionWriteSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        inspection = services.inspection_create(actor=request.user, **serializer.validated_data)
        return self.written(inspection, created=True)

    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        inspection = self.get_object()
        expected = if_match_version(request, required=True)
        serializer = InspectionWriteSerializer(
            inspection, data=request.data, partial=partial, user=request.user
        )
        serializer.is_valid(raise_exception=True)
        inspection = services.inspection_update(
            inspection=inspection,
            actor=request.user,
            expected_version=expected,
            **serializer.validated_data,
        )
        return self.written(inspection)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk, partial=True)

    @extend_schema(
        summary="Set the whole score sheet of the projects visited (0–100)",
        request=ScoreSheetSerializer,
        parameters=[IF_MATCH_OPTIONAL],
        responses={200: InspectionSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def scores(self, request: Request, pk=None) -> Response:
        inspection = self.get_object()
        expected = if_match_version(request, required=False)
        serializer = ScoreSheetSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        services.inspection_set_scores(
            inspection=inspection,
            actor=request.user,
            scores=serializer.validated_data["scores"],
            expected_version=expected,
        )
        return self.written(inspection)

    @extend_schema(
        summary="Raise several issues from the findings, all or none",
        request=IssueBatchSerializer,
        responses={201: RaisedSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def issues(self, request: Request, pk=None) -> Response:
        inspection = self.get_object()
        serializer = IssueBatchSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        raised = services.inspection_raise_issues(
            inspection=inspection, actor=request.user, issues=serializer.validated_data["issues"]
        )
        return Response({"issues": [i.pk for i in raised]}, status=status.HTTP_201_CREATED)


@read_only("Meetings", MeetingSerializer)
@writes(MeetingSerializer, MeetingWriteSerializer, created="Record a meeting")
class MeetingViewSet(VersionedMixin, ResourceViewSet):
    serializer_class = MeetingSerializer
    filterset_class = MeetingApiFilter

    def get_queryset(self):
        return (
            inspection_selectors.visible_meetings(self.request.user)
            .prefetch_related("attendees", "absentees", "projects", _ids("meeting_id"))
            .order_by("id")
        )

    def create(self, request: Request) -> Response:
        serializer = MeetingWriteSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        meeting = services.meeting_create(actor=request.user, **serializer.validated_data)
        return self.written(meeting, created=True)

    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        meeting = self.get_object()
        expected = if_match_version(request, required=True)
        serializer = MeetingWriteSerializer(
            meeting, data=request.data, partial=partial, user=request.user
        )
        serializer.is_valid(raise_exception=True)
        meeting = services.meeting_update(
            meeting=meeting,
            actor=request.user,
            expected_version=expected,
            **serializer.validated_data,
        )
        return self.written(meeting)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk, partial=True)

    @extend_schema(
        summary="Assign the meeting's decisions (交办事项) as issues, all or none",
        request=DecisionBatchSerializer,
        responses={201: RaisedSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def decisions(self, request: Request, pk=None) -> Response:
        meeting = self.get_object()
        serializer = DecisionBatchSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        raised = services.meeting_record_decisions(
            meeting=meeting, actor=request.user, decisions=serializer.validated_data["decisions"]
        )
        return Response({"issues": [i.pk for i in raised]}, status=status.HTTP_201_CREATED)


@read_only("Project notices", ProjectNoticeSerializer)
@extend_schema_view(
    create=extend_schema(
        summary="Issue a red card or a deadline notice on a project (supervisors)",
        request=NoticeIssueSerializer,
        responses={201: ProjectNoticeSerializer, **WRITE_ERRORS},
    )
)
class ProjectNoticeViewSet(ResourceViewSet):
    serializer_class = ProjectNoticeSerializer
    filterset_class = NoticeApiFilter

    def get_queryset(self):
        return inspection_selectors.visible_notices(self.request.user).order_by("id")

    def _answer(self, notice: ProjectNotice, code: int = status.HTTP_200_OK) -> Response:
        notice = self.get_queryset().get(pk=notice.pk)
        return Response(self.get_serializer(notice).data, status=code)

    def create(self, request: Request) -> Response:
        serializer = NoticeIssueSerializer(data=request.data, user=request.user)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        project = data.pop("project")
        notice = services.notice_issue(project=project, actor=request.user, **data)
        return self._answer(notice, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Settle a notice: fulfilled, consequence applied (enforced) or withdrawn",
        request=NoticeSettleSerializer,
        responses={200: ProjectNoticeSerializer, **ACTION_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def settle(self, request: Request, pk=None) -> Response:
        notice = self.get_object()
        serializer = NoticeSettleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        notice = services.notice_settle(
            notice=notice, actor=request.user, **serializer.validated_data
        )
        return self._answer(notice)


router = SimpleRouter()
router.register("inspections", InspectionViewSet, basename="api-inspection")
router.register("meetings", MeetingViewSet, basename="api-meeting")
router.register("project-notices", ProjectNoticeViewSet, basename="api-project-notice")

# Mounted at /api/v1/ by tracker/urls.py, before projects.api's catch-all.
urlpatterns = router.urls
