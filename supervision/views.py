"""Ranking pages: /rankings/ (every visible scheme with its latest ranking) and one ranking with
its comparison to the previous period; supervisors preview drafts and publish them there."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Count, OuterRef, Q, Subquery, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from supervision import rankings, selectors
from supervision.alerts import RULES
from supervision.forms_bulletins import CommentaryForm
from supervision.metrics import REGISTRY
from supervision.models import AlertLevel, RankingEntry, RankingSnapshot, SnapshotStatus
from supervision.ranking_history import rank_history


@login_required
def ranking_index(request: HttpRequest) -> HttpResponse:
    snapshots = selectors.visible_snapshots(request.user)
    latest = snapshots.filter(scheme=OuterRef("pk")).order_by("-period_start")
    schemes = list(
        selectors.visible_schemes(request.user)
        .filter(is_active=True)
        .select_related("parent_unit")
        .annotate(
            latest_id=Subquery(latest.values("pk")[:1]),
            published_id=Subquery(latest.filter(status=SnapshotStatus.PUBLISHED).values("pk")[:1]),
            # closed periods computed and not yet published (only supervisors see drafts)
            awaiting_id=Subquery(
                latest.filter(status=SnapshotStatus.DRAFT, is_provisional=False).values("pk")[:1]
            ),
            awaiting_count=Subquery(
                snapshots.filter(
                    scheme=OuterRef("pk"), status=SnapshotStatus.DRAFT, is_provisional=False
                )
                .values("scheme")
                .annotate(n=Count("pk"))
                .values("n")[:1]
            ),
        )
    )
    shown = {s.published_id or s.latest_id for s in schemes} - {None}
    drafts = {s.latest_id for s in schemes if s.latest_id != s.published_id} - {None}
    awaiting = {s.awaiting_id for s in schemes} - {None}
    by_pk = {
        snap.pk: snap for snap in RankingSnapshot.objects.filter(pk__in=shown | drafts | awaiting)
    }
    marked: dict[int, list[RankingEntry]] = {}
    for entry in RankingEntry.objects.filter(
        Q(is_top=True) | Q(is_bottom=True), snapshot__in=shown
    ).select_related("unit"):
        marked.setdefault(entry.snapshot_id, []).append(entry)
    rows = []
    for scheme in schemes:
        snapshot = by_pk.get(scheme.published_id or scheme.latest_id)
        entries = sorted(marked.get(snapshot.pk, []) if snapshot else [], key=lambda e: e.rank)
        rows.append(
            {
                "scheme": scheme,
                "snapshot": snapshot,
                "draft": by_pk.get(scheme.latest_id) if scheme.latest_id in drafts else None,
                "awaiting": by_pk.get(scheme.awaiting_id)
                if scheme.awaiting_id != scheme.latest_id
                else None,
                "awaiting_count": scheme.awaiting_count or 0,
                "top": [e for e in entries if e.is_top],
                "bottom": [e for e in entries if e.is_bottom],
                "metrics": [REGISTRY[m["key"]].label for m in snapshot.metrics] if snapshot else [],
            }
        )
    return render(request, "supervision/ranking_index.html", {"rows": rows})


def _shown(value: str | None, measure: str) -> str | None:
    """Counts without decimals (1, 0.5 with a co-unit weight); rates with two."""
    if value is None or measure:
        return value
    return format(Decimal(value).normalize(), "f")


def _snapshot_for(request: HttpRequest, pk: int) -> RankingSnapshot:
    snapshot = (
        selectors.visible_snapshots(request.user)
        .select_related("scheme__parent_unit", "published_by")
        .filter(pk=pk)
        .first()
    )
    if snapshot is None:
        raise Http404(_("No such ranking in your scope."))
    return snapshot


@login_required
def ranking_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return ranking_detail_page(request, _snapshot_for(request, pk))


def ranking_detail_page(
    request: HttpRequest,
    snapshot: RankingSnapshot,
    *,
    commentary_form: CommentaryForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The ranking page; with a bound commentary form when a supervisor's entry was refused."""
    entries = list(snapshot.entries.select_related("unit"))
    previous = {
        e.unit_id: e
        for e in RankingEntry.objects.filter(
            snapshot__scheme=snapshot.scheme,
            snapshot__period_key=snapshot.period.previous().key,
        )
    }
    columns = [
        {**m, "label": REGISTRY[m["key"]].label, "help": REGISTRY[m["key"]].help}
        for m in snapshot.metrics
    ]
    for entry in entries:
        entry.cells = [
            {
                "value": _shown(entry.values.get(c["key"]), c["measure"]),
                "score": entry.scores.get(c["key"]),
                "measure": c["measure"],
                "label": c["label"],
            }
            for c in columns
        ]
        before = previous.get(entry.unit_id)
        entry.previous_score = before.score if before else None
    others = list(
        selectors.visible_snapshots(request.user)
        .filter(scheme=snapshot.scheme)
        .order_by("-period_start")
        .values("pk", "period_key", "status", "is_provisional")
    )
    for other in others:
        other["label"] = RankingSnapshot(period_key=other["period_key"]).period_label
    supervises = not snapshot.is_published and selectors.can_publish(request.user, snapshot)
    closed = snapshot.period_end < timezone.localdate()
    can_publish = supervises and closed
    if supervises and commentary_form is None:
        commentary_form = CommentaryForm(initial={"commentary": snapshot.commentary})
    # Published periods up to this one; a draft's page shows the history that led to it.
    history = rank_history(snapshot.scheme_id, until=snapshot.period_start)
    return render(
        request,
        "supervision/ranking_detail.html",
        {
            "snapshot": snapshot,
            "scheme": snapshot.scheme,
            "entries": entries,
            "columns": columns,
            "others": others,
            "can_publish": can_publish,
            "can_recompute": supervises,
            # computed while the period was open, which has closed since
            "outdated": snapshot.is_provisional and closed,
            "commentary_form": commentary_form if supervises else None,
            "ranked": sum(1 for e in entries if e.rank is not None),
            "history": history,
            "chart": history.chart_data(),
        },
        status=status,
    )


def _keep_commentary(request: HttpRequest, snapshot: RankingSnapshot, commentary: str) -> None:
    """Save what the supervisor typed when the action it came with was refused, so that it is
    still in the form after the redirect."""
    try:
        rankings.ranking_set_commentary(
            snapshot=snapshot, commentary=commentary, actor=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))


@login_required
@require_POST
def ranking_publish(request: HttpRequest, pk: int) -> HttpResponse:
    snapshot = _snapshot_for(request, pk)
    commentary = None
    if "commentary" in request.POST:  # the commentary form's publish button sends it along
        form = CommentaryForm(request.POST)
        if not form.is_valid():
            return ranking_detail_page(request, snapshot, commentary_form=form, status=400)
        commentary = form.cleaned_data["commentary"]
    try:
        rankings.ranking_publish(
            snapshot=snapshot,
            actor=request.user,
            commentary=commentary,
            fingerprint=request.POST.get("fingerprint") or None,
        )
    except ValidationError as exc:
        if commentary is not None:
            _keep_commentary(request, snapshot, commentary)
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Published %(ranking)s. It will not change again.") % {"ranking": snapshot},
        )
    return redirect("ranking_detail", pk=snapshot.pk)


@login_required
@require_POST
def ranking_recompute(request: HttpRequest, pk: int) -> HttpResponse:
    """A supervisor recomputes a draft now (the daily job does it every night)."""
    snapshot = _snapshot_for(request, pk)
    if "commentary" in request.POST:  # the button sits in the commentary form: keep the text
        form = CommentaryForm(request.POST)
        if not form.is_valid():
            return ranking_detail_page(request, snapshot, commentary_form=form, status=400)
        if form.cleaned_data["commentary"] != snapshot.commentary:
            _keep_commentary(request, snapshot, form.cleaned_data["commentary"])
    try:
        snapshot, changed = rankings.ranking_recompute(snapshot=snapshot, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if changed:
            messages.success(request, _("Recomputed with the latest figures."))
        else:
            messages.info(request, _("Recomputed: nothing has changed."))
    return redirect("ranking_detail", pk=snapshot.pk)


@login_required
def alert_board(request: HttpRequest) -> HttpResponse:
    """预警看板: the active alerts in the user's scope, by rule and level, with filters."""
    alerts = selectors.visible_alerts(request.user).filter(resolved_at__isnull=True)
    rule = request.GET.get("rule", "")
    level = request.GET.get("level", "")
    if rule in RULES:
        alerts = alerts.filter(rule__key=rule)
    if level in AlertLevel.values:
        alerts = alerts.filter(level=level)
    counts = {
        (row["rule__key"], row["level"]): row["n"]
        for row in selectors.visible_alerts(request.user)
        .filter(resolved_at__isnull=True)
        .values("rule__key", "level")
        .annotate(n=Count("pk"))
        .order_by()
    }
    summary = [
        {
            "key": key,
            "label": r.label,
            "red": counts.get((key, AlertLevel.RED), 0),
            "yellow": counts.get((key, AlertLevel.YELLOW), 0),
        }
        for key, r in RULES.items()
    ]
    paginator = Paginator(
        alerts.select_related("rule", "project", "unit").order_by(
            Case(When(level=AlertLevel.RED, then=Value(0)), default=Value(1)), "-value", "id"
        ),
        50,
    )
    page = paginator.get_page(request.GET.get("page"))
    for alert in page:
        alert.measure = RULES[alert.rule.key].measure if alert.rule.key in RULES else ""
        alert.label = RULES[alert.rule.key].label if alert.rule.key in RULES else alert.rule.key
    return render(
        request,
        "supervision/alert_board.html",
        {"summary": summary, "page_obj": page, "rule": rule, "level": level},
    )
