"""Celery tasks of supervision: thin, take ids, safe to run twice or on two workers at once."""

from __future__ import annotations

import datetime as dt
import smtplib

from celery import shared_task
from django.conf import settings
from django.utils import timezone, translation

from supervision import notifications, rankings
from supervision.alerts import scan_alerts as scan
from supervision.dashboard import figures as dashboard_figures
from supervision.models import RankingScheme
from tracker import periods


@shared_task(acks_late=True)
def compute_ranking(scheme_id: int, period_key: str, today: str | None = None) -> int:
    """Compute one scheme's snapshot for one period; returns the snapshot's id."""
    scheme = RankingScheme.objects.get(pk=scheme_id)
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    snapshot = rankings.ranking_compute(scheme=scheme, period=periods.parse(period_key), today=day)
    return snapshot.pk


@shared_task(bind=True, acks_late=True, ignore_result=False)
def compute_due_rankings(self, today: str | None = None) -> int:
    """The daily job: every closed period without a final snapshot (catching up after downtime),
    the unpublished drafts of recent periods (late reports and corrections), and the open period
    as a provisional draft, for every active scheme (``rankings.due_periods``). Returns how many
    computations it queued."""
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    # The computations go to the queue this job came from (a worker serving a queue of its own
    # does the whole job).
    queue = (self.request.delivery_info or {}).get("routing_key")
    queued = 0
    for scheme in RankingScheme.objects.filter(is_active=True).order_by("pk"):
        closed, current = rankings.due_periods(scheme, day)
        for period in [*closed, current]:
            compute_ranking.apply_async((scheme.pk, period.key, day.isoformat()), queue=queue)
            queued += 1
    return queued


@shared_task(acks_late=True)
def scan_alerts(today: str | None = None) -> dict:
    """The daily alert scan over the whole database (idempotent)."""

    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    result = scan(today=day)
    # The day's dashboards read the lights the scan has just written.
    refresh_dashboards.delay(day.isoformat())
    return result.__dict__


@shared_task(acks_late=True)
def refresh_dashboards(today: str | None = None) -> int:
    """Every unit's dashboard figures for the day, stored (idempotent: one row per unit and day,
    replaced)."""

    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    return dashboard_figures.refresh(day)


# --- notifications (docs/notifications.md) -----------------------------------------------------


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(notifications.DeliveryFailed,),
    max_retries=5,
    retry_backoff=30,  # 30 s, 1, 2, 4, 8 min (with jitter): a robot's rate limit passes
    # Below the broker's visibility timeout (15 min): a retry waiting longer would be delivered
    # twice (webhook_deliver would send it once all the same).
    retry_backoff_max=600,
    retry_jitter=True,
)
def deliver_webhook(self, delivery_id: int) -> str | None:
    """One attempt at a webhook delivery; retried with backoff while the failure is transient.
    The last allowed attempt marks the delivery failed."""
    with translation.override(settings.LANGUAGE_CODE):
        delivery = notifications.webhook_deliver(
            delivery_id, final=self.request.retries >= self.max_retries
        )
    return delivery.status if delivery else None


@shared_task(
    acks_late=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    max_retries=3,
    retry_backoff=60,
)
def send_notification_emails(notification_ids: list[int]) -> int:
    """The "immediate" e-mails of one event (one per recipient); returns e-mails sent."""
    with translation.override(settings.LANGUAGE_CODE):
        return notifications.email_notifications(notification_ids)


@shared_task(acks_late=True)
def send_email_digests() -> int:
    """The daily digest of unread notifications; returns e-mails sent."""
    with translation.override(settings.LANGUAGE_CODE):
        return notifications.send_email_digests()
