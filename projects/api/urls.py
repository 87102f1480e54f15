"""Mounted at /api/ by tracker/urls.py: the versioned API, its schema and its offline docs."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from projects.api import errors, views

router = SimpleRouter()
router.register("units", views.UnitViewSet, basename="api-unit")

v1 = [
    path("me/", views.me, name="api-me"),
    *router.urls,
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: anything else under /api/ is a JSON 404, not the site's HTML page.
    re_path(r"^.*$", errors.api_not_found),
]
