"""API tokens: the only write path for ``ApiToken`` (create, revoke) and the lookup used by the
API's bearer authentication.

A token is ``trk_`` followed by 43 URL-safe random characters (256 bits). Only its sha256 is
stored: with that much entropy a salt or a slow hash adds nothing. The first eight random
characters are kept in clear as ``prefix`` so a person can tell tokens apart and the lookup is
one indexed query; the match itself is a constant-time comparison of hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from projects.models import ApiToken

logger = logging.getLogger(__name__)

TOKEN_LABEL = "trk_"  # noqa: S105 (a label that makes leaked tokens recognisable)
PREFIX_LENGTH = 8
# last_used_at is informative; writing it on every request would turn each read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _prefix_of(secret: str) -> str:
    return secret.removeprefix(TOKEN_LABEL)[:PREFIX_LENGTH]


def _may_manage(actor, user) -> bool:
    # actor None is the command line (create_api_token), run by whoever operates the server.
    if actor is None:
        return True
    return actor.pk == user.pk or (actor.is_active and actor.has_perm("projects.change_apitoken"))


def token_create(
    *, user, name: str, write: bool, expires_at: dt.datetime | None = None, actor
) -> tuple[ApiToken, str]:
    """Create a token for ``user`` and return it with its secret, which is never stored."""
    if not _may_manage(actor, user):
        raise PermissionDenied(_("You may not create API tokens for another user."))
    secret = TOKEN_LABEL + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        write=write,
        expires_at=expires_at,
        prefix=_prefix_of(secret),
        token_hash=hash_secret(secret),
    )
    with transaction.atomic():
        token.full_clean()
        token.save()
    logger.info(
        "API token %s (%s) created for %s by %s",
        token.pk,
        token.scope,
        user.get_username(),
        actor.get_username() if actor is not None else "the command line",
    )
    return token, secret


def token_revoke(*, token: ApiToken, actor) -> ApiToken:
    """Revoke ``token`` now; revoking a revoked token changes nothing."""
    if not _may_manage(actor, token.user):
        raise PermissionDenied(_("You may not revoke another user's API token."))
    now = timezone.now()
    with transaction.atomic():
        # Conditional UPDATE: the first revocation time is kept if two people revoke at once.
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
        token.refresh_from_db(fields=["revoked_at"])
    logger.info(
        "API token %s revoked by %s",
        token.pk,
        actor.get_username() if actor is not None else "the command line",
    )
    return token


def token_find(secret: str) -> ApiToken | None:
    """The token whose secret this is (active or not), or None."""
    if not secret.startswith(TOKEN_LABEL) or len(secret) > 200:
        return None
    wanted = hash_secret(secret)
    candidates = ApiToken.objects.select_related("user").filter(prefix=_prefix_of(secret))
    for token in candidates:
        if hmac.compare_digest(token.token_hash, wanted):
            return token
    return None


def token_touch(token: ApiToken, now: dt.datetime | None = None) -> None:
    """Record that the token was used, at most once per LAST_USED_RESOLUTION."""
    now = now or timezone.now()
    stale_before = now - LAST_USED_RESOLUTION
    if token.last_used_at is not None and token.last_used_at > stale_before:
        return
    # The condition makes concurrent requests write once, not once each.
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=stale_before)
    ).update(last_used_at=now)
    token.last_used_at = now
