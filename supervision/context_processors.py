"""The supervision part of every page's context."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from supervision.notifications import unread_count


def notifications(request) -> dict[str, object]:
    """The nav badge: evaluated only when a template shows it, then from the cache (one COUNT
    query at most per page)."""
    user = getattr(request, "user", None)
    return {"unread_notification_count": SimpleLazyObject(lambda: unread_count(user))}
