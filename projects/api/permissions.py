"""What a caller may do on the API, and how often.

Access to objects is the user's, decided by ``projects.selectors`` in each view's queryset; a
token only narrows it: a read token may never write, whatever its user may do.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import permissions, throttling
from rest_framework.settings import api_settings

from projects.models import ApiToken
from tracker.cache import hit


def request_token(request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


class TokenScopePermission(permissions.BasePermission):
    message = _("This API token is read-only.")
    code = "token_read_only"

    def has_permission(self, request, view) -> bool:
        token = request_token(request)
        if token is None or request.method in permissions.SAFE_METHODS:
            return True
        return token.write


class _SlidingWindowMixin:
    """DRF's rate throttles, counted atomically (tracker.cache.hit: one Redis script, a sliding
    window), so concurrent requests cannot slip past the limit; without Redis each process counts
    on its own."""

    # DRF binds THROTTLE_RATES when the module is imported; reading them per request lets
    # override_settings (tests) and a reloaded api_settings take effect.
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        allowed, self._wait = hit(self.key, self.num_requests, self.duration)
        return allowed

    def wait(self) -> float | None:
        return self._wait or None


class TokenRateThrottle(_SlidingWindowMixin, throttling.SimpleRateThrottle):
    """One bucket per token; a browser session has one bucket per user."""

    scope = "token"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return None
        token = request_token(request)
        ident = f"t{token.pk}" if token is not None else f"u{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonymousRateThrottle(_SlidingWindowMixin, throttling.AnonRateThrottle):
    scope = "anon"
