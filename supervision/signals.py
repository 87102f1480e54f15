"""Keep lights current between daily scans: when a project, its milestones, reports or year
plans are saved, that project's alerts and light are re-evaluated once the transaction commits
(once per transaction, however many saves it made)."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from projects.models import Milestone, ProgressReport, Project, ProjectYearPlan
from projects.signals import projects_bulk_saved
from supervision import alerts
from supervision.models import Issue

PENDING = "_tracker_alert_projects"


def _flush() -> None:

    ids = getattr(connection, PENDING, None) or set()
    setattr(connection, PENDING, None)
    if ids:
        alerts.scan_alerts(projects=ids)  # ids of projects deleted meanwhile simply match nothing


def _scheduled() -> bool:
    return any(func is _flush for _sids, func, _robust in connection.run_on_commit)


def queue(project_id: int | None) -> None:
    if project_id is None:
        return
    if not connection.in_atomic_block:
        setattr(connection, PENDING, {project_id})
        _flush()
        return
    pending = getattr(connection, PENDING, None)
    if pending is None or not _scheduled():
        pending = set()  # a rolled-back transaction took its callback away: start afresh
        setattr(connection, PENDING, pending)
        pending.add(project_id)
        transaction.on_commit(_flush, robust=True)
        return
    pending.add(project_id)


def _project_saved(sender, instance, **kwargs) -> None:
    queue(instance.pk)


def _child_saved(sender, instance, **kwargs) -> None:
    queue(instance.project_id)


def _projects_bulk_saved(sender, ids, **kwargs) -> None:
    for project_id in ids:
        queue(project_id)


def connect() -> None:

    projects_bulk_saved.connect(_projects_bulk_saved, dispatch_uid="alerts-projects-bulk")
    post_save.connect(_project_saved, sender=Project, dispatch_uid="alerts-project")
    post_save.connect(_child_saved, sender=Issue, dispatch_uid="alerts-Issue")
    for model in (Milestone, ProgressReport, ProjectYearPlan):
        post_save.connect(_child_saved, sender=model, dispatch_uid=f"alerts-{model.__name__}")
        post_delete.connect(_child_saved, sender=model, dispatch_uid=f"alerts-del-{model.__name__}")
