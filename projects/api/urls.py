"""Mounted at /api/ by tracker/urls.py: the versioned API, its schema and its offline docs."""

from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from projects.api import errors, resources, views

router = SimpleRouter()
router.register("units", resources.UnitSyncViewSet, basename="api-unit")
router.register("leaders", resources.LeaderViewSet, basename="api-leader")
router.register("projects", resources.ProjectViewSet, basename="api-project")
router.register("milestones", resources.MilestoneViewSet, basename="api-milestone")
router.register("progress-reports", resources.ProgressReportViewSet, basename="api-report")
router.register("project-funding", resources.ProjectFundingViewSet, basename="api-funding")
router.register(
    "funding-applications", resources.FundingApplicationViewSet, basename="api-application"
)
router.register("targets", resources.TargetViewSet, basename="api-target")
router.register("stage-changes", resources.StageChangeViewSet, basename="api-stage-change")
router.register("tombstones", resources.TombstoneViewSet, basename="api-tombstone")

v1 = [
    path("me/", views.me, name="api-me"),
    path("oc4ids/", resources.Oc4idsView.as_view(), name="api-oc4ids"),
    *router.urls,
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Swagger UI's page carries an inline <style> block: the one place inline styles are allowed.
    path(
        "docs/",
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    # Last: anything else under /api/ is a JSON 404, not the site's HTML page.
    re_path(r"^.*$", errors.api_not_found),
]
