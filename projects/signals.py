"""Tombstones: a row per deleted object, so a mirror pulling /api/v1/ learns of deletions.

``post_delete`` also fires for objects removed by a cascade (a project's milestones, reports
and funding), since Django does not fast-delete models that have receivers.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models.signals import post_delete
from django.dispatch import Signal, receiver
from django.utils import timezone

from projects.models import (
    FundingApplication,
    Leader,
    Milestone,
    ProgressReport,
    Project,
    ProjectFunding,
    Target,
    Tombstone,
    Unit,
)

# The value of Tombstone.model for each tracked model (its Django model name).
TRACKED = (
    Project,
    Milestone,
    ProgressReport,
    ProjectFunding,
    FundingApplication,
    Target,
    Unit,
    Leader,
)
TOMBSTONE_MODELS = [model._meta.model_name for model in TRACKED]


def _write_tombstone(sender, instance, **kwargs) -> None:
    if instance.pk is not None:
        Tombstone.objects.create(model=sender._meta.model_name, object_id=instance.pk)


for _model in TRACKED:
    receiver(post_delete, sender=_model, dispatch_uid=f"tombstone-{_model._meta.model_name}")(
        _write_tombstone
    )


# Sent by ``seed_demo`` inside its transaction once the projects domain is loaded, so that apps
# built on it (supervision) add their part of the demo county: ``today``, ``county`` (the demo
# county's Unit) and ``supervisor`` (the demo supervisor) are passed.
demo_seeded = Signal()

# Sent by ``services.projects_bulk_create`` (which bypasses ``post_save``) with ``ids``, the
# primary keys of the projects created, so that apps built on projects (the alert scan) follow.
projects_bulk_saved = Signal()


def tombstone_cutoff() -> dt.datetime:
    """Tombstones older than this are pruned; a mirror asking from before it must pull all."""
    return timezone.now() - dt.timedelta(days=settings.TRACKER_TOMBSTONE_DAYS)
