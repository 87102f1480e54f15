"""The site's error pages (400, 403, 404, 500, CSRF failure): Chinese, inside the site's layout,
with a way back. tracker/urls.py names them as Django's handlers; CSRF_FAILURE_VIEW names
``csrf_failure``.

Under /api/ the answer stays the API's JSON error body: DRF converts what its views raise, but an
error outside a DRF view (a middleware, the CSRF check) reaches these handlers too.

A 403 or 404 shows the exception's message only when it is one of ours: every message the views
and services raise passes through gettext and the site speaks only Chinese, so a message with no
Chinese character is technical (``get_object_or_404``'s "No Project matches the given query.",
a URL resolver's dict) and is not shown.
"""

from __future__ import annotations

import logging
import re

from django.core.exceptions import DisallowedHost, RequestDataTooBig, TooManyFieldsSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

from tracker.context_processors import SITE_NAME

logger = logging.getLogger(__name__)

CHINESE = re.compile(r"[\u3400-\u9fff]")
MAX_MESSAGE = 300


def user_message(exception: BaseException | None) -> str:
    """The exception's message if it is one of ours (translated), else ""."""
    if exception is None or not exception.args:
        return ""
    message = exception.args[0]
    if not isinstance(message, str) or not CHINESE.search(message):
        return ""
    return message[:MAX_MESSAGE]


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _api_error(code: str, message: str, status: int) -> JsonResponse:
    # The API's error body (projects/api/errors.py), built here without DRF: nothing may fail.
    return JsonResponse(
        {"code": code, "message": message, "details": {}},
        status=status,
        json_dumps_params={"ensure_ascii": False},  # UTF-8, as every other API answer
    )


def _back_url(request: HttpRequest) -> str:
    """The page the user came from, when it is on this site (the Referer header)."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer:
        return ""
    try:
        host = request.get_host()
    except DisallowedHost:  # the very error a 400 page may be answering
        return ""
    if url_has_allowed_host_and_scheme(
        referer, allowed_hosts={host}, require_https=request.is_secure()
    ):
        return referer
    return ""


def _render(request: HttpRequest, template: str, status: int, **context) -> HttpResponse:
    context.setdefault("back_url", _back_url(request))
    body = loader.get_template(template).render(context, request)
    return HttpResponse(body, status=status)


@requires_csrf_token
def bad_request(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig | TooManyFieldsSent):
        message = _("What you sent is too large. Send a smaller file or fewer rows at a time.")
    else:
        message = ""
    if _is_api(request):
        return _api_error("invalid", message or _("The request is not valid."), 400)
    return _render(request, "400.html", 400, message=message)


@requires_csrf_token
def permission_denied(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    message = user_message(exception)
    if _is_api(request):
        return _api_error(
            "permission_denied", message or _("You do not have permission to do this."), 403
        )
    return _render(request, "403.html", 403, message=message)


@requires_csrf_token
def page_not_found(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    message = user_message(exception)
    if _is_api(request):
        return _api_error("not_found", message or _("Not found, or not in your scope."), 404)
    return _render(request, "404.html", 404, message=message)


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered with no request context: no context processor, no user, no database, no cache
    (any of them may be what failed). Only the site's name is given."""
    if _is_api(request):
        return _api_error("server_error", _("An internal error occurred. It has been logged."), 500)
    try:
        context = {"platform_name": SITE_NAME, "back_url": _back_url(request)}
        body = loader.get_template("500.html").render(context)
    except Exception:
        # The last page there is: if even the template fails (a missing static manifest, a
        # broken disk) answer a bare Chinese page rather than the server's own error.
        logger.exception("The 500 page could not be rendered")
        body = "<!DOCTYPE html><title>{0}</title><h1>{0}</h1>".format(
            _("The server ran into an error")
        )
    return HttpResponse(body, status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form sent without a valid security token: usually a page left open across a logout or a
    new login, or cookies switched off. The technical reason is not shown: Django's CSRF
    middleware has already logged it (django.security.csrf)."""
    if _is_api(request):
        return _api_error("csrf_failed", _("The security check of this request failed."), 403)
    return _render(request, "403_csrf.html", 403, no_cookie=reason == REASON_NO_CSRF_COOKIE)
