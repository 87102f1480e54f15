"""A URL configuration for the error-page tests: the site's own, plus views that fail the way a
bug or a dead database does (tests/test_error_pages.py sets it as ROOT_URLCONF)."""

from __future__ import annotations

from django.db import OperationalError
from django.urls import include, path

# Django reads the error handlers from the root URL configuration's module.
from tracker.urls import handler400, handler403, handler404, handler500

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

TECHNICAL = "KeyError in /srv/tracker/projects/views.py line 42: 'secret_column'"


def bug(request):
    raise RuntimeError(TECHNICAL)


def database_down(request):
    raise OperationalError(
        'connection to server at "127.0.0.1", port 5432 failed: Connection refused'
    )


urlpatterns = [
    path("boom/", bug),
    path("boom/database/", database_down),
    # Under /api/ but outside DRF, as a middleware's failure would be.
    path("api/v1/boom/", bug),
    path("", include("tracker.urls")),
]
