"""Requests the site cannot take are answered clearly, in Chinese, never with a 500.

- A body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is a 413 before anything reads it. Django
  refuses such a body only when something reads it, by raising ``RequestDataTooBig`` from
  wherever that happens (a parser, a form, the CSRF check): a 500 in the API, a bare 400 page
  elsewhere. Multipart uploads are left to Django's own accounting, which counts their form
  fields but not their files (photos and attachments have limits of their own).
- A write the database refuses (two requests raced past the services' checks, see
  tracker.integrity) is a 409 or 400 page that says what is wrong. The API answers these itself
  (projects.api.errors); this covers the pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from tracker import integrity

API_PREFIX = "/api/"

logger = logging.getLogger(__name__)


def body_too_large_message() -> str:
    limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
    return _("The request is too large: at most %(size)s MB can be sent at once.") % {
        "size": f"{limit_mb:g}"
    }


def _back_url(request: HttpRequest) -> str:
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("home")


def refused_page(request: HttpRequest, *, status: int, title: str, message: str, hint: str):
    context = {
        "status": status,
        "title": title,
        "message": message,
        "hint": hint,
        "back_url": _back_url(request),
    }
    return render(request, "refused.html", context, status=status)


def body_too_large_response(request: HttpRequest) -> HttpResponse:
    """413: JSON in the API's error envelope under /api/, the site's page elsewhere."""
    message = body_too_large_message()
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {
                "code": "request_too_large",
                "message": message,
                "details": {"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
            },
            status=413,
            json_dumps_params={"ensure_ascii": False},  # UTF-8, as every other API answer
        )
    return refused_page(
        request,
        status=413,
        title=_("Too much data sent"),
        message=message,
        hint=_("Nothing was saved. Shorten the text or send it in several parts, then try again."),
    )


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class RefusalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if (
            limit is not None
            and _declared_length(request) > limit
            and not request.content_type.startswith("multipart/")
        ):
            return body_too_large_response(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            # A body that declared a small length and turned out larger, read by a view.
            request._mark_post_parse_error()  # reading it again would raise again
            return body_too_large_response(request)
        if isinstance(exception, IntegrityError | DataError):
            # Logged with its trace: a refusal that no race explains is a missing check.
            logger.warning("Write refused by the database: %s", request.path, exc_info=exception)
            refusal = integrity.refusal_for(exception)
            return refused_page(
                request,
                status=refusal.status,
                title=_("Not saved"),
                message=refusal.message,
                hint=_("Nothing of this change was saved."),
            )
        return None
