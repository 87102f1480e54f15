"""The shared core in the admin: the outbox of background work (read-only), and login protection:
failed-login counts with an unlock action, and the logs.

django-axes' own admin classes are reused for their columns, filters and read-only fields; these
subclasses add the Chinese labels its own catalog lacks and an unlock action that records who
unlocked whom in the admin's history.
"""

from __future__ import annotations

import logging

from axes import admin as axes_admin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import DELETION, LogEntry
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tracker.models import OutboxMessage

logger = logging.getLogger(__name__)

# The verbose names of axes' models and fields, so that makemessages keeps their Chinese
# translations in our catalog (axes ships none); Django looks every msgid up in every catalog.
_AXES_MSGIDS = (
    _("access attempt"),
    _("access attempts"),
    _("access log"),
    _("access logs"),
    _("access failure"),
    _("access failures"),
    _("User Agent"),
    _("IP Address"),
    _("HTTP Accept"),
    _("Path"),
    _("Attempt Time"),
    _("GET Data"),
    _("POST Data"),
    _("Failed Logins"),
    _("Logout Time"),
    _("Session key hash (sha256)"),
    _("Access lock out"),
    _("Form Data"),
    _("Meta Data"),
    _("Locked Out"),
)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """One row per username and address with failures in the cool-off window; a row at the
    limit is a lock. Unlocking deletes the row, as ``manage.py axes_reset_username`` does."""

    actions = ["unlock"]

    @admin.display(description=_("Status"))
    def status(self, obj: AccessAttempt) -> str:
        if obj.failures_since_start < settings.AXES_FAILURE_LIMIT:
            left = settings.AXES_FAILURE_LIMIT - obj.failures_since_start
            return ngettext(
                "not locked, %(count)d try left", "not locked, %(count)d tries left", left
            ) % {"count": left}
        ends_at = timezone.localtime(obj.attempt_time + settings.AXES_COOLOFF_TIME)
        if ends_at <= timezone.localtime():
            return str(_("lock expired"))
        return str(_("locked until %(time)s")) % {"time": ends_at.strftime("%Y-%m-%d %H:%M")}

    @admin.action(description=_("Unlock the selected logins"), permissions=["delete"])
    def unlock(self, request, queryset) -> None:
        attempts = list(queryset)
        for attempt in attempts:
            # An attempt's own name is only its time; the history says whose login was unlocked.
            LogEntry.objects.log_actions(
                user_id=request.user.pk,
                queryset=[attempt],
                action_flag=DELETION,
                change_message=gettext("Unlocked the login of %(username)s from %(ip)s.")
                % {"username": attempt.username, "ip": attempt.ip_address},
            )
            logger.warning(
                "Login of %r from %s unlocked by %r",
                attempt.username,
                attempt.ip_address,
                request.user.get_username(),
            )
        queryset.delete()
        self.message_user(
            request,
            ngettext(
                "Unlocked %(count)d login; the user may log in again.",
                "Unlocked %(count)d logins; the users may log in again.",
                len(attempts),
            )
            % {"count": len(attempts)},
            messages.SUCCESS,
        )


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(axes_admin.AccessFailureLogAdmin):
    """Every failed login: who, from where, when, and whether it locked."""

    actions = None


@admin.register(AccessLog)
class AccessLogAdmin(axes_admin.AccessLogAdmin):
    """Every successful login and its logout."""

    actions = None


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Work handed to the workers, to look into when something did not happen: read-only."""

    list_display = ("pk", "task", "created_at", "sent_at", "sends", "claimed_at", "done_at")
    list_filter = ("task",)
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
