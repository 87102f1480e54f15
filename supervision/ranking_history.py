"""Rank history: every unit's rank and score across a scheme's published periods, read in one
query, for the chart on the ranking page and a unit's own history page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.urls import reverse

from supervision.models import RankingEntry, SnapshotStatus
from tracker import periods


@dataclass
class Point:
    snapshot_id: int
    period_key: str
    period_label: str
    rank: int | None
    score: Decimal | None
    movement: int | None
    is_top: bool
    is_bottom: bool
    exempt_reason: str


@dataclass
class UnitHistory:
    unit_id: int
    name: str
    points: list[Point | None] = field(default_factory=list)  # one per period, None: not listed

    @property
    def ranks(self) -> list[int | None]:
        return [p.rank if p else None for p in self.points]

    @property
    def scores(self) -> list[str | None]:
        return [str(p.score) if p and p.score is not None else None for p in self.points]


@dataclass
class History:
    scheme_id: int
    periods: list[tuple[str, str]]  # (key, label), oldest first
    units: list[UnitHistory]

    def chart_data(self) -> dict:
        """What static/js/ranking_history.js draws (in the page through json_script)."""
        return {
            "periods": [label for _key, label in self.periods],
            "units": [
                {
                    "name": u.name,
                    "ranks": u.ranks,
                    "scores": u.scores,
                    "url": reverse("ranking_unit_history", args=[self.scheme_id, u.unit_id]),
                }
                for u in self.units
            ],
        }


def rank_history(
    scheme_id: int, *, until: dt.date | None = None, unit_id: int | None = None
) -> History:
    """Published periods of the scheme (up to the one starting on ``until``), with each unit's
    rank; units in the order of the latest period (unranked last). One query."""
    entries = RankingEntry.objects.filter(
        snapshot__scheme_id=scheme_id, snapshot__status=SnapshotStatus.PUBLISHED
    )
    if until is not None:
        entries = entries.filter(snapshot__period_start__lte=until)
    if unit_id is not None:
        entries = entries.filter(unit_id=unit_id)
    rows = entries.order_by("snapshot__period_start", "unit__sort_order", "unit__path").values_list(
        "snapshot_id",
        "snapshot__period_key",
        "unit_id",
        "unit__name",
        "unit__short_name",
        "rank",
        "score",
        "movement",
        "is_top",
        "is_bottom",
        "exempt_reason",
    )
    keys: list[str] = []
    labels: dict[str, str] = {}
    by_unit: dict[int, tuple[str, dict[str, Point]]] = {}
    for row in rows:
        snapshot_id, key, unit, name, short, rank, score, movement, top, bottom, exempt = row
        if key not in labels:
            keys.append(key)
            labels[key] = periods.parse(key).label
        point = Point(snapshot_id, key, labels[key], rank, score, movement, top, bottom, exempt)
        by_unit.setdefault(unit, (short or name, {}))[1][key] = point
    units = [
        UnitHistory(unit_id=unit, name=name, points=[points.get(k) for k in keys])
        for unit, (name, points) in by_unit.items()
    ]
    last = keys[-1] if keys else None

    def latest_rank(u: UnitHistory) -> tuple[int, int]:
        point = u.points[-1] if u.points else None
        rank = point.rank if point and last and point.period_key == last else None
        return (0, rank) if rank is not None else (1, 0)

    units.sort(key=latest_rank)
    return History(scheme_id=scheme_id, periods=[(k, labels[k]) for k in keys], units=units)
