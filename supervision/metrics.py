"""The ranking metric registry.

Every metric measures the children of a scheme's unit over one period with set-based queries:
the database aggregates per *lead unit* (``GROUP BY lead_unit_id``; a few thousand rows at most),
and the figures are rolled up to the ranked children in memory through the unit tree. No metric
loops over projects, milestones or reports in Python.

Queries are cached per computation run (``Facts``), so several schemes and metrics asking for the
same figures of the same period share one query.

A unit counts the projects it (or a unit below it) leads. When a scheme gives cooperating units a
weight ``w > 0``, a unit also counts ``w`` times the figures of the projects it cooperates on.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, Exists, F, OuterRef, Q, Sum

from projects.models import (
    NOT_REPORTING_STAGES,
    Light,
    Milestone,
    Project,
    ProjectYearPlan,
    ReportTally,
    Stage,
    StageChange,
    TargetMetric,
    Unit,
    bundle_ids,
)
from projects.selectors import report_deadline, report_period_kind, targets_as_of
from projects.tallies import report_figures
from supervision.catalogue import METRIC_SPECS, MetricSpec, spec_fields
from supervision.models import InspectionScore, Issue, IssueStatus
from tracker import periods

HUNDRED = Decimal(100)
ZERO = Decimal(0)
Figures = dict[int, dict[str, Decimal]]  # lead unit id → {name: amount}


def _d(value) -> Decimal:
    return Decimal(value or 0)


def _pct(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    if not denominator:
        return None
    return (numerator * HUNDRED / denominator).quantize(Decimal("0.01"))


# ---------------------------------------------------------------------------------------------
# Facts: grouped queries, one per (question, period), cached for the run
# ---------------------------------------------------------------------------------------------


def _grouped(queryset, unit_field: str, **aggregates) -> Figures:
    rows = queryset.values(unit_field).annotate(**aggregates).order_by()
    return {
        row[unit_field]: {name: _d(row[name]) for name in aggregates}
        for row in rows
        if row[unit_field] is not None
    }


def _reporting_q(p: str) -> Q:
    """Projects (reached through ``p``) that owe reports: not a bundle, not operating or
    cancelled."""
    return ~Q(**{f"{p}stage__in": NOT_REPORTING_STAGES}) & ~Q(**{f"{p}pk__in": bundle_ids()})


def _owing(rounds: list[periods.Period], via: str) -> dict[str, Figures]:
    """Per round: the projects registered by its end that still report, by unit."""
    p = "project__" if via == "co" else ""  # the through table reaches projects by "project"
    base = Project.cooperating_units.through.objects if via == "co" else Project.objects
    unit_field = "unit_id" if via == "co" else "lead_unit_id"
    owing = _grouped(
        base.filter(_reporting_q(p), **{f"{p}stage_changes__from_stage": ""}),
        unit_field,
        **{
            r.key: Count("pk", filter=Q(**{f"{p}stage_changes__changed_on__lte": r.end}))
            for r in rounds
        },
    )
    keys = [r.key for r in rounds]
    return {key: {unit: {"owing": counts[key]} for unit, counts in owing.items()} for key in keys}


ReportRows = dict[str, dict[int, tuple]]  # period key → unit → (amount, on_time, unowed)


def _report_rows(via: str, *, keys: list[str] | None = None, year: int = 0, end=None) -> ReportRows:
    """The reports of the periods ``keys``, or of the complete periods between 1 January of
    ``year`` and ``end``, grouped by unit and period: the counted investment, the reports first
    submitted by their deadline, and the reports of projects that did not owe one (they add to
    what was due).

    By lead unit these are the report tallies (``projects.tallies``: one row per unit and
    period, kept with the reports); by cooperating unit, one grouped scan of the reports."""
    if keys is not None:
        filters = {"period_key__in": keys}
    else:
        filters = {"period_start__gte": dt.date(year, 1, 1), "period_end__lte": end}
    if via == "lead":
        rows = ReportTally.objects.filter(**filters).values_list(
            "unit_id", "period_key", "investment", "on_time", "unowed"
        )
    else:
        rows = (
            (unit, key, amount, on_time, unowed)
            for unit, key, _start, _end, amount, on_time, unowed in report_figures(via, **filters)
        )
    result: ReportRows = {}
    for unit, key, amount, on_time, unowed in rows:
        # (amount, on time, unowed): a tuple per unit and period keeps a province's groups small
        result.setdefault(key, {})[unit] = (amount or ZERO, on_time, unowed)
    return result


@dataclass
class Facts:
    """Per-run cache of grouped queries; ``queries`` counts what actually ran."""

    cache: dict[tuple, Figures] = field(default_factory=dict)
    # Roll-ups of cached figures to ranked children (``Context.roll_up``): they hold the ids
    # of the figures they sum, which live as long as ``cache``.
    rolled: dict[tuple, dict] = field(default_factory=dict)
    units: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    queries: int = 0

    def get(self, key: tuple, compute: Callable[[], Figures]) -> Figures:
        if key not in self.cache:
            self.queries += 1
            self.cache[key] = compute()
        return self.cache[key]

    # --- investment -----------------------------------------------------------------------

    def reports(self, year: int, end: dt.date, via: str) -> ReportRows:
        """The year's reports up to ``end``, by period and unit (``_report_rows``)."""
        return self.get(("reports", year, end, via), lambda: _report_rows(via, year=year, end=end))

    def year_to_date_investment(self, end: dt.date, via: str) -> Figures:
        """Counted reports of the complete periods between 1 January and ``end``."""

        def compute() -> Figures:
            totals: Figures = {}
            for by_unit in self.reports(end.year, end, via).values():
                for unit, figures in by_unit.items():
                    totals.setdefault(unit, {"amount": ZERO})["amount"] += figures[0]
            return totals

        key = ("ytd", end, via)
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def annual_plan(self, year: int, via: str) -> Figures:
        """Planned investment of the year; a bundle's own plan is left out (its sub-projects
        carry the figures)."""

        def compute() -> Figures:
            plans = ProjectYearPlan.objects.filter(year=year).exclude(project__in=bundle_ids())
            if via == "lead":
                return _grouped(plans, "project__lead_unit_id", amount=Sum("planned_investment"))
            through = Project.cooperating_units.through.objects.filter(
                project__year_plans__in=plans
            )
            return _grouped(
                through, "unit_id", amount=Sum("project__year_plans__planned_investment")
            )

        return self.get(("plan", year, via), compute)

    # --- starts ---------------------------------------------------------------------------

    def starts(self, end: dt.date, via: str) -> Figures:
        """Projects due to start in [1 Jan, end] by their year plan, and those of them started
        (moved to 在建) by ``end``."""

        def compute() -> Figures:
            started = StageChange.objects.filter(
                project=OuterRef("pk"), to_stage=Stage.UNDER_CONSTRUCTION, changed_on__lte=end
            )
            due = ProjectYearPlan.objects.filter(
                year=end.year,
                planned_start__gte=dt.date(end.year, 1, 1),
                planned_start__lte=end,
            ).values("project_id")
            projects = (
                Project.objects.filter(pk__in=due)
                .exclude(pk__in=bundle_ids())
                .exclude(stage=Stage.CANCELLED)
                .annotate(is_started=Exists(started))
            )
            aggregates = {"due": Count("pk"), "started": Count("pk", filter=Q(is_started=True))}
            if via == "lead":
                return _grouped(projects, "lead_unit_id", **aggregates)
            through = Project.cooperating_units.through.objects.filter(
                project__in=projects.filter(is_started=True)
            )
            started_by = _grouped(through, "unit_id", started=Count("pk"))
            due_by = _grouped(
                Project.cooperating_units.through.objects.filter(project__in=projects),
                "unit_id",
                due=Count("pk"),
            )
            return {
                unit: {
                    "due": due_by[unit]["due"],
                    "started": started_by.get(unit, {}).get("started", ZERO),
                }
                for unit in due_by
            }

        return self.get(("starts", end, via), compute)

    # --- milestones -----------------------------------------------------------------------

    def milestones(self, end: dt.date, via: str) -> Figures:
        """Milestones due in [1 Jan, end] and those of them done by their due date."""

        def compute() -> Figures:
            due = Milestone.objects.filter(
                due_date__gte=dt.date(end.year, 1, 1), due_date__lte=end
            ).exclude(project__stage=Stage.CANCELLED)
            on_time = Q(done_date__isnull=False, done_date__lte=F("due_date"))
            if via == "lead":
                return _grouped(
                    due,
                    "project__lead_unit_id",
                    due=Count("pk"),
                    on_time=Count("pk", filter=on_time),
                )
            through = Project.cooperating_units.through.objects.filter(project__milestones__in=due)
            prefixed = Q(
                project__milestones__done_date__isnull=False,
                project__milestones__done_date__lte=F("project__milestones__due_date"),
            )
            return _grouped(
                through, "unit_id", due=Count("pk"), on_time=Count("pk", filter=prefixed)
            )

        return self.get(("milestones", end, via), compute)

    # --- report timeliness ----------------------------------------------------------------

    def timeliness(
        self, rounds: list[periods.Period], end: dt.date, via: str
    ) -> dict[str, Figures]:
        """Per reporting round: projects that owed a report (``due``) and those whose report
        was first submitted by its deadline (``on_time``).

        A project owes a report when it was registered by the round's end and still reports
        (not a bundle, not operating or cancelled); a project that did report counts as owing.
        The reports come from the year's scan (``reports``) when the round is in the year of
        ``end``; earlier rounds (a January ranking judges December's reports) are read apart.
        """
        key = ("timeliness", tuple(r.key for r in rounds), end, via)
        if key not in self.cache:
            self.cache[key] = self._timeliness(rounds, end, via)
        return self.cache[key]

    def _timeliness(
        self, rounds: list[periods.Period], end: dt.date, via: str
    ) -> dict[str, Figures]:
        missing = [r for r in rounds if ("owing", r.key, via) not in self.cache]
        if missing:
            # Every round of the year up to the last one asked, in one query: the other
            # schemes of the run ask for some of them (a quarter judges three months).
            first = min(missing[0].start, dt.date(end.year, 1, 1))
            batch = list(periods.iter_between(missing[0].kind, first, missing[-1].start))
            self.queries += 1
            for round_key, figures in _owing(batch, via).items():
                self.cache.setdefault(("owing", round_key, via), figures)
        owing = {r.key: self.cache[("owing", r.key, via)] for r in rounds}
        rows = dict(self.reports(end.year, end, via))
        earlier = [r.key for r in rounds if r.start.year != end.year]
        if earlier:
            rows.update(
                self.get(
                    ("report-keys", tuple(earlier), via),
                    lambda: _report_rows(via, keys=earlier),
                )
            )
        result: dict[str, Figures] = {}
        for round_ in rounds:
            figures: Figures = {}
            for unit, counts in owing[round_.key].items():
                figures[unit] = {"due": counts["owing"], "on_time": ZERO}
            for unit, counts in rows.get(round_.key, {}).items():
                entry = figures.setdefault(unit, {"due": ZERO, "on_time": ZERO})
                entry["due"] += counts[2]
                entry["on_time"] += counts[1]
            result[round_.key] = figures
        return result

    # --- targets and red cards --------------------------------------------------------------

    def targets(self, as_of: dt.date) -> dict[int, dict[str, Decimal]]:
        """Per unit: ``<metric>:target`` and ``<metric>:actual`` for every target metric of
        the year of ``as_of``, as they stood at the end of that day (the targets' history), so a
        period computed late is not judged on what was reported after it."""

        def compute() -> Figures:
            aggregates = {}
            for metric in TargetMetric.values:
                aggregates[f"{metric}:target"] = Sum("target_value", filter=Q(metric=metric))
                aggregates[f"{metric}:actual"] = Sum("actual_value", filter=Q(metric=metric))
            return _grouped(targets_as_of(as_of.year, as_of), "unit_id", **aggregates)

        return self.get(("targets", as_of), compute)

    def red_cards(self, via: str) -> Figures:
        """Projects (not cancelled), those of them under a red card now, and those whose light
        (the alert scan's) is red now."""

        def compute() -> Figures:
            projects = Project.objects.exclude(stage=Stage.CANCELLED)
            aggregates = {
                "projects": Count("pk"),
                "carded": Count("pk", filter=Q(red_card=True)),
                "red": Count("pk", filter=Q(light=Light.RED)),
            }
            if via == "lead":
                return _grouped(projects, "lead_unit_id", **aggregates)
            through = Project.cooperating_units.through.objects.filter(project__in=projects)
            return _grouped(
                through,
                "unit_id",
                projects=Count("pk"),
                carded=Count("pk", filter=Q(project__red_card=True)),
                red=Count("pk", filter=Q(project__light=Light.RED)),
            )

        return self.get(("red_cards", via), compute)

    # --- the supervision ledger -------------------------------------------------------------

    def issues(self, as_of: dt.date) -> Figures:
        """Per responsible unit: ledger issues due this year by ``as_of`` (their deadline falls
        between 1 January and ``as_of``, or they were closed by then ahead of a later deadline or
        without one), and how many of them were closed (销号) by their deadline. Requests not
        accepted are not the unit's."""

        def compute() -> Figures:
            year_start = dt.date(as_of.year, 1, 1)
            closed = Q(closed_at__date__gte=year_start, closed_at__date__lte=as_of)
            early = closed & (Q(deadline__gt=as_of) | Q(deadline__isnull=True))
            due = Issue.objects.filter(
                Q(deadline__gte=year_start, deadline__lte=as_of) | early
            ).exclude(status__in=[IssueStatus.PENDING, IssueStatus.DECLINED])
            in_time = Q(closed_at__date__lte=as_of) & (
                Q(deadline__isnull=True) | Q(closed_at__date__lte=F("deadline"))
            )
            return _grouped(due, "unit_id", due=Count("pk"), closed=Count("pk", filter=in_time))

        return self.get(("issues", as_of), compute)

    def inspection_scores(self, start: dt.date, end: dt.date, via: str) -> Figures:
        """Scores given to projects in inspections (观摩评比) held between ``start`` and ``end``:
        their sum and count per unit, so averages roll up correctly."""

        def compute() -> Figures:
            scores = InspectionScore.objects.filter(
                inspection__held_on__gte=start, inspection__held_on__lte=end
            )
            if via == "lead":
                return _grouped(
                    scores, "project__lead_unit_id", total=Sum("score"), scored=Count("pk")
                )
            through = Project.cooperating_units.through.objects.filter(
                project__inspection_scores__in=scores
            )
            return _grouped(
                through,
                "unit_id",
                total=Sum("project__inspection_scores__score"),
                scored=Count("project__inspection_scores"),
            )

        return self.get(("inspection_scores", start, end, via), compute)

    # --- the unit tree ----------------------------------------------------------------------

    def subtree(self, parent: Unit) -> list[tuple[int, str]]:
        if parent.path not in self.units:
            self.queries += 1
            self.units[parent.path] = list(
                Unit.objects.filter(path__startswith=parent.path)
                .exclude(pk=parent.pk)
                .values_list("pk", "path")
            )
        return self.units[parent.path]


# ---------------------------------------------------------------------------------------------
# Rolling up to the ranked children
# ---------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a metric needs: the ranked children, the period, the weights, the cache."""

    parent: Unit
    children: list[int]
    period: periods.Period
    co_unit_weight: Decimal
    facts: Facts
    # The last day judged: the period's end, or today while the period is open (nothing due
    # after today counts against a unit yet).
    as_of: dt.date
    _child_of: dict[int, int] | None = None

    def child_of(self) -> dict[int, int]:
        """Every unit below the parent → the ranked child it belongs to (built once)."""
        if self._child_of is None:
            children = set(self.children)
            offset = len(self.parent.path)
            mapping = {}
            for pk, path in self.facts.subtree(self.parent):
                head = int(path[offset:].split("/", 1)[0])
                if head in children:
                    mapping[pk] = head
            self._child_of = mapping
        return self._child_of

    def roll_up(self, figures_of: Callable[[str], Figures]) -> dict[int, dict[str, Decimal]]:
        """Sum lead-unit figures (and weighted cooperating-unit figures) per ranked child.

        Schemes ranking the same children share the sums of the same figures in a run (the
        figures are the run's cached objects, so their identity names them)."""
        passes = [("lead", Decimal(1), figures_of("lead"))]
        if self.co_unit_weight > 0:
            passes.append(("co", self.co_unit_weight, figures_of("co")))
        key = (
            "roll-up",
            self.parent.pk,
            tuple(self.children),
            tuple((weight, id(figures)) for _via, weight, figures in passes),
        )
        rolled = self.facts.rolled.get(key)
        if rolled is None:
            rolled = self.facts.rolled[key] = self._roll_up(passes)
        return rolled

    def _roll_up(self, passes) -> dict[int, dict[str, Decimal]]:
        mapping = self.child_of()
        totals: dict[int, dict[str, Decimal]] = {
            child: defaultdict(lambda: ZERO) for child in self.children
        }
        for _via, weight, by_unit in passes:
            for unit_id, figures in by_unit.items():
                child = mapping.get(unit_id)
                if child is None:
                    continue
                total = totals[child]
                for name, amount in figures.items():
                    total[name] += amount if weight == 1 else amount * weight
        return totals

    def roll_up_units(self, figures: Figures) -> dict[int, dict[str, Decimal]]:
        """Sum per-unit figures (targets: they belong to units, not projects) per child."""
        key = ("roll-up-units", self.parent.pk, tuple(self.children), id(figures))
        rolled = self.facts.rolled.get(key)
        if rolled is None:
            rolled = self.facts.rolled[key] = self._roll_up_units(figures)
        return rolled

    def _roll_up_units(self, figures: Figures) -> dict[int, dict[str, Decimal]]:
        mapping = self.child_of()
        totals: dict[int, dict[str, Decimal]] = {
            child: defaultdict(lambda: ZERO) for child in self.children
        }
        for unit_id, values in figures.items():
            child = unit_id if unit_id in totals else mapping.get(unit_id)
            if child is None:
                continue
            for name, amount in values.items():
                totals[child][name] += amount
        return totals


# ---------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------

Values = dict[int, Decimal | None]


@dataclass(frozen=True)
class Metric(MetricSpec):
    """A metric of the catalogue with how it is computed."""

    compute: Callable[[Context], Values] = field(kw_only=True)


def _investment_rate(ctx: Context) -> Values:
    end = ctx.period.end
    ytd = ctx.roll_up(lambda via: ctx.facts.year_to_date_investment(end, via))
    plan = ctx.roll_up(lambda via: ctx.facts.annual_plan(end.year, via))
    return {c: _pct(ytd[c]["amount"], plan[c]["amount"]) for c in ctx.children}


def _schedule_gap(ctx: Context) -> Values:
    elapsed = Decimal(str(periods.elapsed_share_of_year(ctx.period.end))) * HUNDRED
    rates = _investment_rate(ctx)
    return {
        c: None if rate is None else (rate - elapsed).quantize(Decimal("0.01"))
        for c, rate in rates.items()
    }


def _start_rate(ctx: Context) -> Values:
    starts = ctx.roll_up(lambda via: ctx.facts.starts(ctx.as_of, via))
    return {c: _pct(starts[c]["started"], starts[c]["due"]) for c in ctx.children}


def _milestone_rate(ctx: Context) -> Values:
    done = ctx.roll_up(lambda via: ctx.facts.milestones(ctx.as_of, via))
    return {c: _pct(done[c]["on_time"], done[c]["due"]) for c in ctx.children}


def reporting_rounds(period: periods.Period, as_of: dt.date | None = None) -> list[periods.Period]:
    """The reporting rounds a ranking period judges: those whose deadline falls inside it (and
    has passed by ``as_of``), or, for a period shorter than the reporting cadence, the last
    round due by then."""
    as_of = min(as_of or period.end, period.end)
    kind = report_period_kind()
    first = periods.containing(kind, period.start - dt.timedelta(days=62))
    due = [r for r in periods.iter_between(kind, first.start, as_of) if report_deadline(r) < as_of]
    due += [
        r
        for r in periods.iter_between(kind, first.start, as_of)
        if report_deadline(r) == as_of and as_of == period.end
    ]
    inside = [r for r in due if report_deadline(r) >= period.start]
    return inside or due[-1:]


def _timeliness(ctx: Context) -> Values:
    totals = {c: {"due": ZERO, "on_time": ZERO} for c in ctx.children}
    rounds = reporting_rounds(ctx.period, ctx.as_of)
    for round_ in rounds:
        figures = ctx.roll_up(
            lambda via, r=round_: ctx.facts.timeliness(rounds, ctx.period.end, via)[r.key]
        )
        for c in ctx.children:
            totals[c]["due"] += figures[c]["due"]
            totals[c]["on_time"] += figures[c]["on_time"]
    return {c: _pct(totals[c]["on_time"], totals[c]["due"]) for c in ctx.children}


def _target_rate(metric: str) -> Callable[[Context], Values]:
    def compute(ctx: Context) -> Values:
        totals = ctx.roll_up_units(ctx.facts.targets(ctx.as_of))
        return {
            c: _pct(totals[c][f"{metric}:actual"], totals[c][f"{metric}:target"])
            for c in ctx.children
        }

    return compute


def _red_cards(ctx: Context) -> Values:
    """A unit with no projects has no value (it is not ranked on a project metric)."""
    cards = ctx.roll_up(lambda via: ctx.facts.red_cards(via))
    return {c: cards[c]["carded"] if cards[c]["projects"] else None for c in ctx.children}


def _red_lights(ctx: Context) -> Values:
    cards = ctx.roll_up(lambda via: ctx.facts.red_cards(via))
    return {c: cards[c]["red"] if cards[c]["projects"] else None for c in ctx.children}


def _issue_close_rate(ctx: Context) -> Values:
    """问题销号率: closed in time ÷ due; a unit with no issue due has no value."""
    totals = ctx.roll_up_units(ctx.facts.issues(ctx.as_of))
    return {c: _pct(totals[c]["closed"], totals[c]["due"]) for c in ctx.children}


def _inspection_score(ctx: Context) -> Values:
    """观摩评比得分: the average score of the unit's projects in the period's inspections."""
    totals = ctx.roll_up(lambda via: ctx.facts.inspection_scores(ctx.period.start, ctx.as_of, via))
    return {
        c: (totals[c]["total"] / totals[c]["scored"]).quantize(Decimal("0.01"))
        if totals[c]["scored"]
        else None
        for c in ctx.children
    }


# How each metric is computed; its name, direction and help are in supervision/catalogue.py.
COMPUTES: dict[str, Callable[[Context], Values]] = {
    "investment_rate": _investment_rate,
    "schedule_gap": _schedule_gap,
    "start_rate": _start_rate,
    "milestone_rate": _milestone_rate,
    "report_timeliness": _timeliness,
    **{f"target_{value}": _target_rate(value) for value, label in TargetMetric.choices},
    "red_cards": _red_cards,
    "red_lights": _red_lights,
    "issue_close_rate": _issue_close_rate,
    "inspection_score": _inspection_score,
}
if COMPUTES.keys() != METRIC_SPECS.keys():
    raise ImproperlyConfigured("Every metric of the catalogue needs a computation, and only those.")

REGISTRY: dict[str, Metric] = {
    key: Metric(**spec_fields(spec), compute=COMPUTES[key]) for key, spec in METRIC_SPECS.items()
}
