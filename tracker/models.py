"""The shared core's one table: the outbox of work handed to Celery (tracker/outbox.py)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """A Celery task to run because of something committed: written in the same transaction as
    that something, sent to the broker after commit, and again until a worker has run it."""

    task = models.CharField(_("background task"), max_length=200)
    args = models.JSONField(_("task arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("task keyword arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # Handed to the broker (the last time); empty while the broker could not be reached.
    sent_at = models.DateTimeField(_("sent to the queue at"), null=True, blank=True)
    sends = models.PositiveIntegerField(_("times sent"), default=0)
    # A worker took it (a lease: another worker may take it again once it is old).
    claimed_at = models.DateTimeField(_("taken by a worker at"), null=True, blank=True)
    done_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(done_at__isnull=True), name="outbox_pending"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"
