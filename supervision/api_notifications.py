"""The caller's own notifications over the REST API (docs/api.md, "Notifications").

Mounted at /api/v1/ by tracker/urls.py, before projects.api's catch-all. Marking read is a
write: a read-only token gets 403 ``token_read_only``, as everywhere in the API.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from projects.api.filtering import ApiFilterSet, StrictBooleanFilter
from projects.api.resources import DETAIL_ERRORS, LIST_ERRORS
from projects.api.views import ERRORS, StandardPagination
from supervision import notifications
from supervision.models import Notification


class NotificationSerializer(serializers.ModelSerializer):
    event_label = serializers.SerializerMethodField()
    link = serializers.SerializerMethodField(help_text="The link as an absolute URL.")
    unread = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = [
            "id",
            "event",
            "event_label",
            "title",
            "body",
            "url",
            "link",
            "created_at",
            "read_at",
            "unread",
        ]
        read_only_fields = fields

    def get_event_label(self, obj: Notification) -> str:
        return str(notifications.EVENTS.get(obj.event, obj.event))

    def get_link(self, obj: Notification) -> str:
        return notifications.absolute_url(obj.url)

    def get_unread(self, obj: Notification) -> bool:
        return obj.read_at is None


class NotificationFilterSet(ApiFilterSet):
    unread = StrictBooleanFilter(
        field_name="read_at", lookup_expr="isnull", label="Unread only (true) or read only (false)"
    )
    event = django_filters.ChoiceFilter(choices=[(key, key) for key in notifications.EVENTS])

    class Meta:
        model = Notification
        fields = ["unread", "event"]


READ_ALL = inline_serializer(
    "NotificationsMarkedRead", fields={"marked": serializers.IntegerField()}
)


@extend_schema_view(
    list=extend_schema(
        summary="The caller's notifications, newest first",
        responses={200: NotificationSerializer, **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One of the caller's notifications",
        responses={200: NotificationSerializer, **DETAIL_ERRORS},
    ),
)
class NotificationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = NotificationSerializer
    pagination_class = StandardPagination
    filterset_class = NotificationFilterSet

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return Notification.objects.none()
        return Notification.objects.filter(recipient=self.request.user).order_by(
            "-created_at", "-id"
        )

    @extend_schema(
        summary="Mark one notification read",
        request=None,
        responses={200: NotificationSerializer, **DETAIL_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def read(self, request: Request, pk=None) -> Response:
        notification = self.get_object()
        notifications.mark_read(request.user, [notification.pk])
        notification.refresh_from_db(fields=["read_at"])
        return Response(self.get_serializer(notification).data)

    @extend_schema(
        summary="Mark all the caller's notifications read",
        request=None,
        responses={200: READ_ALL, **ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        return Response({"marked": notifications.mark_all_read(request.user)})


router = SimpleRouter()
router.register("notifications", NotificationViewSet, basename="api-notification")

urlpatterns = [*router.urls]
