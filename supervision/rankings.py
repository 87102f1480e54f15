"""Ranking services: compute a snapshot, publish it, and find the periods still to compute.

Scoring (docs/rankings.md): each metric is scaled 0–100 against the best unit, direction-aware;
the score is the weighted mean over the metrics a unit has a value for; equal scores share a
rank (1, 2, 2, 4). Exempt units and units with nothing to measure are listed without a rank.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from projects import selectors
from projects.models import Unit
from supervision import bulletins, notifications
from supervision.metrics import REGISTRY, Context, Facts
from supervision.models import (
    RankingEntry,
    RankingExemption,
    RankingScheme,
    RankingSnapshot,
    SchemeMetric,
    SnapshotStatus,
)
from tracker import periods

HUNDRED = Decimal(100)
TWO_PLACES = Decimal("0.01")


def ranked_children(scheme: RankingScheme) -> list[Unit]:
    return list(
        Unit.objects.filter(
            parent=scheme.parent_unit, kind__in=scheme.child_kinds, is_active=True
        ).order_by("sort_order", "path")
    )


# ---------------------------------------------------------------------------------------------
# Scoring (pure functions, tested on their own)
# ---------------------------------------------------------------------------------------------


def scale(values: dict[int, Decimal | None], *, higher_is_better: bool) -> dict[int, Decimal]:
    """0–100 per unit against the best one; units without a value get no score.

    A higher-is-better metric that cannot be negative is scaled as a share of the best value
    (the best gets 100, half the best 50). Otherwise (lower is better, or values that may be
    negative such as the gap to the elapsed share of the year) the range from worst to best is
    scaled to 0–100. When every unit has the same value, all get 100.
    """
    present = {unit: v for unit, v in values.items() if v is not None}
    if not present:
        return {}
    best = max(present.values()) if higher_is_better else min(present.values())
    worst = min(present.values()) if higher_is_better else max(present.values())
    if best == worst:
        return dict.fromkeys(present, HUNDRED)
    if higher_is_better and worst >= 0:
        return {unit: (v * HUNDRED / best).quantize(TWO_PLACES) for unit, v in present.items()}
    return {
        unit: abs((v - worst) * HUNDRED / (best - worst)).quantize(TWO_PLACES)
        for unit, v in present.items()
    }


def competition_ranks(scores: dict[int, Decimal]) -> dict[int, int]:
    """Standard competition ranking: equal scores share a rank, the next rank skips (1, 2, 2, 4)."""
    ordered = sorted(scores.items(), key=lambda item: -item[1])
    ranks: dict[int, int] = {}
    previous_score, previous_rank = None, 0
    for position, (unit, score) in enumerate(ordered, start=1):
        if score != previous_score:
            previous_score, previous_rank = score, position
        ranks[unit] = previous_rank
    return ranks


def marks(ranks: dict[int, int], top: int, bottom: int) -> tuple[set[int], set[int]]:
    """Units marked at the top (rank ≤ top) and the bottom (the last ``bottom`` places, ties
    included); a unit is never both. When every unit shares one rank nothing separates them,
    and nobody is marked (all on time, or nothing achieved by anyone yet)."""
    if len(set(ranks.values())) < 2:
        return set(), set()
    tops = {unit for unit, rank in ranks.items() if rank <= top}
    n = len(ranks)
    if bottom <= 0:
        return tops, set()
    threshold = sorted(ranks.values())[max(n - bottom, 0)]
    bottoms = {unit for unit, rank in ranks.items() if rank >= threshold} - tops
    return tops, bottoms


# ---------------------------------------------------------------------------------------------
# Computing
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    unit: int
    values: dict[str, str | None]
    scores: dict[str, str | None]
    score: Decimal | None
    rank: int | None
    previous_rank: int | None
    movement: int | None
    is_top: bool
    is_bottom: bool
    exempt_reason: str

    def as_json(self) -> dict:
        return {
            "unit": self.unit,
            "values": self.values,
            "scores": self.scores,
            "score": None if self.score is None else str(self.score),
            "rank": self.rank,
            "previous_rank": self.previous_rank,
            "movement": self.movement,
            "is_top": self.is_top,
            "is_bottom": self.is_bottom,
            "exempt_reason": self.exempt_reason,
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value.quantize(TWO_PLACES))


def compute_rows(
    scheme: RankingScheme,
    period: periods.Period,
    *,
    metrics: list[SchemeMetric],
    today: dt.date,
    facts: Facts | None = None,
) -> list[Row]:
    facts = facts or Facts()
    children = ranked_children(scheme)
    child_ids = [unit.pk for unit in children]
    exempt = dict(
        RankingExemption.objects.filter(scheme=scheme, period_key=period.key).values_list(
            "unit_id", "reason"
        )
    )
    ranked_ids = [pk for pk in child_ids if pk not in exempt]
    context = Context(
        parent=scheme.parent_unit,
        children=child_ids,
        period=period,
        co_unit_weight=scheme.co_unit_weight,
        facts=facts,
        as_of=min(period.end, today),
    )
    values: dict[str, dict[int, Decimal | None]] = {}
    scores: dict[str, dict[int, Decimal]] = {}
    for scheme_metric in metrics:
        metric_values = REGISTRY[scheme_metric.metric].compute(context)
        values[scheme_metric.metric] = metric_values
        scores[scheme_metric.metric] = scale(
            {pk: metric_values.get(pk) for pk in ranked_ids},
            higher_is_better=scheme_metric.higher_is_better,
        )
    totals: dict[int, Decimal] = {}
    for pk in ranked_ids:
        weighted = weights = Decimal(0)
        for scheme_metric in metrics:
            metric_score = scores[scheme_metric.metric].get(pk)
            if metric_score is not None:
                weighted += metric_score * scheme_metric.weight
                weights += scheme_metric.weight
        if weights:
            totals[pk] = (weighted / weights).quantize(TWO_PLACES)
    ranks = competition_ranks(totals)
    tops, bottoms = marks(ranks, scheme.top_count, scheme.bottom_count)
    previous = dict(
        RankingEntry.objects.filter(
            snapshot__scheme=scheme, snapshot__period_key=period.previous().key
        ).values_list("unit_id", "rank")
    )
    rows = []
    for pk in child_ids:
        rank = ranks.get(pk)
        previous_rank = previous.get(pk)
        rows.append(
            Row(
                unit=pk,
                values={key: _text(v.get(pk)) for key, v in values.items()},
                scores={key: _text(s.get(pk)) for key, s in scores.items()},
                score=totals.get(pk),
                rank=rank,
                previous_rank=previous_rank,
                movement=(previous_rank - rank) if rank and previous_rank else None,
                is_top=pk in tops,
                is_bottom=pk in bottoms,
                exempt_reason=exempt.get(pk, ""),
            )
        )
    return rows


def _metric_header(metrics: Iterable[SchemeMetric]) -> list[dict]:
    return [
        {
            "key": m.metric,
            "weight": str(m.weight),
            "higher_is_better": m.higher_is_better,
            "measure": REGISTRY[m.metric].measure,
        }
        for m in metrics
    ]


def _fingerprint(header: list[dict], rows: list[Row], provisional: bool) -> str:
    payload = json.dumps(
        {"metrics": header, "rows": [r.as_json() for r in rows], "provisional": provisional},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


ANALYTIC_WORK_MEM = "64MB"


def analytic_session() -> None:
    """Inside the current transaction, give PostgreSQL the memory to group a province's
    reports in a hash table rather than sorting them on disk (docs/benchmarks.md)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL work_mem = '{ANALYTIC_WORK_MEM}'")


@transaction.atomic
def ranking_compute(
    *,
    scheme: RankingScheme,
    period: periods.Period,
    today: dt.date | None = None,
    facts: Facts | None = None,
) -> RankingSnapshot:
    """Compute (or recompute) the draft snapshot of ``scheme`` for ``period``.

    Idempotent: the scheme row is locked, and when nothing changed nothing is written. A
    published snapshot is returned untouched: corrections show in the next period.
    """
    today = today or timezone.localdate()
    if period.kind != scheme.cadence:
        raise ValidationError(_("The period does not match the scheme's cadence."))
    if period.start > today:
        raise ValidationError(_("This period has not begun yet."))
    scheme = (
        RankingScheme.objects.select_for_update().select_related("parent_unit").get(pk=scheme.pk)
    )
    snapshot = RankingSnapshot.objects.filter(scheme=scheme, period_key=period.key).first()
    if snapshot is not None and snapshot.is_published:
        return snapshot
    metrics = list(scheme.metrics.all())
    rows = compute_rows(scheme, period, metrics=metrics, today=today, facts=facts)
    provisional = period.end >= today
    header = _metric_header(metrics)
    fingerprint = _fingerprint(header, rows, provisional)
    if snapshot is not None and snapshot.fingerprint == fingerprint:
        return snapshot
    if snapshot is None:
        snapshot = RankingSnapshot(scheme=scheme, period_key=period.key)
    snapshot.period_start, snapshot.period_end = period.start, period.end
    snapshot.is_provisional = provisional
    snapshot.metrics = header
    snapshot.fingerprint = fingerprint
    snapshot.computed_at = timezone.now()
    snapshot.save()
    RankingEntry.objects.filter(snapshot=snapshot).exclude(
        unit_id__in=[row.unit for row in rows]
    ).delete()
    fields = [
        "values",
        "scores",
        "score",
        "rank",
        "previous_rank",
        "movement",
        "is_top",
        "is_bottom",
        "exempt_reason",
    ]
    RankingEntry.objects.bulk_create(
        [
            RankingEntry(
                snapshot=snapshot,
                unit_id=row.unit,
                **{name: getattr(row, name) for name in fields},
            )
            for row in rows
        ],
        update_conflicts=True,
        unique_fields=["snapshot", "unit"],
        update_fields=fields,
    )
    return snapshot


RANKING_CHANGED = "ranking_changed"


def ranking_publish(
    *,
    snapshot: RankingSnapshot,
    actor,
    today: dt.date | None = None,
    commentary: str | None = None,
    fingerprint: str | None = None,
):
    """Freeze a draft for good: a supervisor of the ranked unit's level decides. With
    ``commentary``, the bulletin's 点评 is saved first, in the same transaction.

    ``fingerprint`` is the draft's fingerprint as the supervisor saw it: when the draft has been
    recomputed since (the daily job, another supervisor, or here because it was computed while
    its period was open), publishing is refused (code ``ranking_changed``) so that nobody
    publishes figures they have not seen. The recomputation itself stays.
    """
    today = today or timezone.localdate()
    snapshot = RankingSnapshot.objects.select_related("scheme__parent_unit").get(pk=snapshot.pk)
    if not selectors.can_supervise(actor, snapshot.scheme.parent_unit):
        raise PermissionDenied(_("Only a supervisor may publish a ranking."))
    if snapshot.is_provisional and not snapshot.is_published and snapshot.period_end < today:
        # Computed while the period was open: bring it up to date before freezing it.
        ranking_compute(scheme=snapshot.scheme, period=snapshot.period, today=today)
    return _publish(
        snapshot=snapshot,
        actor=actor,
        today=today,
        commentary=commentary,
        fingerprint=fingerprint,
    )


@transaction.atomic
def _publish(*, snapshot, actor, today, commentary, fingerprint) -> RankingSnapshot:
    snapshot = (
        RankingSnapshot.objects.select_for_update()
        .select_related("scheme__parent_unit")
        .get(pk=snapshot.pk)
    )
    if snapshot.is_published:
        raise ValidationError(_("This ranking has already been published."))
    if snapshot.period_end >= today:
        raise ValidationError(_("The period is still open: publish it after it ends."))
    if fingerprint is not None and fingerprint != snapshot.fingerprint:
        raise ValidationError(
            _(
                "The ranking was recomputed with newer figures after you opened it (computed "
                "%(when)s). Check it again, then publish."
            )
            % {"when": timezone.localtime(snapshot.computed_at).strftime("%Y-%m-%d %H:%M")},
            code=RANKING_CHANGED,
        )
    if commentary is not None:
        snapshot.commentary = ranking_set_commentary(
            snapshot=snapshot, commentary=commentary, actor=actor
        ).commentary
    snapshot.status = SnapshotStatus.PUBLISHED
    snapshot.published_at = timezone.now()
    snapshot.published_by = actor
    # The bulletin issued with it: number, date, red-light projects, overdue issues, frozen.
    snapshot.bulletin = bulletins.freeze(snapshot, today=today)
    snapshot.save(
        update_fields=["status", "published_at", "published_by", "bulletin", "updated_at"]
    )
    notifications.notify_ranking_published(snapshot, actor=actor)
    return snapshot


def ranking_recompute(
    *, snapshot: RankingSnapshot, actor, today: dt.date | None = None
) -> tuple[RankingSnapshot, bool]:
    """A supervisor brings a draft up to date now rather than at the next daily run. Returns
    the snapshot and whether anything changed. A published ranking is never recomputed."""
    snapshot = RankingSnapshot.objects.select_related("scheme__parent_unit").get(pk=snapshot.pk)
    if not selectors.can_supervise(actor, snapshot.scheme.parent_unit):
        raise PermissionDenied(_("Only a supervisor may recompute a ranking."))
    if snapshot.is_published:
        raise ValidationError(_("This ranking has been published: it never changes."))
    before = snapshot.fingerprint
    snapshot = ranking_compute(scheme=snapshot.scheme, period=snapshot.period, today=today)
    return snapshot, snapshot.fingerprint != before


@transaction.atomic
def ranking_set_commentary(*, snapshot: RankingSnapshot, commentary: str, actor) -> RankingSnapshot:
    """The supervisor's 点评 for the bulletin; it can change until the ranking is published."""
    snapshot = (
        RankingSnapshot.objects.select_for_update()
        .select_related("scheme__parent_unit")
        .get(pk=snapshot.pk)
    )
    if not selectors.can_supervise(actor, snapshot.scheme.parent_unit):
        raise PermissionDenied(_("Only a supervisor may write the commentary."))
    if snapshot.is_published:
        raise ValidationError(
            {"commentary": _("This ranking has been published: its commentary is final.")}
        )
    snapshot.commentary = commentary.strip().replace("\r\n", "\n")
    snapshot.full_clean(
        exclude=[f.name for f in RankingSnapshot._meta.fields if f.name != "commentary"]
    )
    snapshot.save(update_fields=["commentary", "updated_at"])
    return snapshot


# ---------------------------------------------------------------------------------------------
# What is due
# ---------------------------------------------------------------------------------------------


def due_periods(
    scheme: RankingScheme, today: dt.date
) -> tuple[list[periods.Period], periods.Period]:
    """Closed periods since ``starts_on`` to compute, and the open period.

    A closed period is computed when it has no final snapshot (a snapshot computed while the
    period was open is provisional, so it is due again once the period closes), and again every
    day while its draft is unpublished and the period ended less than
    ``TRACKER_RANKING_REFRESH_DAYS`` ago: reports of the period arrive up to their deadline
    after it, and corrections later, and the draft a supervisor reviews should show them.
    Recomputing writes nothing when nothing changed.
    """
    current = periods.containing(scheme.cadence, today)
    if scheme.starts_on > current.end:
        return [], current
    refresh_from = today - dt.timedelta(days=settings.TRACKER_RANKING_REFRESH_DAYS)
    settled = set(
        scheme.snapshots.filter(is_provisional=False)
        .filter(Q(status=SnapshotStatus.PUBLISHED) | Q(period_end__lt=refresh_from))
        .values_list("period_key", flat=True)
    )
    closed = [
        p
        for p in periods.iter_between(scheme.cadence, scheme.starts_on, today)
        if p.end < today and p.key not in settled
    ]
    return closed, current
