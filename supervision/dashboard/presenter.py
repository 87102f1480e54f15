"""What the dashboard page, its Excel export and its API share: choosing the unit and the day,
reading the stored figures, and turning them into labelled rows with the links behind them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from projects import selectors as project_selectors
from projects.models import Category, ProjectLevel, TargetMetric, Tier, Unit, path_ids
from supervision import selectors
from supervision.dashboard import figures as dashboard_figures
from supervision.models import (
    DashboardSnapshot,
    EscalationLevel,
    RankingEntry,
    SnapshotStatus,
)
from tracker import dates

# A province has hundreds of townships: the chart shows the largest plans, the table a few more.
CHART_TOWNSHIPS = 15
TABLE_TOWNSHIPS = 40


class BadInput(ValueError):
    """A query parameter that cannot be used; the message is for the user."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def default_unit(user) -> Unit | None:
    """The top of the user's scope (the widest unit), or the first root for administrators."""
    if project_selectors.is_global(user):
        return Unit.objects.filter(parent__isnull=True).order_by("sort_order", "pk").first()
    paths = project_selectors.scope_paths(user)
    if not paths:
        return None
    widest = min(paths, key=lambda p: (p.count("/"), p))
    for membership in project_selectors.user_memberships(user):
        if membership.unit.path == widest:
            return membership.unit
    return None  # pragma: no cover - a scope path always comes from a membership


def choose(user, params) -> tuple[Unit, dt.date]:
    """The unit and day asked for in ``params`` (``unit``, ``date``), checked against scope."""
    today = timezone.localdate()
    raw_date = (params.get("date") or "").strip()
    if raw_date:
        try:
            day = dates.parse_plausible_date(raw_date)
        except ValidationError as exc:
            raise BadInput("date", exc.messages[0]) from None
        if day > today:
            raise BadInput("date", _("The date cannot be after today."))
    else:
        day = today
    raw_unit = (params.get("unit") or "").strip()
    if raw_unit:
        if not raw_unit.isdigit():
            raise BadInput("unit", _("“%(value)s” is not a unit.") % {"value": raw_unit})
        unit = project_selectors.visible_units(user).filter(pk=int(raw_unit)).first()
        if unit is None:
            raise PermissionDenied(_("This unit is outside your scope."))
    else:
        unit = default_unit(user)
        if unit is None:
            raise PermissionDenied(_("You have no unit to show."))
    return unit, day


def latest_rankings(user, unit: Unit, day: dt.date) -> list[dict]:
    """The latest published rankings by ``day`` that rank the unit's children or the unit itself,
    with movement: two queries."""
    ancestors = path_ids(unit.path)
    latest = (
        selectors.visible_snapshots(user)
        .filter(
            scheme=OuterRef("pk"),
            status=SnapshotStatus.PUBLISHED,
            period_end__lte=day,
            published_at__date__lte=day,
        )
        .order_by("-period_start")
        .values("pk")[:1]
    )
    schemes = (
        selectors.visible_schemes(user)
        .filter(is_active=True, parent_unit_id__in=ancestors)
        .annotate(latest_id=Subquery(latest))
        .filter(latest_id__isnull=False)
    )
    snapshot_ids = list(schemes.values_list("latest_id", flat=True))
    entries = (
        RankingEntry.objects.filter(snapshot_id__in=snapshot_ids)
        .filter(
            Q(unit=unit)
            | Q(snapshot__scheme__parent_unit=unit) & (Q(is_top=True) | Q(is_bottom=True))
        )
        .select_related("unit", "snapshot__scheme")
        .only(  # not the snapshots' frozen bulletins nor the entries' metric values
            "unit_id",
            "rank",
            "score",
            "movement",
            "is_top",
            "is_bottom",
            "unit__name",
            "unit__short_name",
            "snapshot__period_key",
            "snapshot__scheme__name",
        )
        .order_by("snapshot__scheme__sort_order", "snapshot__scheme_id", "rank", "unit__path")
    )
    boards: dict[int, dict] = {}
    for entry in entries:
        snapshot = entry.snapshot
        board = boards.setdefault(
            snapshot.pk,
            {
                "scheme": snapshot.scheme.name,
                "period": snapshot.period_label,
                "url": reverse("ranking_detail", args=[snapshot.pk]),
                "own": None,
                "entries": [],
            },
        )
        row = {
            "unit": entry.unit.display_name,
            "unit_id": entry.unit_id,
            "rank": entry.rank,
            "score": entry.score,
            "movement": entry.movement,
            "is_top": entry.is_top,
            "is_bottom": entry.is_bottom,
        }
        if entry.unit_id == unit.pk:
            board["own"] = row
        else:
            board["entries"].append(row)
    return list(boards.values())


def _with_query(base: str, **params) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{base}?{urlencode(clean)}" if clean else base


def _d(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


@dataclass
class Figure:
    """One labelled figure with the list behind it."""

    key: str
    label: str
    value: Decimal | int | None
    measure: str = ""  # "万元", "%", "个"
    url: str = ""


def present(data: dict, unit: Unit) -> dict:
    """Labelled figures, breakdown rows and chart series, each with its drill-down link."""
    project_list, issue_list = reverse("project_list"), reverse("issue_list")
    projects = lambda **kw: _with_query(project_list, unit=unit.pk, counted="true", **kw)  # noqa: E731
    issues = lambda **kw: _with_query(issue_list, unit=unit.pk, overdue="true", **kw)  # noqa: E731
    inv, prog, lights = data["investment"], data["progress"], data["lights"]
    through = data.get("through")
    through_label = (
        _("January–%(month)s") % {"month": _("month %(n)s") % {"n": int(through[5:7])}}
        if through
        else ""
    )
    headline = [
        Figure("projects", _("key projects"), data["projects"]["count"], _("projects"), projects()),
        Figure(
            "total_investment",
            _("total investment"),
            _d(data["projects"]["total_investment"]),
            "wan",
            projects(sort="-total_investment"),
        ),
        Figure("plan", _("annual plan"), _d(inv["plan"]), "wan", projects()),
        Figure("ytd", _("completed this year"), _d(inv["ytd"]), "wan", projects()),
        Figure("ytd_share", _("share of the annual plan"), _d(inv["ytd_share"]), "%"),
        Figure("elapsed_share", _("elapsed share of the year"), _d(inv["elapsed_share"]), "%"),
        Figure("gap", _("ahead of (+) or behind (−) schedule"), _d(inv["gap"]), "pt"),
        Figure("last_year_ytd", _("same period last year"), _d(inv["last_year_ytd"]), "wan"),
        Figure("growth", _("year-on-year growth"), _d(inv["growth"]), "%"),
        Figure(
            "started", _("started"), prog["started"], _("projects"), projects(progress="started")
        ),
        Figure(
            "not_started",
            _("not started"),
            prog["not_started"],
            _("projects"),
            projects(progress="not_started"),
        ),
        Figure(
            "completed",
            _("completed"),
            prog["completed"],
            _("projects"),
            projects(progress="completed"),
        ),
        Figure("red", _("red lights"), lights["red"], _("projects"), projects(light="red")),
        Figure(
            "yellow", _("yellow lights"), lights["yellow"], _("projects"), projects(light="yellow")
        ),
        Figure(
            "overdue_issues", _("overdue issues"), data["issues"]["overdue"], _("items"), issues()
        ),
    ]

    def rows(items, label_of, param):
        return [
            {
                **row,
                "label": label_of(row["key"]),
                "url": projects(**{param: row["key"] if row["key"] != "" else None})
                if param
                else "",
            }
            for row in items
        ]

    tier_labels = dict(Tier.choices)
    by_category = rows(data["by_category"], lambda k: Category(k).label, "category")
    by_tier = [
        {
            **row,
            "label": tier_labels.get(row["key"], _("not set")),
            "url": projects(tier=row["key"]) if row["key"] else "",
        }
        for row in data["by_tier"]
    ]
    by_level = rows(data["by_level"], lambda k: ProjectLevel(k).label, "level")
    by_township = [
        {**row, "label": row["name"], "url": projects(township=row["key"])}
        for row in data["by_township"]
    ]
    size = [
        {
            **data["size"]["over_100m"],
            "label": _("100 million yuan or more"),
            "url": projects(min_investment=10000),
        },
        {
            **data["size"]["over_50m"],
            "label": _("50 million yuan or more"),
            "url": projects(min_investment=5000),
        },
        {
            **data["private"],
            "label": _("private investment"),
            "url": projects(private="true"),
        },
    ]
    funnel = data["funnel"]
    funnel_steps = [
        {
            "key": "signed",
            "label": _("signed"),
            "count": funnel["signed"],
            "url": projects(source="attraction", progress="signed"),
        },
        {
            "key": "started",
            "label": _("started"),
            "count": funnel["started"],
            "url": projects(source="attraction", progress="started"),
        },
        {
            "key": "producing",
            "label": _("in production"),
            "count": funnel["producing"],
            "url": projects(source="attraction", progress="producing"),
        },
    ]
    metric_labels = dict(TargetMetric.choices)
    funding = {
        **data["funding"],
        "by_unit": [
            {**row, "url": reverse("unit_scorecard", args=[row["id"]])}
            for row in data["funding"]["by_unit"]
        ],
    }
    at_zero = [
        {
            **row,
            "metric_label": metric_labels.get(row["metric"], row["metric"]),
            "url": reverse("unit_scorecard", args=[row["id"]]),
        }
        for row in data["targets_at_zero"]
    ]
    level_labels = dict(EscalationLevel.choices)
    overdue = [
        {**row, "label": level_labels[row["level"]], "url": issues(at_level=row["level"])}
        for row in data["issues"]["by_level"]
    ]
    light_rows = [
        {"key": "red", "label": _("red"), "count": lights["red"], "url": projects(light="red")},
        {
            "key": "yellow",
            "label": _("yellow"),
            "count": lights["yellow"],
            "url": projects(light="yellow"),
        },
        {
            "key": "green",
            "label": _("green"),
            "count": lights["green"],
            "url": projects(light="green"),
        },
    ]
    charts = {
        "monthly": {
            "months": [_("month %(n)s") % {"n": row["month"]} for row in data["monthly"]],
            "ytd": [row["ytd"] for row in data["monthly"]],
            "schedule": [row["schedule"] for row in data["monthly"]],
            "last_year": [row["last_year"] for row in data["monthly"]],
            "url": projects(),
            "names": [
                _("completed this year"),
                _("on schedule (序时)"),
                _("same period last year"),
            ],
        },
        "category": {
            "labels": [r["label"] for r in by_category],
            "plan": [r["plan"] for r in by_category],
            "ytd": [r["ytd"] for r in by_category],
            "count": [r["count"] for r in by_category],
            "urls": [r["url"] for r in by_category],
            "names": [_("annual plan"), _("completed this year")],
        },
        "township": {
            "labels": [r["label"] for r in by_township[:CHART_TOWNSHIPS]],
            "plan": [r["plan"] for r in by_township[:CHART_TOWNSHIPS]],
            "ytd": [r["ytd"] for r in by_township[:CHART_TOWNSHIPS]],
            "urls": [r["url"] for r in by_township[:CHART_TOWNSHIPS]],
            "names": [_("annual plan"), _("completed this year")],
        },
        "funnel": {
            "labels": [s["label"] for s in funnel_steps],
            "counts": [s["count"] for s in funnel_steps],
            "urls": [s["url"] for s in funnel_steps],
        },
        "lights": {
            "labels": [r["label"] for r in light_rows],
            "counts": [r["count"] for r in light_rows],
            "keys": [r["key"] for r in light_rows],
            "urls": [r["url"] for r in light_rows],
        },
    }
    return {
        "through_label": through_label,
        "headline": headline,
        "by_category": by_category,
        "by_tier": by_tier,
        "by_level": by_level,
        "by_township": by_township[:TABLE_TOWNSHIPS],
        "townships_more": max(len(by_township) - TABLE_TOWNSHIPS, 0),
        "size": size,
        "funnel": funnel,
        "funnel_steps": funnel_steps,
        "funding": funding,
        "at_zero": at_zero,
        "overdue": overdue,
        "lights": light_rows,
        "charts": charts,
    }


def no_data_message(exc: dashboard_figures.NoDataYet) -> str:
    if exc.first_day is None:
        return _("The platform holds no data for %(unit)s yet: only today's figures exist.") % {
            "unit": exc.unit.display_name
        }
    return _("The platform holds no data for %(unit)s before %(date)s.") % {
        "unit": exc.unit.display_name,
        "date": exc.first_day.isoformat(),
    }


def too_many_message(exc: dashboard_figures.TooManyComputations) -> str:
    return _(
        "Figures of a day not computed before are worked out at most %(count)d times a minute "
        "for each person. Try again in %(seconds)d seconds."
    ) % {"count": settings.TRACKER_DASHBOARD_COMPUTATIONS_PER_MINUTE, "seconds": exc.wait}


def load(user, params) -> tuple[Unit, dt.date, DashboardSnapshot]:
    """The unit, the day and their figures; BadInput for a day before the unit's data, and
    dashboard_figures.TooManyComputations when the user's budget of cold computations is spent."""
    unit, day = choose(user, params)
    try:
        snapshot = dashboard_figures.snapshot_for(unit, day, user=user)
    except dashboard_figures.NoDataYet as exc:
        raise BadInput("date", no_data_message(exc)) from None
    return unit, day, snapshot
