from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

SITE_NAME = _("Key Project Scheduling and Supervision Platform")


def site(request) -> dict[str, object]:
    return {"platform_name": SITE_NAME}


def notifications(request) -> dict[str, object]:
    """The nav badge: evaluated only when a template shows it, then from the cache (one COUNT
    query at most per page)."""
    from supervision.notifications import unread_count

    user = getattr(request, "user", None)
    return {"unread_notification_count": SimpleLazyObject(lambda: unread_count(user))}
