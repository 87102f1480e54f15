"""Who is calling: a bearer API token (programs) or the browser session (people)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from projects import tokens
from projects.models import ApiToken


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer trk_…``; ``request.auth`` is the ApiToken.

    Listed first in DEFAULT_AUTHENTICATION_CLASSES: its ``authenticate_header`` is what makes
    DRF answer an unauthenticated request with 401 and ``WWW-Authenticate: Bearer``.
    """

    keyword = b"bearer"

    def authenticate(self, request: Request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                _("The Authorization header must be 'Bearer <token>'."), code="token_invalid"
            )
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            secret = ""
        token = tokens.token_find(secret) if secret else None
        if token is None:
            raise exceptions.AuthenticationFailed(
                _("The API token is not valid."), code="token_invalid"
            )
        return self._check(token)

    def _check(self, token: ApiToken):
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                _("The API token has been revoked."), code="token_revoked"
            )
        if not token.is_active():
            raise exceptions.AuthenticationFailed(
                _("The API token has expired."), code="token_expired"
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(
                _("The user of this API token is disabled."), code="user_inactive"
            )
        tokens.token_touch(token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class SessionAuthentication(authentication.SessionAuthentication):
    """The browser session, with CSRF enforced on writes as DRF does, and a stable error code."""

    def enforce_csrf(self, request: Request) -> None:
        try:
            super().enforce_csrf(request)
        except exceptions.PermissionDenied as exc:
            raise exceptions.PermissionDenied(
                _("The CSRF check failed. Reload the page and try again."), code="csrf_failed"
            ) from exc


def request_user(request):
    """The browser session's user, or the user of a bearer API token, for the few plain Django
    views the API lists (photos of reports and inspections, attachments of issues); ``None`` when
    neither is given or the token is not valid."""
    if request.user.is_authenticated:
        return request.user
    if not request.headers.get("Authorization"):
        return None
    try:
        found = BearerTokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed:
        return None
    return found[0] if found else None
