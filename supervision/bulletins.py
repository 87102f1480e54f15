"""The bulletin (通报) of a ranking: everything the web page, the print page, the .xlsx and the
.docx say, assembled in one place (``bulletin_for``) so the figures are the same everywhere.

A draft's bulletin is a preview of what publishing it now would issue: its red-light projects
and its overdue and escalated issues are those of the ranked units today. Publishing freezes
them on the snapshot (``freeze``) together with the bulletin's number and date, so the issued
document never changes afterwards, like the ranking itself (docs/rankings.md, "Bulletins").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from projects.models import Light, Project
from projects.selectors import under
from supervision.alerts import RULES
from supervision.metrics import REGISTRY
from supervision.models import (
    ISSUE_ACTIVE_STATUSES,
    Alert,
    AlertLevel,
    EscalationLevel,
    Issue,
    RankingEntry,
    RankingSnapshot,
    SnapshotStatus,
)

# Issues at this step of the ladder or above are "escalated" in the bulletin (督办 and up; a
# reminder, 催办, is not).
ESCALATED_FROM = EscalationLevel.SUPERVISED
RED_CARD = "red_card"


@dataclass
class Column:
    key: str
    label: str
    measure: str
    weight: str


@dataclass
class Row:
    rank: int | None
    unit: str
    unit_id: int
    score: Decimal | None
    previous_rank: int | None
    movement: int | None
    is_top: bool
    is_bottom: bool
    exempt_reason: str
    values: list[str]  # one per column as shown, "—" when the unit has nothing to measure
    raw: list[Decimal | None]  # the same as numbers (for the spreadsheet)

    @property
    def movement_text(self) -> str:
        if self.movement is None:
            return "—" if self.rank is None or self.previous_rank is None else ""
        if self.movement > 0:
            return f"↑{self.movement}"
        if self.movement < 0:
            return f"↓{-self.movement}"
        return "—"

    @property
    def rank_text(self) -> str:
        return str(self.rank) if self.rank is not None else "—"

    @property
    def score_text(self) -> str:
        return str(self.score) if self.score is not None else "—"

    @property
    def mark(self) -> str:
        if self.exempt_reason:
            return _("exempt: %(reason)s") % {"reason": self.exempt_reason}
        if self.is_top:
            return _("top")
        if self.is_bottom:
            return _("bottom")
        return ""


@dataclass
class RedProject:
    project_id: int
    name: str
    unit: str
    reasons: list[str]


@dataclass
class IssueLine:
    issue_id: int
    number: str
    title: str
    unit: str
    project: str
    deadline: dt.date | None
    days_overdue: int
    level: int

    @property
    def level_label(self) -> str:
        return str(EscalationLevel(self.level).label)

    @property
    def is_overdue(self) -> bool:
        return self.days_overdue > 0

    @property
    def is_escalated(self) -> bool:
        return self.level >= ESCALATED_FROM


@dataclass
class Bulletin:
    snapshot: RankingSnapshot
    is_draft: bool
    title: str
    office: str
    number: str
    date: dt.date
    as_of: dt.date
    columns: list[Column]
    rows: list[Row]
    red_projects: list[RedProject]
    issues: list[IssueLine]
    commentary: list[str] = field(default_factory=list)

    @property
    def top(self) -> list[Row]:
        return [r for r in self.rows if r.is_top]

    @property
    def bottom(self) -> list[Row]:
        return [r for r in self.rows if r.is_bottom]

    @property
    def ranked(self) -> int:
        return sum(1 for r in self.rows if r.rank is not None)

    @property
    def overdue_count(self) -> int:
        return sum(1 for i in self.issues if i.is_overdue)

    @property
    def escalated_count(self) -> int:
        return sum(1 for i in self.issues if i.is_escalated)

    @property
    def date_text(self) -> str:
        return official_date(self.date)

    @property
    def as_of_text(self) -> str:
        return official_date(self.as_of)

    @property
    def opening(self) -> str:
        return _(
            "Under the ranking scheme “%(scheme)s”, the results for %(period)s are announced "
            "as follows."
        ) % {"scheme": self.snapshot.scheme.name, "period": self.snapshot.period_label}

    @property
    def summary(self) -> str:
        return _(
            "%(ranked)d units were ranked. As of %(as_of)s the ranked units had %(red)d "
            "red-light projects, %(overdue)d overdue issues and %(escalated)d escalated issues."
        ) % {
            "ranked": self.ranked,
            "as_of": self.as_of_text,
            "red": len(self.red_projects),
            "overdue": self.overdue_count,
            "escalated": self.escalated_count,
        }


def official_date(day: dt.date) -> str:
    """Dates as an official document writes them: 2026年11月3日."""
    return _("%(year)d-%(month)d-%(day)d") % {
        "year": day.year,
        "month": day.month,
        "day": day.day,
    }


def format_value(value: str | None, measure: str) -> str:
    """Rates with two decimals and their unit (60.00%); counts without decimals."""
    if value is None:
        return "—"
    if measure:
        return f"{value}{measure}"
    return format(Decimal(value).normalize(), "f")


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# ---------------------------------------------------------------------------------------------
# The facts beyond the entries: live for a draft, frozen on publishing
# ---------------------------------------------------------------------------------------------


def _scope(entries: list[RankingEntry], prefix: str) -> Q:
    return under([entry.unit.path for entry in entries], f"{prefix}__path")


def _ranked_unit(entries: list[RankingEntry], path: str) -> str:
    """The ranked unit a project or issue belongs to (its own unit or an ancestor)."""
    for entry in entries:
        if path.startswith(entry.unit.path):
            return entry.unit.display_name
    return ""


def live_facts(snapshot: RankingSnapshot, entries: list[RankingEntry], *, today: dt.date) -> dict:
    """Red-light projects and overdue or escalated issues of the ranked units today, as JSON
    (what ``freeze`` stores). Three queries, whatever the number of units."""
    red: dict[int, dict] = {}
    if entries:
        for pk, name, path, red_card, reason in (
            Project.objects.filter(_scope(entries, "lead_unit"), light=Light.RED)
            .order_by("lead_unit__path", "name", "pk")
            .values_list("pk", "name", "lead_unit__path", "red_card", "red_card_reason")
        ):
            red[pk] = {
                "project": pk,
                "name": name,
                "unit": _ranked_unit(entries, path),
                "reasons": [{"rule": RED_CARD, "detail": reason}] if red_card else [],
            }
        for project_id, rule, detail in (
            Alert.objects.filter(
                project__in=list(red), level=AlertLevel.RED, resolved_at__isnull=True
            )
            .order_by("project_id", "rule__key", "pk")
            .values_list("project_id", "rule__key", "detail")
        ):
            red[project_id]["reasons"].append({"rule": rule, "detail": detail})
    issues = []
    if entries:
        for issue in (
            Issue.objects.filter(_scope(entries, "unit"), status__in=ISSUE_ACTIVE_STATUSES)
            .filter(Q(deadline__lt=today) | Q(level__gte=ESCALATED_FROM))
            .select_related("unit", "project")
            .order_by("-level", "deadline", "pk")
        ):
            issues.append(
                {
                    "issue": issue.pk,
                    "number": issue.number,
                    "title": issue.title,
                    "unit": _ranked_unit(entries, issue.unit.path),
                    "project": issue.project.name if issue.project else "",
                    "deadline": issue.deadline.isoformat() if issue.deadline else None,
                    "days_overdue": issue.days_overdue(today),
                    "level": issue.level,
                }
            )
    return {
        "as_of": today.isoformat(),
        "red_projects": list(red.values()),
        "issues": issues,
    }


def next_number(snapshot: RankingSnapshot, year: int) -> int:
    """The bulletin's serial number: bulletins the ranked unit's level issued this year so
    far, this one included."""
    return (
        RankingSnapshot.objects.filter(
            scheme__parent_unit=snapshot.scheme.parent_unit,
            status=SnapshotStatus.PUBLISHED,
            published_at__year=year,
        )
        .exclude(bulletin={})
        .count()
        + 1
    )


def freeze(snapshot: RankingSnapshot, *, today: dt.date) -> dict:
    """The facts a bulletin issued today states, for the snapshot being published."""
    entries = list(snapshot.entries.select_related("unit"))
    facts = live_facts(snapshot, entries, today=today)
    facts["number"] = next_number(snapshot, today.year)
    facts["date"] = today.isoformat()
    return facts


# ---------------------------------------------------------------------------------------------
# The one assembly
# ---------------------------------------------------------------------------------------------


def _reason(reason: dict) -> str:
    if reason["rule"] == RED_CARD:
        label = _("red card")
    else:
        label = str(RULES[reason["rule"]].label) if reason["rule"] in RULES else reason["rule"]
    return f"{label}（{reason['detail']}）" if reason["detail"] else label


def bulletin_for(snapshot: RankingSnapshot, *, today: dt.date | None = None) -> Bulletin:
    """Everything the bulletin of ``snapshot`` says. ``snapshot`` comes with its scheme and
    parent unit; a published one reads what was frozen, a draft is assembled live (one query
    more for the entries, three for the facts)."""
    today = today or timezone.localdate()
    entries = list(snapshot.entries.select_related("unit"))
    frozen = snapshot.bulletin if snapshot.is_published and snapshot.bulletin else None
    facts = frozen or live_facts(snapshot, entries, today=today)
    unit = snapshot.scheme.parent_unit
    if frozen:
        date = dt.date.fromisoformat(frozen["date"])
        number = _("%(unit)s Key Projects Office bulletin [%(year)d] No. %(number)d") % {
            "unit": unit.display_name,
            "year": date.year,
            "number": frozen["number"],
        }
    else:
        date = timezone.localtime(snapshot.published_at).date() if snapshot.published_at else today
        number = _("%(unit)s Key Projects Office bulletin [%(year)d] No. —") % {
            "unit": unit.display_name,
            "year": date.year,
        }
    columns = [
        Column(
            key=m["key"],
            label=str(REGISTRY[m["key"]].label) if m["key"] in REGISTRY else m["key"],
            measure=m["measure"],
            weight=m["weight"],
        )
        for m in snapshot.metrics
    ]
    rows = [
        Row(
            rank=e.rank,
            unit=e.unit.display_name,
            unit_id=e.unit_id,
            score=e.score,
            previous_rank=e.previous_rank,
            movement=e.movement,
            is_top=e.is_top,
            is_bottom=e.is_bottom,
            exempt_reason=e.exempt_reason,
            values=[format_value(e.values.get(c.key), c.measure) for c in columns],
            raw=[_decimal(e.values.get(c.key)) for c in columns],
        )
        for e in entries
    ]
    return Bulletin(
        snapshot=snapshot,
        is_draft=not snapshot.is_published,
        title=_("Bulletin on the %(scheme)s for %(period)s")
        % {"scheme": snapshot.scheme.name, "period": snapshot.period_label},
        office=_("%(unit)s Key Projects Supervision Office") % {"unit": unit.display_name},
        number=number,
        date=date,
        as_of=dt.date.fromisoformat(facts["as_of"]),
        columns=columns,
        rows=rows,
        red_projects=[
            RedProject(
                project_id=p["project"],
                name=p["name"],
                unit=p["unit"],
                reasons=[_reason(r) for r in p["reasons"]],
            )
            for p in facts["red_projects"]
        ],
        issues=[
            IssueLine(
                issue_id=i["issue"],
                number=i["number"],
                title=i["title"],
                unit=i["unit"],
                project=i["project"],
                deadline=dt.date.fromisoformat(i["deadline"]) if i["deadline"] else None,
                days_overdue=i["days_overdue"],
                level=i["level"],
            )
            for i in facts["issues"]
        ],
        commentary=[p.strip() for p in snapshot.commentary.splitlines() if p.strip()],
    )
