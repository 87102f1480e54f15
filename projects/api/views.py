"""API endpoints. Every queryset starts from what the user may see (``projects.selectors``)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import pagination, viewsets
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from projects import selectors
from projects.api.serializers import ErrorSerializer, MeSerializer, UnitSerializer

ERRORS = {401: ErrorSerializer, 403: ErrorSerializer, 429: ErrorSerializer}


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "projects.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API token: `Authorization: Bearer trk_…` (docs/api.md).",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "projects.api.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class StandardPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def paginate_queryset(self, queryset, request, view=None):
        # A page that does not exist is a bad parameter (400, documented), not a missing resource.
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:
            raise ValidationError({"page": [_("This page does not exist.")]}) from None


@extend_schema_view(
    list=extend_schema(summary="Units visible to the caller", responses={200: UnitSerializer}),
    retrieve=extend_schema(
        summary="One unit", responses={200: UnitSerializer, 404: ErrorSerializer, **ERRORS}
    ),
)
class UnitViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = UnitSerializer
    pagination_class = StandardPagination
    filterset_fields = ["kind", "parent", "is_active"]

    def get_queryset(self):
        return selectors.visible_units(self.request.user).order_by("path")


@extend_schema(summary="The caller", responses={200: MeSerializer, **ERRORS})
@api_view(["GET"])
def me(request: Request) -> Response:
    memberships = selectors.user_memberships(request.user)
    serializer = MeSerializer(
        request.user, context={"request": request, "memberships": memberships}
    )
    return Response(serializer.data)
