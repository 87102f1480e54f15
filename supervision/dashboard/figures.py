"""The leaders' dashboard (驾驶舱): the figures the speeches quote, for a unit's scope on a day.

A unit's scope is the projects its subtree leads (the rule the rankings use). Figures are
computed for every unit of a subtree at once: about fifteen grouped queries (``GROUP BY`` lead
unit and one dimension, a few thousand rows at most) whose rows are summed up the unit tree in
memory. Nothing loops over projects or reports in Python. The result is stored as one
``DashboardSnapshot`` row per unit and day, which the page, the API and the Excel export read:
one number everywhere.

Rules, as of the chosen day D in year Y:
- projects: registered by D (their first stage change), not bundles (a bundle's figures are its
  sub-projects'), not cancelled by D;
- "through": the last reporting period of Y that ended by D; year-to-date investment is what the
  counted (submitted or approved) reports of Y's periods up to it add up to; the elapsed share of
  the year (序时进度) is taken at its end, so both sides cover the same days; the same period last
  year ends on the same calendar day of Y-1;
- started: moved to 在建, 竣工 or 运营 by D; completed: moved to 竣工 or 运营 by D;
- lights: the worst alert open on D (the alert scan's history);
- issues: the ledger's current state, overdue when their deadline was before D;
- targets: what units report against their annual targets (the ranking metrics read the same).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Count,
    DateField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import ExtractMonth
from django.utils import timezone

from projects.models import (
    COUNTED_REPORT_STATUSES,
    STARTED_STAGES,
    Category,
    ProgressReport,
    Project,
    ProjectLevel,
    ProjectYearPlan,
    Source,
    Stage,
    StageChange,
    Target,
    TargetMetric,
    Tier,
    Unit,
    bundle_ids,
    path_ids,
)
from projects.selectors import report_period_kind, targets_as_of
from supervision.models import Alert, AlertLevel, DashboardSnapshot, EscalationLevel, Issue
from tracker import periods
from tracker.cache import hit

ZERO = Decimal(0)
HUNDRED = Decimal(100)
ONE_DECIMAL = Decimal("0.1")
CENT = Decimal("0.01")
COMPLETED_STAGES = [Stage.COMPLETED, Stage.OPERATING]
# 亿元以上 and 5000万以上, in 万元.
SIZE_BANDS = {"over_100m": Decimal(10000), "over_50m": Decimal(5000)}

Totals = dict[int, dict[tuple, Decimal]]  # unit id → {(group, key, measure): amount}


def share(part, whole) -> Decimal | None:
    """A percentage rounded half-up to one decimal, or None when there is nothing to divide."""
    part, whole = Decimal(part or 0), Decimal(whole or 0)
    if not whole:
        return None
    return (part * HUNDRED / whole).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def through_period(day: dt.date) -> periods.Period | None:
    """The last reporting period of ``day``'s year that has ended by ``day``."""
    period = periods.containing(report_period_kind(), day)
    if period.end != day:
        period = period.previous()
    return period if period.end.year == day.year else None


def _same_day_last_year(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


# ---------------------------------------------------------------------------------------------
# The grouped queries
# ---------------------------------------------------------------------------------------------


def _base_projects(day: dt.date, root: Unit | None):
    registered = StageChange.objects.filter(
        project=OuterRef("pk"), from_stage="", changed_on__lte=day
    )
    cancelled = StageChange.objects.filter(
        project=OuterRef("pk"), to_stage=Stage.CANCELLED, changed_on__lte=day
    )
    projects = (
        Project.objects.filter(Exists(registered))
        .exclude(Exists(cancelled))
        .exclude(pk__in=bundle_ids())
    )
    if root is not None:
        projects = projects.filter(lead_unit__path__startswith=root.path)
    return projects


def _stage_reached(stages, day: dt.date) -> Exists:
    return Exists(
        StageChange.objects.filter(project=OuterRef("pk"), to_stage__in=stages, changed_on__lte=day)
    )


def _alert_open(level: str, day: dt.date) -> Exists:
    return Exists(
        Alert.objects.filter(project=OuterRef("pk"), level=level, opened_at__date__lte=day).filter(
            Q(resolved_at__isnull=True) | Q(resolved_at__date__gt=day)
        )
    )


def _add(totals: Totals, rows: Iterable[dict], group: str, key_field: str | None, measures):
    for row in rows:
        unit = row["lead_unit_id"]
        key = row[key_field] if key_field else ""
        bucket = totals[unit]
        for measure in measures:
            bucket[(group, key, measure)] += Decimal(row[measure] or 0)


def _project_facts(day: dt.date, root: Unit | None, totals: Totals) -> None:
    projects = _base_projects(day, root)
    big, middle = SIZE_BANDS["over_100m"], SIZE_BANDS["over_50m"]
    # Everything counted per lead unit in one pass.
    rows = (
        projects.annotate(
            is_started=_stage_reached(STARTED_STAGES, day),
            is_completed=_stage_reached(COMPLETED_STAGES, day),
            is_signed=_stage_reached(
                [Stage.SIGNED, Stage.RESERVE, Stage.PREPARING, *STARTED_STAGES], day
            ),
            is_producing=_stage_reached([Stage.OPERATING], day),
            is_red=_alert_open(AlertLevel.RED, day),
            is_yellow=_alert_open(AlertLevel.YELLOW, day),
        )
        .values("lead_unit_id")
        .annotate(
            count=Count("pk"),
            total=Sum("total_investment"),
            private_count=Count("pk", filter=Q(is_private=True)),
            private_total=Sum("total_investment", filter=Q(is_private=True)),
            over_100m_count=Count("pk", filter=Q(total_investment__gte=big)),
            over_100m_total=Sum("total_investment", filter=Q(total_investment__gte=big)),
            over_50m_count=Count("pk", filter=Q(total_investment__gte=middle)),
            over_50m_total=Sum("total_investment", filter=Q(total_investment__gte=middle)),
            started=Count("pk", filter=Q(is_started=True)),
            completed=Count("pk", filter=Q(is_completed=True)),
            red=Count("pk", filter=Q(is_red=True)),
            yellow=Count("pk", filter=Q(is_red=False, is_yellow=True)),
            funnel_signed=Count("pk", filter=Q(source=Source.ATTRACTION, is_signed=True)),
            funnel_started=Count("pk", filter=Q(source=Source.ATTRACTION, is_started=True)),
            funnel_producing=Count("pk", filter=Q(source=Source.ATTRACTION, is_producing=True)),
        )
        .order_by()
    )
    measures = [
        "count",
        "total",
        "private_count",
        "private_total",
        "over_100m_count",
        "over_100m_total",
        "over_50m_count",
        "over_50m_total",
        "started",
        "completed",
        "red",
        "yellow",
        "funnel_signed",
        "funnel_started",
        "funnel_producing",
    ]
    _add(totals, rows, "all", None, measures)
    # Breakdowns: one GROUP BY (lead unit, dimension) each.
    for group, field in (
        ("category", "category"),
        ("tier", "tier"),
        ("level", "level"),
        ("township", "township_id"),
    ):
        rows = (
            projects.values("lead_unit_id", field)
            .annotate(count=Count("pk"), total=Sum("total_investment"))
            .order_by()
        )
        _add(totals, rows, group, field, ["count", "total"])

    # The attraction funnel's days: histograms (days → projects), merged up the tree.
    def first(stages) -> Subquery:
        return Subquery(
            StageChange.objects.filter(
                project=OuterRef("pk"), to_stage__in=stages, changed_on__lte=day
            )
            .order_by("changed_on")
            .values("changed_on")[:1],
            output_field=DateField(),
        )

    attraction = projects.filter(source=Source.ATTRACTION).annotate(
        signed_on=first([Stage.SIGNED, Stage.RESERVE, Stage.PREPARING]),
        started_on=first(STARTED_STAGES),
        producing_on=first([Stage.OPERATING]),
    )
    for group, later, earlier in (
        ("days_sign_start", "started_on", "signed_on"),
        ("days_start_produce", "producing_on", "started_on"),
    ):
        rows = (
            attraction.filter(**{f"{later}__isnull": False, f"{earlier}__isnull": False})
            .annotate(days=ExpressionWrapper(F(later) - F(earlier), output_field=DurationField()))
            .values("lead_unit_id", "days")
            .annotate(count=Count("pk"))
            .order_by()
        )
        for row in rows:
            if row["days"] is not None and row["days"].days >= 0:
                totals[row["lead_unit_id"]][(group, row["days"].days, "count")] += row["count"]


def _plan_facts(day: dt.date, root: Unit | None, totals: Totals) -> None:
    plans = ProjectYearPlan.objects.filter(
        year=day.year, project__in=_base_projects(day, root).values("pk")
    )
    for group, field in (
        ("all", None),
        ("category", "project__category"),
        ("township", "project__township_id"),
    ):
        fields = ["project__lead_unit_id", *([field] if field else [])]
        rows = plans.values(*fields).annotate(plan=Sum("planned_investment")).order_by()
        rows = ({**r, "lead_unit_id": r["project__lead_unit_id"]} for r in rows)
        _add(totals, rows, group, field, ["plan"])


def _report_facts(day: dt.date, root: Unit | None, totals: Totals) -> None:
    through = through_period(day)
    projects = _base_projects(day, root).values("pk")
    counted = ProgressReport.objects.filter(
        status__in=COUNTED_REPORT_STATUSES, project__in=projects
    )
    if through is not None:
        this_year = counted.filter(
            period_start__gte=dt.date(day.year, 1, 1), period_end__lte=through.end
        )
        for group, field in (
            ("month", "month"),
            ("category", "project__category"),
            ("township", "project__township_id"),
        ):
            reports = (
                this_year.annotate(month=ExtractMonth("period_end"))
                if field == "month"
                else this_year
            )
            rows = (
                reports.values("project__lead_unit_id", field)
                .annotate(ytd=Sum("investment"))
                .order_by()
            )
            rows = ({**r, "lead_unit_id": r["project__lead_unit_id"]} for r in rows)
            _add(totals, rows, group, field, ["ytd"])
        cutoff = _same_day_last_year(through.end)
        last_year = counted.filter(
            period_start__gte=dt.date(day.year - 1, 1, 1), period_end__lte=cutoff
        )
        rows = (
            last_year.annotate(month=ExtractMonth("period_end"))
            .values("project__lead_unit_id", "month")
            .annotate(last=Sum("investment"), last_reports=Count("pk"))
            .order_by()
        )
        rows = ({**r, "lead_unit_id": r["project__lead_unit_id"]} for r in rows)
        _add(totals, rows, "month", "month", ["last", "last_reports"])


def _unit_facts(day: dt.date, root: Unit | None, totals: Totals) -> None:
    """Targets and ledger issues belong to units, not projects."""
    targets = targets_as_of(day.year, day)  # a past day shows the targets as they stood
    issues = Issue.objects.overdue_on(day)
    if root is not None:
        targets = targets.filter(unit__path__startswith=root.path)
        issues = issues.filter(unit__path__startswith=root.path)
    rows = (
        targets.values("unit_id", "metric")
        .annotate(target=Sum("target_value"), actual=Sum("actual_value"))
        .order_by()
    )
    for row in rows:
        bucket = totals[row["unit_id"]]
        bucket[("target", row["metric"], "target")] += Decimal(row["target"] or 0)
        bucket[("target", row["metric"], "actual")] += Decimal(row["actual"] or 0)
    for row in issues.values("unit_id", "level").annotate(count=Count("pk")).order_by():
        totals[row["unit_id"]][("issues", row["level"], "count")] += row["count"]


# ---------------------------------------------------------------------------------------------
# Rolling up and assembling
# ---------------------------------------------------------------------------------------------


def _ancestors(path: str) -> list[int]:
    return path_ids(path)


def _median(histogram: dict[int, Decimal]) -> Decimal | None:
    total = sum(histogram.values())
    if not total:
        return None
    ordered = sorted(histogram.items())

    def nth(n: int) -> int:  # 0-based
        seen = 0
        for days, count in ordered:
            seen += int(count)
            if n < seen:
                return days
        return ordered[-1][0]

    total = int(total)
    if total % 2:
        return Decimal(nth(total // 2))
    return (Decimal(nth(total // 2 - 1) + nth(total // 2)) / 2).quantize(ONE_DECIMAL)


def _assemble(
    unit: dict,
    day: dt.date,
    own: dict,
    children: list[dict],
    child_totals: dict[int, dict],
    names: dict[int, str],
    zero_units: list[dict],
) -> dict:
    through = through_period(day)
    elapsed = (
        (Decimal(str(periods.elapsed_share_of_year(through.end))) * HUNDRED).quantize(
            ONE_DECIMAL, rounding=ROUND_HALF_UP
        )
        if through
        else ZERO
    )
    count = own.get(("all", "", "count"), ZERO)
    total = own.get(("all", "", "total"), ZERO)
    plan = own.get(("all", "", "plan"), ZERO)
    months = range(1, (through.end.month if through else 0) + 1)
    ytd = sum((own.get(("month", m, "ytd"), ZERO) for m in months), ZERO)
    last = sum((own.get(("month", m, "last"), ZERO) for m in months), ZERO)
    # A scope with no report at all last year (new on the platform) has no figure to compare.
    has_last = any(own.get(("month", m, "last_reports")) for m in months)
    ytd_share = share(ytd, plan)
    started = own.get(("all", "", "started"), ZERO)
    completed = own.get(("all", "", "completed"), ZERO)

    def breakdown(group: str, keys: list, extra: tuple[str, ...] = ()) -> list[dict]:
        rows = []
        for key in keys:
            n = own.get((group, key, "count"), ZERO)
            if not n:
                continue
            row = {
                "key": key,
                "count": int(n),
                "share": share(n, count),
                "total_investment": _money(own.get((group, key, "total"))),
            }
            for measure in extra:
                row[measure] = _money(own.get((group, key, measure)))
            rows.append(row)
        return rows

    # Largest annual plan first (then total investment, then name): the chart shows the head.
    townships = sorted(
        {key for (group, key, _m) in own if group == "township" and key is not None},
        key=lambda pk: (
            -own.get(("township", pk, "plan"), ZERO),
            -own.get(("township", pk, "total"), ZERO),
            names.get(pk, ""),
        ),
    )
    by_township = breakdown("township", townships, ("plan", "ytd"))
    for row in by_township:
        row["name"] = names.get(row["key"], "")
    no_township = own.get(("township", None, "count"), ZERO)

    cumulative, cumulative_last, monthly = ZERO, ZERO, []
    for m in months:
        cumulative += own.get(("month", m, "ytd"), ZERO)
        cumulative_last += own.get(("month", m, "last"), ZERO)
        month_end = periods.containing(periods.PeriodKind.MONTH, dt.date(day.year, m, 1)).end
        schedule = plan * Decimal(str(periods.elapsed_share_of_year(min(month_end, through.end))))
        monthly.append(
            {
                "month": m,
                "ytd": _money(cumulative),
                "schedule": _money(schedule),
                "last_year": _money(cumulative_last) if has_last else None,
            }
        )

    signed = own.get(("all", "", "funnel_signed"), ZERO)
    funnel_started = own.get(("all", "", "funnel_started"), ZERO)
    producing = own.get(("all", "", "funnel_producing"), ZERO)

    def histogram(group: str) -> dict[int, Decimal]:
        return {key: amount for (g, key, _m), amount in own.items() if g == group}

    def target_pair(totals: dict, metric: str) -> tuple[Decimal, Decimal]:
        return (
            totals.get(("target", metric, "target"), ZERO),
            totals.get(("target", metric, "actual"), ZERO),
        )

    funding_target, funding_actual = target_pair(own, TargetMetric.FUNDING)
    by_unit = []
    for child in children:
        target, actual = target_pair(child_totals.get(child["id"], {}), TargetMetric.FUNDING)
        if target or actual:
            by_unit.append(
                {
                    "id": child["id"],
                    "name": child["name"],
                    "target": _money(target),
                    "actual": _money(actual),
                    "rate": share(actual, target),
                }
            )
    overdue = [
        {"level": level.value, "count": int(own.get(("issues", level.value, "count"), ZERO))}
        for level in EscalationLevel
    ]
    red = own.get(("all", "", "red"), ZERO)
    yellow = own.get(("all", "", "yellow"), ZERO)
    return {
        "unit": unit,
        "date": day,
        "year": day.year,
        "through": through.end if through else None,
        "through_key": through.key if through else None,
        "projects": {"count": int(count), "total_investment": _money(total)},
        "investment": {
            "plan": _money(plan),
            "ytd": _money(ytd),
            "ytd_share": ytd_share,
            "elapsed_share": elapsed,
            "gap": (ytd_share - elapsed) if ytd_share is not None else None,
            "last_year_ytd": _money(last) if has_last else None,
            "growth": share(ytd - last, last) if has_last else None,
        },
        "progress": {
            "started": int(started),
            "not_started": int(count - started),
            "completed": int(completed),
            "started_share": share(started, count),
            "completed_share": share(completed, count),
        },
        "by_category": breakdown("category", list(Category.values), ("plan", "ytd")),
        "by_tier": breakdown("tier", [*Tier.values, ""]),
        "by_level": breakdown("level", list(ProjectLevel.values)),
        "by_township": by_township,
        "without_township": int(no_township),
        "size": {
            band: {
                "count": int(own.get(("all", "", f"{band}_count"), ZERO)),
                "share": share(own.get(("all", "", f"{band}_count")), count),
                "total_investment": _money(own.get(("all", "", f"{band}_total"))),
            }
            for band in SIZE_BANDS
        },
        "private": {
            "count": int(own.get(("all", "", "private_count"), ZERO)),
            "total_investment": _money(own.get(("all", "", "private_total"))),
            "share": share(own.get(("all", "", "private_total")), total),
        },
        "funnel": {
            "signed": int(signed),
            "started": int(funnel_started),
            "producing": int(producing),
            "start_rate": share(funnel_started, signed),
            "produce_rate": share(producing, funnel_started),
            "median_days_to_start": _median(histogram("days_sign_start")),
            "median_days_to_produce": _median(histogram("days_start_produce")),
        },
        "funding": {
            "target": _money(funding_target),
            "actual": _money(funding_actual),
            "rate": share(funding_actual, funding_target),
            "by_unit": by_unit,
        },
        "targets_at_zero": zero_units,
        "lights": {
            "red": int(red),
            "yellow": int(yellow),
            "green": int(count - red - yellow),
        },
        "issues": {
            "overdue": sum(row["count"] for row in overdue),
            "by_level": overdue,
        },
        "monthly": monthly,
    }


def compute(day: dt.date, root: Unit | None = None) -> dict[int, dict]:  # noqa: C901
    """The figures of every unit in ``root``'s subtree (every unit when None) on ``day``."""
    units = Unit.objects.order_by("sort_order", "path")
    if root is not None:
        units = units.filter(path__startswith=root.path)
    unit_rows = list(units.values("id", "name", "short_name", "path", "parent_id", "kind"))
    names = {row["id"]: row["short_name"] or row["name"] for row in unit_rows}
    leaf: Totals = defaultdict(lambda: defaultdict(lambda: ZERO))
    _project_facts(day, root, leaf)
    _plan_facts(day, root, leaf)
    _report_facts(day, root, leaf)
    _unit_facts(day, root, leaf)
    if root is not None:
        # Township names for the breakdown (townships may sit outside the subtree).
        township_ids = {
            key for figures in leaf.values() for (g, key, _m) in figures if g == "township" and key
        }
        names.update(Unit.objects.filter(pk__in=township_ids).values_list("id", "name"))
    wanted = {row["id"] for row in unit_rows}
    rolled: Totals = defaultdict(lambda: defaultdict(lambda: ZERO))
    paths = {row["id"]: row["path"] for row in unit_rows}
    for unit_id, figures in leaf.items():
        if unit_id not in paths:
            continue
        for ancestor in _ancestors(paths[unit_id]):
            if ancestor not in wanted:
                continue
            target = rolled[ancestor]
            for key, amount in figures.items():
                target[key] += amount
    children: dict[int, list[dict]] = defaultdict(list)
    for row in unit_rows:
        if row["parent_id"] in wanted:
            children[row["parent_id"]].append({"id": row["id"], "name": names[row["id"]]})
    # 未破零: units of the subtree with a target above zero and nothing to show for it.
    zero_by_ancestor: dict[int, list[dict]] = defaultdict(list)
    for unit_id, figures in leaf.items():
        if unit_id not in paths:
            continue
        for (group, metric, measure), amount in figures.items():
            if (
                group == "target"
                and measure == "target"
                and amount > 0
                and not figures.get((group, metric, "actual"))
            ):
                entry = {"id": unit_id, "name": names[unit_id], "metric": metric}
                for ancestor in _ancestors(paths[unit_id]):
                    if ancestor in wanted:
                        zero_by_ancestor[ancestor].append(entry)
    result = {}
    for row in unit_rows:
        unit = {"id": row["id"], "name": names[row["id"]], "kind": row["kind"]}
        result[row["id"]] = _assemble(
            unit,
            day,
            rolled.get(row["id"], {}),
            children.get(row["id"], []),
            rolled,
            names,
            zero_by_ancestor.get(row["id"], []),
        )
    return result


@transaction.atomic
def refresh(day: dt.date, root: Unit | None = None) -> int:
    """Compute and store the snapshots of ``root``'s subtree (every unit when None) for ``day``;
    idempotent (one row per unit and day, replaced)."""
    figures = compute(day, root)
    now = timezone.now()
    rows = [
        DashboardSnapshot(unit_id=unit_id, date=day, data=data, computed_at=now)
        for unit_id, data in figures.items()
    ]
    DashboardSnapshot.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["unit", "date"],
        update_fields=["data", "computed_at"],
    )
    return len(rows)


# ---------------------------------------------------------------------------------------------
# Computing on demand, bounded
# ---------------------------------------------------------------------------------------------


class NoDataYet(Exception):
    """The day is before anything the unit's figures count: there is nothing to compute."""

    def __init__(self, unit: Unit, first_day: dt.date | None):
        super().__init__(unit, first_day)
        self.unit = unit
        self.first_day = first_day


class TooManyComputations(Exception):
    """The user's budget of figures computed on demand is spent for now."""

    def __init__(self, wait: int):
        super().__init__(wait)
        self.wait = wait


def data_since(unit: Unit) -> dt.date | None:
    """The first day the unit's figures can differ from nothing: the earliest registration of a
    project its subtree leads, target set for its subtree, or day after an issue's deadline
    (overdue issues count from then). None when the platform holds none of these. Three
    aggregate queries, on the cold path only."""
    registered = StageChange.objects.filter(
        from_stage="", project__lead_unit__path__startswith=unit.path
    ).aggregate(first=Min("changed_on"))["first"]
    targets = Target.history.model.objects.filter(unit__path__startswith=unit.path).aggregate(
        first=Min("history_date")
    )["first"]
    deadlines = Issue.objects.filter(unit__path__startswith=unit.path).aggregate(
        first=Min("deadline")
    )["first"]
    candidates = [
        registered,
        timezone.localdate(targets) if targets else None,
        deadlines + dt.timedelta(days=1) if deadlines else None,
    ]
    days = [day for day in candidates if day is not None]
    return min(days) if days else None


def _may_compute_now(user) -> None:
    allowed, wait = hit(
        f"dashboard-compute:{user.pk}",
        settings.TRACKER_DASHBOARD_COMPUTATIONS_PER_MINUTE,
        60,
    )
    if not allowed:
        raise TooManyComputations(max(1, math.ceil(wait)))


def _check_has_data(unit: Unit, day: dt.date) -> None:
    if day < timezone.localdate():
        first_day = data_since(unit)
        if first_day is None or day < first_day:
            raise NoDataYet(unit, first_day)


def recompute_for(user, day: dt.date, unit: Unit) -> int:
    """``refresh`` asked for by a person ("recompute now"): only from the first day the unit
    has data (NoDataYet), and within their budget (TooManyComputations)."""
    _check_has_data(unit, day)
    _may_compute_now(user)
    return refresh(day, unit)


def snapshot_for(unit: Unit, day: dt.date, *, user=None) -> DashboardSnapshot:
    """The stored figures, computed for the unit's subtree first when the day has none.

    Today's figures are computed on a first view (the nightly job usually has). A past day is
    computed only from the first day the unit has data (NoDataYet before it: nothing computed,
    nothing stored) and, when a person asks, within their budget (TooManyComputations); a day
    already stored is always shown.
    """
    snapshot = DashboardSnapshot.objects.filter(unit=unit, date=day).first()
    if snapshot is not None:
        return snapshot
    if day < timezone.localdate():
        _check_has_data(unit, day)
        if user is not None:
            _may_compute_now(user)
    refresh(day, unit)
    return DashboardSnapshot.objects.get(unit=unit, date=day)
