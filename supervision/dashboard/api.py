"""GET /api/v1/dashboard/?unit=<id>&date=YYYY-MM-DD: the dashboard's figures as JSON, the same
stored numbers the page and its Excel export show (docs/dashboards.md lists the fields)."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from projects.api.serializers import ErrorSerializer
from projects.api.views import ERRORS
from supervision.dashboard import presenter as dashboard_presenter
from supervision.dashboard.figures import TooManyComputations


class ComputationsThrottled(exceptions.APIException):
    """429 for a day not computed before, when the caller's budget for those is spent."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "throttled"

    def __init__(self, detail: str, *, wait: int):
        super().__init__(detail)
        self.wait = wait  # DRF's handler turns it into Retry-After


@extend_schema(
    summary="Dashboard figures for a unit's scope on a day",
    parameters=[
        OpenApiParameter(
            "unit",
            OpenApiTypes.INT,
            description="A unit in the caller's scope (default: the widest).",
        ),
        OpenApiParameter(
            "date",
            OpenApiTypes.DATE,
            description="Not after today (default: today). A day not computed before is "
            "computed on demand, a few times a minute per caller (429 beyond).",
        ),
    ],
    responses={200: OpenApiTypes.OBJECT, 400: ErrorSerializer, **ERRORS},
)
@api_view(["GET"])
def dashboard(request: Request) -> Response:
    try:
        unit, day, snapshot = dashboard_presenter.load(request.user, request.query_params)
    except dashboard_presenter.BadInput as exc:
        raise exceptions.ValidationError({exc.field: [str(exc)]}) from None
    except TooManyComputations as exc:
        raise ComputationsThrottled(
            dashboard_presenter.too_many_message(exc), wait=exc.wait
        ) from None
    rankings = [
        {
            **board,
            "own": _ranked(board["own"]) if board["own"] else None,
            "entries": [_ranked(e) for e in board["entries"]],
        }
        for board in dashboard_presenter.latest_rankings(request.user, unit, day)
    ]
    return Response(
        {
            "unit": {"id": unit.pk, "name": unit.display_name, "kind": unit.kind},
            "date": day.isoformat(),
            "computed_at": snapshot.computed_at,
            "figures": snapshot.data,
            "rankings": rankings,
        }
    )


def _ranked(row: dict) -> dict:
    return {**row, "score": None if row["score"] is None else str(row["score"])}


urlpatterns = [path("dashboard/", dashboard, name="api-dashboard")]
