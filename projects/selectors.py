"""Reads and access rules of the projects domain.

Every access decision goes through the helpers here, so the browser, the API, the admin and the
Celery tasks all apply the same unit-scope rules: a membership's scope is its unit's subtree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.conf import settings
from django.db.models import Max, Q, Sum
from django.utils import timezone

from projects.models import (
    CENT,
    ZERO,
    Leader,
    Membership,
    ProgressReport,
    Project,
    Role,
    Target,
    Unit,
    UnitKind,
)
from tracker import periods

EDIT_ROLES = frozenset({Role.REPORTER, Role.UNIT_HEAD, Role.SUPERVISOR, Role.ADMIN})
REVIEW_ROLES = frozenset({Role.UNIT_HEAD, Role.SUPERVISOR, Role.ADMIN})
SUPERVISE_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
ALL_ROLES = frozenset(Role)


def user_memberships(user) -> list[Membership]:
    """The user's memberships with their units, fetched once per user object."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, "_tracker_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("unit"))
        user._tracker_memberships = cached
    return cached


def forget_memberships(user) -> None:
    """Drop the per-object cache after memberships change."""
    if hasattr(user, "_tracker_memberships"):
        del user._tracker_memberships


def scope_paths(user, roles: Iterable[str] = ALL_ROLES) -> list[str]:
    wanted = set(roles)
    paths = {m.unit.path for m in user_memberships(user) if m.role in wanted}
    # A path inside another adds nothing to the scope.
    return sorted(p for p in paths if not any(p != q and p.startswith(q) for q in paths))


def is_global(user) -> bool:
    return bool(getattr(user, "is_superuser", False) and user.is_active)


def has_role_over(user, unit: Unit, roles: Iterable[str]) -> bool:
    """True when the user holds one of ``roles`` in ``unit`` or one of its ancestors."""
    if is_global(user):
        return True
    return any(unit.path.startswith(path) for path in scope_paths(user, roles))


def _subtree_q(field: str, paths: list[str]) -> Q:
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__path__startswith": path})
    return q


def project_visibility_filter(user) -> Q:
    """Projects whose lead unit, township or a cooperating unit is in the user's scope."""
    if is_global(user):
        return Q()
    paths = scope_paths(user)
    if not paths:
        return Q(pk__in=[])
    cooperating = Project.cooperating_units.through.objects.filter(
        _subtree_q("unit", paths)
    ).values("project_id")
    return _subtree_q("lead_unit", paths) | _subtree_q("township", paths) | Q(pk__in=cooperating)


def visible_units(user):
    if is_global(user):
        return Unit.objects.all()
    paths = scope_paths(user)
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(path__startswith=path)
    return Unit.objects.filter(q)


def project_reference_choices(user, project: Project | None = None) -> dict[str, object]:
    """What a project form or API write may point at, by field: the same for both.

    The lead unit is one the user may edit for; townships, cooperating units and leaders are the
    county's (naming another department as a co-unit is normal); the parent is a visible
    top-level project other than the project itself.
    """
    units = Unit.objects.active()
    if not is_global(user):
        units = units.filter(_path_q(scope_paths(user, EDIT_ROLES)))
    parents = Project.objects.visible_to(user).filter(parent__isnull=True)
    if project is not None and project.pk:
        parents = parents.exclude(pk=project.pk)
    leaders = Leader.objects.filter(is_active=True)
    return {
        "lead_unit": units,
        "township": Unit.objects.active().filter(kind=UnitKind.TOWNSHIP),
        "cooperating_units": Unit.objects.active().exclude(kind=UnitKind.VILLAGE),
        "lead_leader": leaders,
        "co_leaders": leaders,
        "parent": parents,
    }


def _path_q(paths: Iterable[str]) -> Q:
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(path__startswith=path)
    return q


def can_view_project(user, project: Project) -> bool:
    return Project.objects.filter(pk=project.pk).visible_to(user).exists()


def can_edit_project(user, project: Project) -> bool:
    return has_role_over(user, project.lead_unit, EDIT_ROLES)


def can_review_reports(user, project: Project) -> bool:
    return has_role_over(user, project.lead_unit, REVIEW_ROLES)


def can_supervise(user, unit: Unit) -> bool:
    return has_role_over(user, unit, SUPERVISE_ROLES)


# ---------------------------------------------------------------------------------------------
# Reporting periods and derived figures
# ---------------------------------------------------------------------------------------------


def report_period_kind() -> periods.PeriodKind:
    return periods.PeriodKind(settings.TRACKER_REPORT_CADENCE)


def report_deadline(period: periods.Period) -> dt.date:
    return period.end + dt.timedelta(days=settings.TRACKER_REPORT_DEADLINE_DAYS)


def due_report_period(today: dt.date) -> periods.Period:
    """The period whose report is being written now: the earliest one that has started and
    whose deadline has not passed (the previous period until its deadline, then the current)."""
    current = periods.containing(report_period_kind(), today)
    previous = current.previous()
    return previous if report_deadline(previous) >= today else current


def previous_report(project: Project, before: dt.date) -> ProgressReport | None:
    return (
        ProgressReport.objects.filter(project=project, period_start__lt=before)
        .order_by("-period_start")
        .first()
    )


def report_initial(project: Project, period: periods.Period) -> dict[str, object]:
    """Values to prefill a new report with: the texts of the last one, investment empty."""
    last = previous_report(project, period.start)
    if last is None:
        return {"investment": ZERO, "physical_progress": "", "problems": "", "next_steps": ""}
    return {
        "investment": ZERO,
        "physical_progress": last.physical_progress,
        "problems": last.problems,
        "next_steps": last.next_steps,
    }


def project_investment_totals(project: Project, as_of: dt.date) -> dict[str, Decimal]:
    """Year-to-date and cumulative completed investment up to the period containing ``as_of``.

    Derived from counted (submitted or approved) reports, plus what was completed before
    tracking began; a bundle's figures are those of its sub-projects. Never typed twice.
    """
    year_start = dt.date(as_of.year, 1, 1)
    own_or_sub = Q(project=project) | Q(project__parent=project)
    totals = (
        ProgressReport.objects.counted()
        .filter(own_or_sub, period_start__lte=as_of)
        .aggregate(
            cumulative=Sum("investment"),
            year_to_date=Sum("investment", filter=Q(period_start__gte=year_start)),
        )
    )
    prior = Project.objects.filter(Q(pk=project.pk) | Q(parent=project)).aggregate(
        prior=Sum("prior_investment")
    )["prior"]
    return {
        "cumulative": _cents((totals["cumulative"] or ZERO) + (prior or ZERO)),
        "year_to_date": _cents(totals["year_to_date"] or ZERO),
    }


def _cents(value: Decimal) -> Decimal:
    # SQLite sums decimals as floats; round to the stored precision on every backend.
    return Decimal(value).quantize(CENT)


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in the county's time zone."""
    return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def targets_as_of(year: int, day: dt.date):
    """The year's targets as they stood at the end of ``day``: for each target, its latest
    history record by then (a target set later, or deleted by then, is not there).

    Rankings of a past period and a past day's dashboard read these, so a target reported
    after the period does not change it (docs/rankings.md). Target rows carry their history
    (django-simple-history); writing targets without it (``QuerySet.update``, raw SQL) would
    hide the change here.
    """
    history = Target.history.model.objects
    latest = (
        history.filter(year=year, history_date__lt=end_of_day(day))
        .values("id")
        .annotate(last=Max("history_id"))
        .values("last")
    )
    return history.filter(history_id__in=latest).exclude(history_type="-")
