"""Alert rules (预警) and the traffic light (红黄绿灯).

Each rule finds, in one or two set-based queries over the whole database, the subjects whose
condition holds today and a value for each (days overdue, points behind, reports missing…); the
rule's thresholds (``AlertRule.yellow_at`` / ``red_at``, editable in the admin) turn the value
into a level. ``scan_alerts`` keeps one ``Alert`` per (rule, subject, period): it opens new ones,
updates the level and value of those still true, and resolves (with the time) those whose
condition has cleared. Completed, operating and cancelled projects stop lighting. A project's
light (``Project.light``) is its worst active alert, or red under a red card; a unit's light is
the worst of its projects' lights and its own alerts.

Docs: docs/alerts.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import (
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from projects.models import (
    CLOSED_STAGES,
    COUNTED_REPORT_STATUSES,
    STARTED_STAGES,
    Light,
    Milestone,
    ProgressReport,
    Project,
    ProjectYearPlan,
    Stage,
    StageChange,
    Target,
    bundle_ids,
)
from projects.selectors import report_deadline, report_period_kind
from supervision import notifications
from supervision.catalogue import RULE_SPECS, RuleSpec, spec_fields
from supervision.issues.services import escalate_overdue
from supervision.models import ISSUE_ACTIVE_STATUSES, Alert, AlertLevel, AlertRule, Issue
from tracker import periods

ZERO = Decimal(0)
MONEY = DecimalField(max_digits=16, decimal_places=4)


@dataclass(frozen=True)
class Finding:
    subject: str
    period_key: str
    project_id: int | None
    unit_id: int
    value: Decimal
    detail: str = ""


@dataclass(frozen=True)
class Rule(RuleSpec):
    """A rule of the catalogue with what it finds."""

    find: Callable[[dt.date, Iterable[int] | None], list[Finding]] = field(kw_only=True)


def _live_projects(projects: Iterable[int] | None):
    """Projects that may light: not completed, operating or cancelled."""
    queryset = Project.objects.exclude(stage__in=CLOSED_STAGES)
    return queryset if projects is None else queryset.filter(pk__in=list(projects))


def last_due_round(today: dt.date) -> periods.Period:
    """The latest reporting round whose deadline has passed (the day after it is late)."""
    kind = report_period_kind()
    round_ = periods.containing(kind, today).previous()
    while report_deadline(round_) >= today:
        round_ = round_.previous()
    return round_


# --- the rules ---------------------------------------------------------------------------------


def _milestone_overdue(today: dt.date, projects) -> list[Finding]:
    rows = Milestone.objects.filter(
        done_date__isnull=True, due_date__lt=today, project__in=_live_projects(projects)
    ).values_list("pk", "project_id", "project__lead_unit_id", "due_date", "name")
    return [
        Finding(f"milestone:{pk}", "", project, unit, Decimal((today - due).days), name)
        for pk, project, unit, due, name in rows
    ]


def _not_started(today: dt.date, projects) -> list[Finding]:
    rows = ProjectYearPlan.objects.filter(
        year=today.year,
        planned_start__lt=today,
        project__in=_live_projects(projects).exclude(stage__in=[*STARTED_STAGES, Stage.SUSPENDED]),
    ).values_list("project_id", "project__lead_unit_id", "planned_start")
    return [
        Finding(f"project:{project}", str(today.year), project, unit, Decimal((today - start).days))
        for project, unit, start in rows
    ]


def _investment_lag(today: dt.date, projects) -> list[Finding]:
    """Points behind the elapsed share of the year (序时进度), judged at the end of the last
    reporting round due, for projects under construction with a plan for the year."""
    judged = last_due_round(today)
    if judged.end.year != today.year:
        return []  # nothing of this year is due yet
    elapsed = Decimal(str(periods.elapsed_share_of_year(judged.end))) * 100
    plan = ProjectYearPlan.objects.filter(project=OuterRef("pk"), year=today.year).values(
        "planned_investment"
    )[:1]
    done = (
        ProgressReport.objects.filter(
            project=OuterRef("pk"),
            status__in=COUNTED_REPORT_STATUSES,
            period_start__gte=dt.date(today.year, 1, 1),
            period_end__lte=judged.end,
        )
        .values("project")
        .annotate(total=Sum("investment"))
        .values("total")
    )
    rows = (
        _live_projects(projects)
        .filter(stage=Stage.UNDER_CONSTRUCTION)
        .exclude(pk__in=bundle_ids())  # a bundle's figures are its sub-projects'
        .annotate(
            plan=Subquery(plan, output_field=MONEY),
            done=Coalesce(Subquery(done, output_field=MONEY), Value(ZERO), output_field=MONEY),
        )
        .filter(plan__gt=0)
        .annotate(
            lag=ExpressionWrapper(
                Value(elapsed) - F("done") * Value(Decimal(100)) / F("plan"), output_field=MONEY
            )
        )
        .filter(lag__gt=0)
        .values_list("pk", "lead_unit_id", "lag")
    )
    return [
        Finding(f"project:{pk}", str(today.year), pk, unit, Decimal(lag).quantize(Decimal("0.01")))
        for pk, unit, lag in rows
    ]


def _report_missing(today: dt.date, projects) -> list[Finding]:
    """Projects without a submitted report for the last round due; the value is how many rounds
    running (this one and the one before) are missing."""
    latest = last_due_round(today)
    earlier = latest.previous()

    def counted(round_):
        return ProgressReport.objects.filter(
            project=OuterRef("pk"), period_key=round_.key, status__in=COUNTED_REPORT_STATUSES
        )

    def registered(round_):
        return StageChange.objects.filter(
            project=OuterRef("pk"), from_stage="", changed_on__lte=round_.end
        )

    rows = (
        _live_projects(projects)
        .reporting()
        .filter(Exists(registered(latest)))
        .exclude(Exists(counted(latest)))
        .annotate(owed_before=Exists(registered(earlier)), sent_before=Exists(counted(earlier)))
        .values_list("pk", "lead_unit_id", "owed_before", "sent_before")
    )
    return [
        Finding(
            f"project:{pk}",
            latest.key,
            pk,
            unit,
            Decimal(2 if owed and not sent else 1),
            latest.key,
        )
        for pk, unit, owed, sent in rows
    ]


def _target_zero(today: dt.date, projects) -> list[Finding]:
    """未破零: a target of the year still at zero; the value is the quarters gone by."""
    if projects is not None:
        return []  # unit-level: only the full scan looks at targets
    quarters = (today.month - 1) // 3  # complete quarters of the year
    if quarters == 0:
        return []
    rows = Target.objects.filter(year=today.year, actual_value=0).values_list(
        "pk", "unit_id", "metric"
    )
    return [
        Finding(f"target:{pk}", str(today.year), None, unit, Decimal(quarters), metric)
        for pk, unit, metric in rows
    ]


STALL_ROUNDS = 6


def _stalled(today: dt.date, projects) -> list[Finding]:
    """停滞: the latest reports all show no investment; the value is how many running."""
    rounds = [last_due_round(today)]
    for _n in range(STALL_ROUNDS - 1):
        rounds.append(rounds[-1].previous())
    zero = {
        f"z{n}": Exists(
            ProgressReport.objects.filter(
                project=OuterRef("pk"),
                period_key=r.key,
                status__in=COUNTED_REPORT_STATUSES,
                investment=0,
            )
        )
        for n, r in enumerate(rounds)
    }
    rows = (
        _live_projects(projects)
        .filter(stage=Stage.UNDER_CONSTRUCTION)
        .exclude(pk__in=bundle_ids())
        .annotate(**zero)
        .filter(z0=True)
        .values_list("pk", "lead_unit_id", *zero)
    )
    findings = []
    for pk, unit, *flags in rows:
        running = next((n for n, flag in enumerate(flags) if not flag), len(flags))
        findings.append(Finding(f"project:{pk}", str(today.year), pk, unit, Decimal(running)))
    return findings


def _issue_overdue(today: dt.date, projects) -> list[Finding]:
    """A ledger issue still being rectified past its deadline; the value is the days overdue.
    Issues reported rectified (awaiting verification), closed or declined do not light."""

    issues = Issue.objects.filter(status__in=ISSUE_ACTIVE_STATUSES, deadline__lt=today)
    if projects is not None:
        issues = issues.filter(project_id__in=list(projects))
    rows = issues.values_list("pk", "project_id", "unit_id", "deadline", "title")
    return [
        Finding(f"issue:{pk}", "", project, unit, Decimal((today - deadline).days), title[:200])
        for pk, project, unit, deadline, title in rows
    ]


# What each rule finds; its name, thresholds and help are in supervision/catalogue.py.
FINDERS: dict[str, Callable[[dt.date, Iterable[int] | None], list[Finding]]] = {
    "milestone_overdue": _milestone_overdue,
    "not_started": _not_started,
    "investment_lag": _investment_lag,
    "report_missing": _report_missing,
    "target_zero": _target_zero,
    "stalled": _stalled,
    "issue_overdue": _issue_overdue,
}
if FINDERS.keys() != RULE_SPECS.keys():
    raise ImproperlyConfigured("Every alert rule of the catalogue needs a finder, and only those.")

RULES: dict[str, Rule] = {
    key: Rule(**spec_fields(spec), find=FINDERS[key]) for key, spec in RULE_SPECS.items()
}


def ensure_rules() -> dict[str, AlertRule]:
    """The rule rows, created with their default thresholds the first time."""
    existing = {rule.key: rule for rule in AlertRule.objects.all()}
    for key, rule in RULES.items():
        if key not in existing:
            existing[key] = AlertRule.objects.create(
                key=key, yellow_at=rule.yellow_at, red_at=rule.red_at
            )
    return existing


def level_for(value: Decimal, rule: AlertRule) -> str | None:
    if value >= rule.red_at:
        return AlertLevel.RED
    if value >= rule.yellow_at:
        return AlertLevel.YELLOW
    return None


@dataclass
class ScanResult:
    opened: int = 0
    changed: int = 0
    resolved: int = 0
    lights: int = 0
    escalated: int = 0


@transaction.atomic
def scan_alerts(
    *, today: dt.date | None = None, projects: Iterable[int] | None = None
) -> ScanResult:
    """Evaluate every active rule (over ``projects`` only, when given) and the lights.

    Idempotent: a second run on the same day writes nothing.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    scope = None if projects is None else sorted(set(projects))
    result = ScanResult()
    if scope is None:
        result.escalated = len(escalate_overdue(today=today))
    # Alerts, the notices of new red lights and the lights in one transaction: a scan stopped
    # half-way (a killed worker, a deploy) leaves them as they were, never disagreeing.
    rules = ensure_rules()
    with transaction.atomic():
        for key, rule_row in rules.items():
            active = Alert.objects.filter(rule=rule_row, resolved_at__isnull=True)
            if scope is not None:
                active = active.filter(project_id__in=scope)
            current = {(a.subject, a.period_key): a for a in active}
            found = {}
            if rule_row.is_active:
                for finding in RULES[key].find(today, scope):
                    level = level_for(finding.value, rule_row)
                    if level is not None:
                        found[(finding.subject, finding.period_key)] = (finding, level)
            new, changed = [], []
            for ident, (finding, level) in found.items():
                alert = current.get(ident)
                if alert is None:
                    new.append((finding, level))
                elif (alert.level, alert.value, alert.detail) != (
                    level,
                    finding.value,
                    finding.detail,
                ):
                    alert.level, alert.value, alert.detail = level, finding.value, finding.detail
                    alert.updated_at = now
                    changed.append(alert)
            for finding, level in new:
                # A subject can light again in the same period after clearing: reopen its row.
                Alert.objects.update_or_create(
                    rule=rule_row,
                    subject=finding.subject,
                    period_key=finding.period_key,
                    defaults={
                        "project_id": finding.project_id,
                        "unit_id": finding.unit_id,
                        "level": level,
                        "value": finding.value,
                        "detail": finding.detail,
                        "opened_at": now,
                        "resolved_at": None,
                    },
                )
            Alert.objects.bulk_update(changed, ["level", "value", "detail", "updated_at"])
            gone = [a.pk for ident, a in current.items() if ident not in found]
            Alert.objects.filter(pk__in=gone).update(resolved_at=now, updated_at=now)
            result.opened += len(new)
            result.changed += len(changed)
            result.resolved += len(gone)
        # Before the lights change: projects whose light turns red now are told, once.
        notifications.notify_red_projects(projects=scope)
        result.lights = update_lights(scope)
    return result


def update_lights(projects: list[int] | None = None) -> int:
    """Project.light = red card or worst active alert; only rows that change are written."""
    queryset = Project.objects.all()
    if projects is not None:
        queryset = queryset.filter(pk__in=projects)
    live = Alert.objects.filter(project=OuterRef("pk"), resolved_at__isnull=True)
    red = Q(red_card=True) | Exists(live.filter(level=AlertLevel.RED))
    yellow = ~red & Exists(live.filter(level=AlertLevel.YELLOW))
    green = ~red & ~yellow
    written = 0
    for light, condition in ((Light.RED, red), (Light.YELLOW, yellow), (Light.GREEN, green)):
        written += queryset.filter(condition).exclude(light=light).update(light=light)
    return written
