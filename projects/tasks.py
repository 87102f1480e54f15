"""Celery tasks of the projects domain: thin wrappers around services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from projects import ledger_import
from projects.api import idempotency
from projects.models import Tombstone
from projects.signals import tombstone_cutoff


@shared_task(acks_late=True)
def prune_tombstones() -> int:
    """Delete the tombstones older than ``TRACKER_TOMBSTONE_DAYS``; returns how many."""
    deleted, _ = Tombstone.objects.filter(deleted_at__lt=tombstone_cutoff()).delete()
    return deleted


@shared_task(acks_late=True)
def prune_idempotency_keys() -> int:
    """Delete the API's idempotency keys older than a day; returns how many."""
    return idempotency.prune()


@shared_task(acks_late=True)
def prune_ledger_imports() -> dict[str, int]:
    """Drop old ledger uploads and previews (``ledger_import.prune``); safe to run twice."""
    return ledger_import.prune()


@shared_task(acks_late=True)
def ledger_prepare(batch_id: int) -> str:
    """Read an uploaded ledger and store its preview; returns the batch's status."""
    return ledger_import.prepare(batch_id).status


@shared_task(acks_late=True)
def ledger_commit(batch_id: int) -> str:
    """Write a confirmed ledger import in one transaction; returns the batch's status."""
    return ledger_import.commit(batch_id).status
