"""Celery tasks of the projects domain: thin wrappers around services, safe to run twice."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from projects.models import Tombstone


def tombstone_cutoff() -> dt.datetime:
    """Tombstones older than this are pruned; a mirror asking from before it must pull all."""
    return timezone.now() - dt.timedelta(days=settings.TRACKER_TOMBSTONE_DAYS)


@shared_task(acks_late=True)
def prune_tombstones() -> int:
    """Delete the tombstones older than ``TRACKER_TOMBSTONE_DAYS``; returns how many."""
    deleted, _ = Tombstone.objects.filter(deleted_at__lt=tombstone_cutoff()).delete()
    return deleted


@shared_task(acks_late=True)
def prune_idempotency_keys() -> int:
    """Delete the API's idempotency keys older than a day; returns how many."""
    from projects.api import idempotency

    return idempotency.prune()


@shared_task(acks_late=True)
def prune_ledger_imports() -> dict[str, int]:
    """Drop old ledger uploads and previews (``ledger_import.prune``); safe to run twice."""
    from projects import ledger_import

    return ledger_import.prune()


@shared_task(acks_late=True)
def ledger_prepare(batch_id: int) -> str:
    """Read an uploaded ledger and store its preview; returns the batch's status."""
    from projects import ledger_import

    return ledger_import.prepare(batch_id).status


@shared_task(acks_late=True)
def ledger_commit(batch_id: int) -> str:
    """Write a confirmed ledger import in one transaction; returns the batch's status."""
    from projects import ledger_import

    return ledger_import.commit(batch_id).status
