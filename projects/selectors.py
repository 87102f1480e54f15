"""Reads and access rules of the projects domain.

Every access decision goes through the helpers here, so the browser, the API, the admin and the
Celery tasks all apply the same unit-scope rules: a membership's scope is its unit's subtree.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterable
from decimal import Decimal
from functools import reduce

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
    ProjectQuerySet,
    Role,
    Target,
    Unit,
    UnitKind,
    path_ids,
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


def under(paths: Iterable[str], field: str = "path") -> Q:
    """``field`` (a materialised unit path, e.g. ``"lead_unit__path"``) lies in one of the
    subtrees ``paths``: one ``LIKE '<path>%'`` each, or a condition no row meets when there is no
    path. Built without an empty seed: an always-false ``pk IN ()`` in each OR is compiled on
    every query (a third of the project list's visibility condition)."""
    conditions = [Q(**{f"{field}__startswith": path}) for path in paths]
    return reduce(operator.or_, conditions) if conditions else Q(pk__in=[])


def _subtree_q(field: str, paths: list[str]) -> Q:
    return under(paths, f"{field}__path")


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


def project_role_filter(user, roles: Iterable[str]) -> Q:
    """Projects whose lead unit the user holds one of ``roles`` over: with ``EDIT_ROLES`` the
    projects ``can_edit_project`` lets the user change, with ``SUPERVISE_ROLES`` those whose unit
    ``can_supervise`` (seeing a project as its township or a cooperating unit is not enough)."""
    if is_global(user):
        return Q()
    return _subtree_q("lead_unit", scope_paths(user, roles))


def visible_projects(user) -> ProjectQuerySet:
    """The projects ``user`` may see (``project_visibility_filter``)."""
    return Project.objects.filter(project_visibility_filter(user))


def editable_projects(user) -> ProjectQuerySet:
    """The projects the user may change (``can_edit_project``)."""
    return Project.objects.filter(project_role_filter(user, EDIT_ROLES))


def supervised_projects(user) -> ProjectQuerySet:
    """The projects whose responsible unit the user supervises (``can_supervise``): what an
    inspection by the user may visit and score, a meeting put on its agenda, an issue the user
    raises concern."""
    return Project.objects.filter(project_role_filter(user, SUPERVISE_ROLES))


def visible_units(user):
    if is_global(user):
        return Unit.objects.all()
    return Unit.objects.filter(under(scope_paths(user)))


# ---------------------------------------------------------------------------------------------
# What a write may refer to (docs/security.md, "References in writes")
# ---------------------------------------------------------------------------------------------

# The governments whose trees hold the units a project or an issue may name besides its own.
JURISDICTION_KINDS = frozenset({UnitKind.COUNTY, UnitKind.CITY})


def jurisdiction_path(unit: Unit) -> str:
    """The subtree of the government ``unit`` belongs to: the path of its nearest county or city
    (itself included), or of its tree's root when it has none. A department, a township and their
    villages belong to their county; a city's own department to the city."""
    ids = path_ids(unit.path)
    kinds = dict(Unit.objects.filter(pk__in=ids).values_list("pk", "kind"))
    kinds[unit.pk] = unit.kind
    for depth in range(len(ids), 0, -1):
        if kinds.get(ids[depth - 1]) in JURISDICTION_KINDS:
            return _path_of(ids[:depth])
    return _path_of(ids[:1])


def _path_of(ids: list[int]) -> str:
    return "/" + "".join(f"{pk}/" for pk in ids)


def jurisdiction_paths(user, roles: Iterable[str]) -> list[str] | None:
    """The jurisdictions of the units where the user holds one of ``roles`` (None: everywhere,
    for a superuser)."""
    if is_global(user):
        return None
    wanted = set(roles)
    paths = {jurisdiction_path(m.unit) for m in user_memberships(user) if m.role in wanted}
    return sorted(p for p in paths if not any(p != q and p.startswith(q) for q in paths))


def units_in(paths: list[str] | None):
    """Active units of the subtrees ``paths`` (None: all active units)."""
    units = Unit.objects.active()
    return units if paths is None else units.filter(under(paths))


def leaders_of(paths: list[str] | None):
    """Active leaders who may be named in the jurisdictions ``paths``: the leaders of a unit in
    one of them, or of a unit above it (a city's leader may lead a county's project)."""
    leaders = Leader.objects.filter(is_active=True)
    if paths is None:
        return leaders
    above: set[int] = set()
    for path in paths:
        above.update(path_ids(path)[:-1])
    return leaders.filter(_subtree_q("unit", paths) | Q(unit_id__in=sorted(above)))


def project_reference_choices(
    user, project: Project | None = None, *, lead_unit: Unit | None = None
) -> dict[str, object]:
    """What a project write may point at, by field: the form's and the API's choices, and what
    ``services.project_create``/``project_update`` accept.

    The lead unit is one the user may edit for; the parent a top-level project the user may
    edit (naming a parent makes it a bundle: its own reports stop and its totals absorb the
    sub-project's), other than the project itself; the township, cooperating units (villages
    aside) and leaders those of the lead unit's county (or city) and, for a leader, above it.
    Without ``lead_unit`` (a form before it is chosen) the jurisdictions of all the units the
    user edits for.
    """
    lead_units = Unit.objects.active()
    if not is_global(user):
        lead_units = lead_units.filter(under(scope_paths(user, EDIT_ROLES)))
    if lead_unit is not None:
        region: list[str] | None = [jurisdiction_path(lead_unit)]
    else:
        region = jurisdiction_paths(user, EDIT_ROLES)
    parents = editable_projects(user).filter(parent__isnull=True)
    if project is not None and project.pk:
        parents = parents.exclude(pk=project.pk)
    units = units_in(region)
    leaders = leaders_of(region)
    return {
        "lead_unit": lead_units,
        "township": units.filter(kind=UnitKind.TOWNSHIP),
        "cooperating_units": units.exclude(kind=UnitKind.VILLAGE),
        "lead_leader": leaders,
        "co_leaders": leaders,
        "parent": parents,
    }


def can_view_project(user, project: Project) -> bool:
    return visible_projects(user).filter(pk=project.pk).exists()


def can_edit_project(user, project: Project) -> bool:
    return has_role_over(user, project.lead_unit, EDIT_ROLES)


def can_review_reports(user, project: Project) -> bool:
    return has_role_over(user, project.lead_unit, REVIEW_ROLES)


def can_supervise(user, unit: Unit) -> bool:
    return has_role_over(user, unit, SUPERVISE_ROLES)


def duties_separated() -> bool:
    """Separation of duties (TRACKER_SEPARATE_DUTIES, on by default): whoever submits a report
    never approves or returns it, whoever reports an issue rectified never closes it."""
    return bool(settings.TRACKER_SEPARATE_DUTIES)


def is_own_submission(user, report: ProgressReport) -> bool:
    """The user submitted ``report`` and so, duties being separated, may not review it."""
    return (
        duties_separated()
        and report.submitted_by_id is not None
        and report.submitted_by_id == getattr(user, "pk", None)
    )


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
