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
