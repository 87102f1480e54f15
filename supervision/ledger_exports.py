"""Supervision's ledgers on /ledgers/: the issue ledger and the rankings, registered into the
projects app's ledger registry (``projects.ledger_registry``) from ``SupervisionConfig.ready``.

A ranking ledger is one published ranking as a sheet: 名次, 单位, the value of each metric,
得分, 上期名次, 位次变化 (places gained since the previous period).
"""

from __future__ import annotations

from decimal import Decimal

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl.styles import Alignment

from projects import ledger_registry
from supervision import selectors
from supervision.issues.views import issue_export
from supervision.metrics import REGISTRY
from supervision.models import RankingSnapshot, SnapshotStatus
from tracker import spreadsheets

LEDGER_LANGUAGE = "zh-hans"


def published_snapshots(request: HttpRequest):
    return (
        selectors.visible_snapshots(request.user)
        .filter(status=SnapshotStatus.PUBLISHED)
        .select_related("scheme")
        .order_by("-period_start", "scheme__name", "pk")
    )


def _snapshot_options(request: HttpRequest) -> list[tuple[str, str]]:
    return [
        (str(snapshot.pk), f"{snapshot.scheme.name} · {snapshot.period_label}")
        for snapshot in published_snapshots(request)[:60]
    ]


def _number(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def ranking_workbook(snapshot: RankingSnapshot) -> spreadsheets.Spreadsheet:
    with translation.override(LEDGER_LANGUAGE):
        metrics = [
            (m["key"], REGISTRY[m["key"]].label if m["key"] in REGISTRY else m["key"], m)
            for m in snapshot.metrics
        ]
        headers = ["名次", "单位"]
        for _key, label, meta in metrics:
            measure = meta.get("measure") or ""
            headers.append(f"{label}({measure})" if measure else str(label))
        headers += ["得分", "上期名次", "位次变化"]
        book = spreadsheets.Spreadsheet()
        sheet = book.sheet(
            "排名",
            [
                spreadsheets.Column(header, width=22 if index == 2 else 12)
                for index, header in enumerate(headers, start=1)
            ],
        )
        sheet.heading(
            f"{snapshot.scheme.name} {snapshot.period_label} 排名",
            alignment=Alignment(horizontal="center"),
        )
        sheet.header(fill=spreadsheets.HEADER_FILL)
        sheet.rows(
            [
                entry.rank,
                entry.unit.name,
                *[_number(entry.values.get(key)) for key, _label, _meta in metrics],
                entry.score,
                entry.previous_rank,
                entry.movement,
            ]
            for entry in snapshot.entries.select_related("unit")
        )
        sheet.freeze("C3")
    return book


def ranking_ledger_export(request: HttpRequest) -> HttpResponse:
    try:
        pk = int(request.GET.get("ranking") or 0)
    except ValueError:
        pk = 0
    snapshots = published_snapshots(request)
    snapshot = snapshots.filter(pk=pk).first() if pk else snapshots.first()
    if snapshot is None:
        raise Http404(_("No published ranking in your scope."))
    name = _("ranking ledger")
    filename = f"{name}-{snapshot.scheme.name}-{snapshot.period_key}.xlsx"
    return ranking_workbook(snapshot).response(filename)


def issue_ledger_export(request: HttpRequest) -> HttpResponse:

    return issue_export(request)


def register() -> None:
    ledger_registry.register(
        ledger_registry.LedgerExport(
            key="supervision",
            label=gettext_lazy("Supervision ledger"),
            description=gettext_lazy(
                "The issues on the supervision ledger in your scope, with owners, deadlines "
                "and status (as on the supervision ledger page)."
            ),
            view=issue_ledger_export,
            order=30,
        )
    )
    ledger_registry.register(
        ledger_registry.LedgerExport(
            key="rankings",
            label=gettext_lazy("Ranking ledger"),
            description=gettext_lazy(
                "A published ranking: rank, unit, each metric, score, previous rank and movement."
            ),
            view=ranking_ledger_export,
            params=(
                ledger_registry.ExportParam("ranking", gettext_lazy("ranking"), _snapshot_options),
            ),
            order=40,
        )
    )
