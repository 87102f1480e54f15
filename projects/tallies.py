"""Report tallies: each lead unit's progress reports summed per reporting period.

The rankings ask, for every period, each unit's year-to-date investment and how many reports
were on time. Read from the reports that is a scan of every report of the year (450,000 rows
for a province in September); read from ``ReportTally`` it is one row per unit and period.

The tallies are derived data kept exact in the same transaction as the change that moves them
(the receivers below): a report saved or deleted refreshes its unit's row for that period; a
project changing lead unit, moving in or out of the reporting stages, or gaining or losing
sub-projects (a bundle owes no report), and a registration date changing refresh the units'
rows for every period. A refresh recomputes the rows from the reports with the same grouped
query the rankings use for cooperating units (``report_figures``), under a row lock on the
unit, so two transactions never interleave their counts. ``deferred()`` batches a bulk change
(a ledger import, the demo) into one refresh at its end; ``refresh()`` with no arguments
rebuilds everything (``manage.py rebuild_report_tallies``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from projects.models import (
    COUNTED_REPORT_STATUSES,
    NOT_REPORTING_STAGES,
    ProgressReport,
    Project,
    ReportTally,
    StageChange,
    Unit,
)
from projects.signals import projects_bulk_saved

# ---------------------------------------------------------------------------------------------
# The grouped query
# ---------------------------------------------------------------------------------------------


def report_figures(via: str = "lead", *, report_model=None, **filters):
    """Reports grouped by unit and period: ``amount`` (counted investment), ``on_time`` (first
    submitted by the deadline) and ``unowed`` (reports of projects that did not owe one).

    ``via="lead"`` groups by the project's lead unit, ``via="co"`` by each cooperating unit.
    ``filters`` apply to the reports (``period_key__in``, ``period_start__gte``…). The
    registration row (one per project) is joined, not looked up report by report; a project
    owes the report of a period when it was registered by the period's end and still reports
    (not a bundle, not operating or cancelled). ``report_model`` lets a migration pass its
    historical model.
    """
    report_model = report_model or ProgressReport
    project_model = report_model._meta.get_field("project").related_model
    if via == "co":
        base = project_model.cooperating_units.through.objects
        r, q, unit_field = "project__reports__", "project__", "unit_id"
    else:
        base = report_model.objects
        r, q, unit_field = "", "project__", "project__lead_unit_id"
    bundles = project_model.objects.filter(parent__isnull=False).values("parent_id")
    reporting = ~Q(**{f"{q}stage__in": NOT_REPORTING_STAGES}) & ~Q(**{f"{q}pk__in": bundles})
    owed = Q(**{f"{q}stage_changes__changed_on__lte": F(f"{r}period_end")}) & reporting
    on_time = Q(
        **{
            f"{r}first_submitted_at__isnull": False,
            f"{r}first_submitted_at__date__lte": F(f"{r}deadline"),
        }
    )
    return (
        base.filter(**{f"{r}{name}": value for name, value in filters.items()})
        .filter(**{f"{q}stage_changes__from_stage": ""})
        .values(unit_field, f"{r}period_key", f"{r}period_start", f"{r}period_end")
        .annotate(
            amount=Sum(f"{r}investment", filter=Q(**{f"{r}status__in": COUNTED_REPORT_STATUSES})),
            unowed=Count("pk", filter=~owed),
            on_time=Count("pk", filter=on_time),
        )
        .order_by()
        .values_list(
            unit_field,
            f"{r}period_key",
            f"{r}period_start",
            f"{r}period_end",
            "amount",
            "on_time",
            "unowed",
        )
    )


def tallies_from_reports(*, report_model=None, tally_model=None, **filters) -> list:
    """Unsaved tally rows computed from the reports (``filters`` as in ``report_figures``)."""
    tally_model = tally_model or ReportTally
    return [
        tally_model(
            unit_id=unit,
            period_key=key,
            period_start=start,
            period_end=end,
            investment=amount or 0,
            on_time=on_time,
            unowed=unowed,
        )
        for unit, key, start, end, amount, on_time, unowed in report_figures(
            report_model=report_model, **filters
        )
        if unit is not None
    ]


FIELDS = ("unit_id", "period_key", "period_start", "period_end", "investment", "on_time", "unowed")


def differences() -> set[tuple[int, str]]:
    """The (unit, period) pairs whose stored tally is not what the reports give (empty when
    the tallies are exact)."""
    stored = set(ReportTally.objects.values_list(*FIELDS))
    fresh = {tuple(getattr(row, name) for name in FIELDS) for row in tallies_from_reports()}
    return {row[:2] for row in stored ^ fresh}


# ---------------------------------------------------------------------------------------------
# Refreshing
# ---------------------------------------------------------------------------------------------


def refresh(units: Iterable[int | None] | None = None, keys: Iterable[str] | None = None) -> int:
    """Recompute the tallies of ``units`` (all units when None) for the periods ``keys`` (all
    periods when None); returns the number of rows written."""
    with transaction.atomic():
        locked = Unit.objects.select_for_update(no_key=True).order_by("pk")
        filters: dict = {}
        scope = ReportTally.objects.all()
        if units is not None:
            units = sorted({unit for unit in units if unit is not None})
            if not units:
                return 0
            locked = locked.filter(pk__in=units)
            filters["project__lead_unit_id__in"] = units
            scope = scope.filter(unit_id__in=units)
        if keys is not None:
            keys = sorted(set(keys))
            filters["period_key__in"] = keys
            scope = scope.filter(period_key__in=keys)
        list(locked.values_list("pk", flat=True))  # one refresh of a unit at a time
        rows = tallies_from_reports(**filters)
        scope.delete()
        ReportTally.objects.bulk_create(rows, batch_size=2000)
        return len(rows)


_state = threading.local()


@contextmanager
def deferred() -> Iterator[None]:
    """A transaction in which changes only note the tallies they move; those are refreshed
    once, at the end (for bulk writes: a ledger import, the demo)."""
    if getattr(_state, "pending", None) is not None:  # already inside one
        yield
        return
    with transaction.atomic():
        _state.pending = set()
        try:
            yield
            pending = _state.pending
        finally:
            _state.pending = None
        _flush(pending)


def _flush(pending: set[tuple[int, str | None]]) -> None:
    whole = {unit for unit, key in pending if key is None}
    if whole:
        refresh(whole)
    partial = {(unit, key) for unit, key in pending if key is not None and unit not in whole}
    if partial:
        refresh({unit for unit, _ in partial}, {key for _, key in partial})


def touch(unit: int | None, key: str | None = None) -> None:
    """The tally of ``unit`` for period ``key`` (every period when None) has moved."""
    if unit is None:
        return
    pending = getattr(_state, "pending", None)
    if pending is not None:
        pending.add((unit, key))
    else:
        refresh([unit], None if key is None else [key])


def _lead_unit(project_id: int | None) -> int | None:
    if project_id is None:
        return None
    return Project.objects.filter(pk=project_id).values_list("lead_unit_id", flat=True).first()


# ---------------------------------------------------------------------------------------------
# What moves a tally
# ---------------------------------------------------------------------------------------------

REPORT_FIELDS = {
    "project",
    "period_key",
    "period_start",
    "period_end",
    "deadline",
    "status",
    "investment",
    "first_submitted_at",
}
PROJECT_FIELDS = {"lead_unit", "stage", "parent"}


def _report_lead_unit(report: ProgressReport) -> int | None:
    # Read, not taken from a cached ``report.project``: that may predate a change of lead unit.
    return _lead_unit(report.project_id)


@receiver(post_save, sender=ProgressReport, dispatch_uid="tally-report-saved")
def _report_saved(sender, instance: ProgressReport, created, update_fields, raw, **kwargs):
    if raw or (update_fields and not REPORT_FIELDS & set(update_fields)):
        return
    touch(_report_lead_unit(instance), instance.period_key)


@receiver(post_delete, sender=ProgressReport, dispatch_uid="tally-report-deleted")
def _report_deleted(sender, instance: ProgressReport, **kwargs):
    touch(_report_lead_unit(instance), instance.period_key)


def _owes_reports(stage: str) -> bool:
    return stage not in NOT_REPORTING_STAGES


@receiver(pre_save, sender=Project, dispatch_uid="tally-project-before")
def _project_before(sender, instance: Project, update_fields, raw, **kwargs):
    if raw or instance.pk is None or (update_fields and not PROJECT_FIELDS & set(update_fields)):
        return
    instance._tally_before = (
        Project.objects.filter(pk=instance.pk).values_list("lead_unit_id", "stage", "parent_id")
    ).first()


@receiver(post_save, sender=Project, dispatch_uid="tally-project-saved")
def _project_saved(sender, instance: Project, created, raw, **kwargs):
    if raw:
        return
    before = instance.__dict__.pop("_tally_before", None)
    if created or before is None:
        if instance.parent_id is not None:  # the parent is now a bundle
            touch(_lead_unit(instance.parent_id))
        return
    unit, stage, parent = before
    if unit != instance.lead_unit_id:
        touch(unit)
        touch(instance.lead_unit_id)
    elif _owes_reports(stage) != _owes_reports(instance.stage):
        touch(instance.lead_unit_id)
    if parent != instance.parent_id:
        touch(_lead_unit(parent))
        touch(_lead_unit(instance.parent_id))


@receiver(post_delete, sender=Project, dispatch_uid="tally-project-deleted")
def _project_deleted(sender, instance: Project, **kwargs):
    touch(instance.lead_unit_id)
    touch(_lead_unit(instance.parent_id))


@receiver(projects_bulk_saved, dispatch_uid="tally-projects-bulk")
def _projects_bulk_saved(sender, ids, **kwargs):
    parents = Project.objects.filter(pk__in=ids, parent__isnull=False).values("parent_id")
    for unit in set(Project.objects.filter(pk__in=parents).values_list("lead_unit_id", flat=True)):
        touch(unit)


def _registration_changed(sender, instance: StageChange, raw=False, **kwargs):
    """A registration date decides which reports were owed (a new project has none yet)."""
    if raw or instance.from_stage != "":
        return
    if ProgressReport.objects.filter(project_id=instance.project_id).exists():
        touch(_lead_unit(instance.project_id))


post_save.connect(_registration_changed, sender=StageChange, dispatch_uid="tally-registered")
post_delete.connect(_registration_changed, sender=StageChange, dispatch_uid="tally-unregistered")
