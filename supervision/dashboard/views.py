"""驾驶舱 /dashboard/ (with ?unit=<id>&date=YYYY-MM-DD), its Excel export, and the unit scorecard
/units/<id>/. The dashboard reads one stored row of figures (``DashboardSnapshot``)."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from projects import selectors as project_selectors
from projects.models import Light, Target, TargetMetric, Unit, path_ids
from supervision import selectors
from supervision.dashboard import figures as dashboard_figures
from supervision.dashboard import presenter as dashboard_presenter
from supervision.models import ISSUE_ACTIVE_STATUSES, RankingEntry, SnapshotStatus
from tracker import spreadsheets
from tracker.spreadsheets import Column


def _unit_trail(user, unit: Unit) -> tuple[list[Unit], list[Unit]]:
    """The unit's ancestors the user may open, and its children: one query each."""
    ancestor_ids = path_ids(unit.path)[:-1]
    visible = project_selectors.visible_units(user)
    ancestors = list(visible.filter(pk__in=ancestor_ids).order_by("depth"))
    children = list(Unit.objects.filter(parent=unit, is_active=True).order_by("sort_order", "name"))
    return ancestors, children


@login_required
def dashboard_page(request: HttpRequest) -> HttpResponse:
    try:
        unit, day, snapshot = dashboard_presenter.load(request.user, request.GET)
    except (dashboard_presenter.BadInput, dashboard_figures.TooManyComputations) as exc:
        # Say why, and show today's figures (never throttled) instead.
        if isinstance(exc, dashboard_figures.TooManyComputations):
            messages.error(request, dashboard_presenter.too_many_message(exc))
            status = 429
        else:
            messages.error(request, str(exc))
            status = 400
        params = request.GET.copy()
        params.pop("date", None)
        if params.get("unit", "").isdigit() or not params.get("unit"):
            unit, day, snapshot = dashboard_presenter.load(request.user, params)
        else:
            unit, day, snapshot = dashboard_presenter.load(request.user, {})
    else:
        status = 200
    ancestors, children = _unit_trail(request.user, unit)
    shown = dashboard_presenter.present(snapshot.data, unit)
    context = {
        "unit": unit,
        "day": day,
        "day_iso": day.isoformat(),
        "dashboard_url": reverse("dashboard"),
        "today": timezone.localdate(),
        "snapshot": snapshot,
        "data": snapshot.data,
        "ancestors": ancestors,
        "children": children,
        "rankings": dashboard_presenter.latest_rankings(request.user, unit, day),
        **shown,
    }
    return render(request, "supervision/dashboard.html", context, status=status)


@login_required
@require_POST
def dashboard_refresh(request: HttpRequest) -> HttpResponse:
    """Recompute the figures of the unit's subtree for the day now (the nightly job does it for
    everyone)."""
    try:
        unit, day = dashboard_presenter.choose(request.user, request.POST)
    except dashboard_presenter.BadInput as exc:
        messages.error(request, str(exc))
        return redirect("dashboard")
    try:
        dashboard_figures.recompute_for(request.user, day, unit)
    except dashboard_figures.NoDataYet as exc:
        messages.error(request, dashboard_presenter.no_data_message(exc))
        return redirect("dashboard")
    except dashboard_figures.TooManyComputations as exc:
        messages.error(request, dashboard_presenter.too_many_message(exc))
    else:
        messages.success(request, _("The figures were recomputed."))
    return redirect(f"{request.path.rsplit('refresh/', 1)[0]}?unit={unit.pk}&date={day:%Y-%m-%d}")


def _number(value) -> Decimal | int | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, int) else Decimal(str(value))


@login_required
def dashboard_export(request: HttpRequest) -> HttpResponse:
    """The dashboard's figures as an .xlsx: the same stored numbers as the page and the API."""
    try:
        unit, day, snapshot = dashboard_presenter.load(request.user, request.GET)
    except dashboard_presenter.BadInput as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    except dashboard_figures.TooManyComputations as exc:
        return HttpResponse(
            dashboard_presenter.too_many_message(exc),
            status=429,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": str(exc.wait)},
        )
    shown = dashboard_presenter.present(snapshot.data, unit)
    book = spreadsheets.Spreadsheet()
    sheet = book.sheet(
        _("Overview"), [Column(_("figure")), Column(_("value")), Column(_("unit of measure"))]
    )
    sheet.heading(_("%(unit)s key projects dashboard") % {"unit": unit.display_name}, span=1)
    sheet.row(
        [_("as of"), day.isoformat(), _("figures through"), snapshot.data.get("through") or "—"]
    )
    sheet.blank()
    sheet.header(alignment=None)
    measures = {"wan": _("10k yuan"), "%": "%", "pt": _("percentage points")}
    sheet.rows(
        [figure.label, _number(figure.value), measures.get(figure.measure, figure.measure)]
        for figure in shown["headline"]
    )

    def table(title: str, headers: list[str], rows: list[list]) -> None:
        ws = book.sheet(title, [Column(header) for header in headers])
        ws.header(alignment=None)
        ws.rows([str(row[0]), *(_number(v) for v in row[1:])] for row in rows)

    share_headers = [_("projects"), _("share (%)"), _("total investment (10k yuan)")]
    table(
        _("By category"),
        [
            _("category"),
            *share_headers,
            _("annual plan (10k yuan)"),
            _("completed this year (10k yuan)"),
        ],
        [
            [r["label"], r["count"], r["share"], r["total_investment"], r["plan"], r["ytd"]]
            for r in shown["by_category"]
        ],
    )
    table(
        _("By township"),
        [
            _("township"),
            *share_headers,
            _("annual plan (10k yuan)"),
            _("completed this year (10k yuan)"),
        ],
        [
            [r["name"], r["count"], r["share"], r["total_investment"], r["plan"], r["ytd"]]
            for r in snapshot.data["by_township"]  # all of them, not only the page's head
        ],
    )
    table(
        _("By tier and level"),
        [_("group"), *share_headers],
        [
            [r["label"], r["count"], r["share"], r["total_investment"]]
            for r in [*shown["by_tier"], *shown["by_level"], *shown["size"]]
        ],
    )
    funnel = shown["funnel"]
    table(
        _("Investment attraction"),
        [_("step"), _("projects")],
        [
            *[[s["label"], s["count"]] for s in shown["funnel_steps"]],
            [_("signed → started (%)"), funnel["start_rate"]],
            [_("started → in production (%)"), funnel["produce_rate"]],
            [_("median days from signing to start"), funnel["median_days_to_start"]],
            [_("median days from start to production"), funnel["median_days_to_produce"]],
        ],
    )
    table(
        _("Upward funding"),
        [_("unit"), _("target (10k yuan)"), _("won (10k yuan)"), _("completion (%)")],
        [[r["name"], r["target"], r["actual"], r["rate"]] for r in shown["funding"]["by_unit"]],
    )
    table(
        _("Overdue issues"),
        [_("escalation level"), _("items")],
        [[r["label"], r["count"]] for r in shown["overdue"]],
    )
    table(
        _("By month"),
        [
            _("month"),
            _("completed this year (10k yuan)"),
            _("on schedule (10k yuan)"),
            _("same period last year (10k yuan)"),
        ],
        [[r["month"], r["ytd"], r["schedule"], r["last_year"]] for r in snapshot.data["monthly"]],
    )
    name = _("dashboard-%(unit)s-%(date)s.xlsx") % {
        "unit": unit.display_name,
        "date": day.isoformat(),
    }
    return book.response(name)


@login_required
def unit_scorecard(request: HttpRequest, pk: int) -> HttpResponse:
    """A unit's card: its figures, projects (lights first), ledger items, targets and its rank
    history across schemes."""
    unit = project_selectors.visible_units(request.user).filter(pk=pk).first()
    if unit is None:
        raise Http404
    today = timezone.localdate()
    snapshot = dashboard_figures.snapshot_for(unit, today)
    light_order = {Light.RED: 0, Light.YELLOW: 1, Light.GREEN: 2}
    projects = list(
        project_selectors.visible_projects(request.user)
        .in_unit_subtree(unit)
        .exclude(stage="cancelled")
        .select_related("lead_unit")
        .order_by("-total_investment", "pk")[:200]
    )
    projects.sort(key=lambda p: (light_order.get(p.light, 3), -p.total_investment))
    issues = list(
        selectors.visible_issues(request.user)
        .filter(unit__path__startswith=unit.path, status__in=ISSUE_ACTIVE_STATUSES)
        .select_related("unit", "project")
        .order_by("deadline", "pk")[:50]
    )
    targets = list(Target.objects.filter(unit=unit, year=today.year).order_by("metric"))
    metric_labels = dict(TargetMetric.choices)
    target_rows = [
        {
            "label": metric_labels.get(t.metric, t.metric),
            "target": t.target_value,
            "actual": t.actual_value,
            "rate": dashboard_figures.share(t.actual_value, t.target_value),
            "count": t.metric in ("projects_started", "projects_signed"),
        }
        for t in targets
    ]
    entries = list(
        RankingEntry.objects.filter(
            unit=unit,
            snapshot__in=selectors.visible_snapshots(request.user).filter(
                status=SnapshotStatus.PUBLISHED
            ),
        )
        .select_related("snapshot__scheme")
        .order_by("snapshot__scheme__sort_order", "snapshot__scheme_id", "snapshot__period_start")
    )
    history: dict[int, dict] = {}
    for entry in entries:
        scheme = entry.snapshot.scheme
        board = history.setdefault(
            scheme.pk, {"scheme": scheme.name, "periods": [], "ranks": [], "scores": [], "rows": []}
        )
        board["periods"].append(entry.snapshot.period_label)
        board["ranks"].append(entry.rank)
        board["scores"].append(entry.score)
        board["rows"].append(entry)
    project_count = (
        project_selectors.visible_projects(request.user)
        .in_unit_subtree(unit)
        .exclude(stage="cancelled")
        .count()
    )
    shown = dashboard_presenter.present(snapshot.data, unit)
    return render(
        request,
        "supervision/unit_scorecard.html",
        {
            "unit": unit,
            "snapshot": snapshot,
            "data": snapshot.data,
            "headline": shown["headline"],
            "projects": projects,
            "project_count": project_count,
            "issues": issues,
            "targets": target_rows,
            "history": list(history.values()),
            "history_chart": [
                {
                    "scheme": b["scheme"],
                    "periods": b["periods"],
                    "ranks": b["ranks"],
                    "rank_label": _("rank"),
                }
                for b in history.values()
            ],
        },
    )
