"""Every API error is JSON: ``{"code": …, "message": …, "details": {…}}``, never an HTML page.

``code`` is stable for programs; ``message`` is for people, translated from an English msgid;
``details`` maps field names to messages for invalid input.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import (
    NON_FIELD_ERRORS,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

from projects.api.parsers import BodyParseError
from projects.services import VersionConflict
from tracker import integrity
from tracker.middleware import body_too_large_message

logger = logging.getLogger("django.request")


def _default_messages() -> dict[str, str]:
    return {
        "not_authenticated": _("Authentication is required: log in or send an API token."),
        "authentication_failed": _("Authentication failed."),
        "permission_denied": _("You do not have permission to do this."),
        "not_found": _("Not found, or not in your scope."),
        "method_not_allowed": _("This method is not allowed here."),
        "not_acceptable": _("The requested response format is not available."),
        "unsupported_media_type": _("The request body format is not supported."),
        "parse_error": _("The request body could not be parsed."),
        "invalid": _("The request is not valid."),
        "server_error": _("An internal error occurred. It has been logged."),
    }


def error_body(code: str, message: str, details: dict | None = None) -> dict[str, object]:
    return {"code": code, "message": message, "details": details or {}}


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    return codes if isinstance(codes, str) else exc.default_code


def validation_details(exc: DjangoValidationError) -> dict[str, list[str]]:
    """A ValidationError as ``details``: field → messages, ``__all__`` → non_field_errors."""
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": exc.messages}


def _domain_response(exc: Exception) -> Response | None:
    """The services' exceptions: Django's ValidationError and PermissionDenied, VersionConflict."""
    if isinstance(exc, VersionConflict):
        set_rollback()
        return Response(
            error_body("version_conflict", str(exc), {"current_version": exc.instance.version}),
            status=status.HTTP_412_PRECONDITION_FAILED,
            headers={"ETag": f'"{exc.instance.version}"'},
        )
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        return Response(
            error_body("invalid", _default_messages()["invalid"], validation_details(exc)),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, DjangoPermissionDenied) and str(exc):
        set_rollback()
        return Response(error_body("permission_denied", str(exc)), status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, IntegrityError | DataError):
        # A write that raced another past the services' checks (tracker.integrity).
        set_rollback()
        refusal = integrity.refusal_for(exc)
        # Logged with its trace: a refusal that no race explains is a missing check.
        logger.warning("Write refused by the database: %s", exc, exc_info=exc)
        return Response(error_body(refusal.code, refusal.message), status=refusal.status)
    return None


def _request_response(exc: Exception) -> Response | None:
    """Bodies Django refused to read: too large, too many fields or files."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(
                "request_too_large",
                body_too_large_message(),
                {"max_bytes": settings.DATA_UPLOAD_MAX_MEMORY_SIZE},
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response(
            error_body("parse_error", _("The request sends too many fields or files at once.")),
            status=status.HTTP_400_BAD_REQUEST,
        )
    return None


def api_exception_handler(exc: Exception, context: dict) -> Response:
    for answer in (_domain_response, _request_response):
        response = answer(exc)
        if response is not None:
            return response
    response = exception_handler(exc, context)
    if response is None:
        # An unexpected error: log it with its traceback and still answer in JSON.
        request = context.get("request")
        logger.error(
            "Internal Server Error: %s",
            getattr(request, "path", "?"),
            exc_info=exc,
            extra={"status_code": 500, "request": getattr(request, "_request", None)},
        )
        set_rollback()
        return Response(
            error_body("server_error", _default_messages()["server_error"]),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    messages = _default_messages()
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        details = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        response.data = error_body("invalid", messages["invalid"], details)
        return response
    if isinstance(exc, exceptions.Throttled):
        wait = int(exc.wait or 0)
        message = _("Too many requests. Try again in %(seconds)d seconds.") % {"seconds": wait}
        response.data = error_body("throttled", message, {"retry_after": wait})
        return response
    if isinstance(exc, exceptions.APIException):
        code = _code_of(exc)
        message = str(exc.detail)
        if (
            message == str(exc.default_detail)
            or code == "method_not_allowed"
            # DRF's own parse errors quote the parser in English; ours speak to people.
            or (isinstance(exc, exceptions.ParseError) and not isinstance(exc, BodyParseError))
        ):
            message = messages.get(code, message)
        wait = getattr(exc, "wait", None)  # other 429s (dashboard computations) say when too
        response.data = error_body(code, message, {"retry_after": int(wait)} if wait else None)
        return response
    # Django's Http404 and PermissionDenied, converted by DRF.
    code = "not_found" if response.status_code == 404 else "permission_denied"
    response.data = error_body(code, messages[code])
    return response


@csrf_exempt  # it changes nothing; an HTML CSRF page must not answer an API client
def api_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """Any path under /api/ that matches no endpoint."""
    return JsonResponse(
        error_body("not_found", _("There is no API endpoint at this address.")),
        status=404,
        json_dumps_params={"ensure_ascii": False},  # UTF-8, as every other API answer
    )
