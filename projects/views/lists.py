"""The project list (台账) and its Excel export.

Both start from ``selectors.visible_projects(user)`` and share ``projects.filters``: what the
page shows is what the export contains. Year-to-date and annual-plan figures are correlated
subqueries, so each page runs a fixed number of queries however many projects it lists.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import cached_property

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import (
    Count,
    DecimalField,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from projects import selectors
from projects.filters import filtered_projects
from projects.models import (
    COUNTED_REPORT_STATUSES,
    MONEY,
    ZERO,
    ProgressReport,
    Project,
    ProjectYearPlan,
)
from tracker import spreadsheets
from tracker.spreadsheets import Column, Spreadsheet

PAGE_SIZE = 25
TENTH = Decimal("0.1")

# Sortable column headers: key → whether the first click sorts descending.
SORTABLE_COLUMNS = {
    "name": False,
    "unit": False,
    "stage": False,
    "total_investment": True,
    "updated": True,
}


def with_figures(queryset: QuerySet[Project], today: dt.date) -> QuerySet[Project]:
    """Annotate ``year_to_date`` (counted reports this year) and ``year_plan`` (this year's plan).

    Both are correlated subqueries, never joins: a join of reports and plans would multiply rows.
    A bundle's year-to-date figure is that of its sub-projects (bundles do not report).
    """
    money = DecimalField(**MONEY)
    year_to_date = (
        ProgressReport.objects.filter(
            Q(project=OuterRef("pk")) | Q(project__parent=OuterRef("pk")),
            status__in=COUNTED_REPORT_STATUSES,
            period_start__gte=dt.date(today.year, 1, 1),
            period_start__lte=today,
        )
        .order_by()
        # A plain SUM without GROUP BY: one row per outer project, whichever rows match.
        .annotate(total=Func(F("investment"), function="SUM", output_field=money))
        .values("total")
    )
    year_plan = ProjectYearPlan.objects.filter(project=OuterRef("pk"), year=today.year).values(
        "planned_investment"
    )[:1]
    return queryset.annotate(
        year_to_date=Coalesce(Subquery(year_to_date, output_field=money), ZERO, output_field=money),
        year_plan=Subquery(year_plan, output_field=money),
    )


def completion_share(year_to_date: Decimal | None, plan: Decimal | None) -> Decimal | None:
    """Year-to-date ÷ annual plan as a fraction; None without a plan."""
    if not plan:
        return None
    return (year_to_date or ZERO) / plan


class KnownCountPaginator(Paginator):
    """A paginator told the count already computed with the page totals (one query less)."""

    def __init__(self, *args, count: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._known_count = count

    @cached_property
    def count(self) -> int:
        return self._known_count


def can_create_projects(user) -> bool:
    if selectors.is_global(user):
        return True
    return any(m.role in selectors.EDIT_ROLES for m in selectors.user_memberships(user))


def _sort_headers(request: HttpRequest, current: str) -> dict[str, dict[str, str]]:
    """For each sortable column: the link that sorts by it (toggling) and the current arrow."""
    headers: dict[str, dict[str, str]] = {}
    descending_now = current.startswith("-")
    for key, first_descending in SORTABLE_COLUMNS.items():
        active = current.lstrip("-") == key
        if active:
            target = key if descending_now else f"-{key}"
        else:
            target = f"-{key}" if first_descending else key
        params = request.GET.copy()
        params["sort"] = target
        params.pop("page", None)
        arrow = ("↓" if descending_now else "↑") if active else ""
        headers[key] = {"url": f"?{params.urlencode()}", "arrow": arrow}
    return headers


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    filterset, projects = filtered_projects(request)
    totals = projects.order_by().aggregate(
        count=Count("id"), total_investment=Sum("total_investment")
    )
    rows = with_figures(projects.select_related("lead_unit", "township", "lead_leader"), today)
    paginator = KnownCountPaginator(rows, PAGE_SIZE, count=totals["count"])
    page = paginator.get_page(request.GET.get("page"))
    for project in page.object_list:
        share = completion_share(project.year_to_date, project.year_plan)
        project.year_share_percent = None if share is None else (share * 100).quantize(TENTH)
    context = {
        "filter": filterset,
        "page_obj": page,
        "paginator": paginator,
        "totals": totals,
        "year": today.year,
        "sort_headers": _sort_headers(request, filterset.sort_key),
        "can_create": can_create_projects(request.user),
        "is_filtered": any(v for k, v in request.GET.items() if k not in ("page", "sort")),
    }
    return render(request, "projects/project_list.html", context)


# ---------------------------------------------------------------------------------------------
# Excel export
# ---------------------------------------------------------------------------------------------


def _columns() -> list[Column]:
    """The export's columns, in order."""
    field = Project._meta.get_field
    plan_field = ProjectYearPlan._meta.get_field
    money, percent, date = spreadsheets.MONEY, spreadsheets.PERCENT, spreadsheets.DATE
    return [
        Column(_("No."), 6),
        Column(field("code").verbose_name, 14),
        Column(_("project name"), 36, wrap=True),
        Column(field("kind").verbose_name, 10),
        Column(field("level").verbose_name, 14),
        Column(field("category").verbose_name, 12),
        Column(field("tier").verbose_name, 10),
        Column(field("build_type").verbose_name, 10),
        Column(field("source").verbose_name, 12),
        Column(field("is_private").verbose_name, 8),
        Column(field("lead_unit").verbose_name, 18),
        Column(field("cooperating_units").verbose_name, 24, wrap=True),
        Column(field("township").verbose_name, 12),
        Column(field("lead_leader").verbose_name, 14),
        Column(field("co_leaders").verbose_name, 18),
        Column(field("owner").verbose_name, 24),
        Column(field("description").verbose_name, 40, wrap=True),
        Column(field("total_investment").verbose_name, 14, money),
        Column(plan_field("planned_investment").verbose_name, 14, money),
        Column(_("investment completed this year (10k yuan)"), 14, money),
        Column(_("completion rate"), 10, percent),
        Column(field("stage").verbose_name, 10),
        Column(plan_field("planned_start").verbose_name, 12, date),
        Column(plan_field("planned_completion").verbose_name, 12, date),
        Column(field("red_card").verbose_name, 8),
        Column(field("red_card_reason").verbose_name, 30, wrap=True),
        Column(_("latest problems reported"), 40, wrap=True),
    ]


def export_rows(queryset: QuerySet[Project], today: dt.date) -> QuerySet[Project]:
    latest_problems = (
        ProgressReport.objects.filter(project=OuterRef("pk"), status__in=COUNTED_REPORT_STATUSES)
        .order_by("-period_start")
        .values("problems")[:1]
    )
    return (
        with_figures(queryset, today)
        .annotate(latest_problems=Subquery(latest_problems))
        .select_related("lead_unit", "township", "lead_leader")
        .prefetch_related(
            "cooperating_units",
            "co_leaders",
            Prefetch(
                "year_plans",
                queryset=ProjectYearPlan.objects.filter(year=today.year),
                to_attr="current_year_plans",
            ),
        )
    )


def _row(number: int, project: Project) -> list[object]:
    yes, no = _("Yes"), _("No")
    plan = project.current_year_plans[0] if project.current_year_plans else None
    return [
        number,
        project.code,
        project.name,
        project.get_kind_display(),
        project.get_level_display(),
        project.get_category_display(),
        project.get_tier_display(),
        project.get_build_type_display(),
        project.get_source_display(),
        yes if project.is_private else no,
        project.lead_unit.name,
        "、".join(u.name for u in project.cooperating_units.all()),
        project.township.name if project.township else "",
        project.lead_leader.name if project.lead_leader else "",
        "、".join(leader.name for leader in project.co_leaders.all()),
        project.owner,
        project.description,
        project.total_investment,
        project.year_plan,
        project.year_to_date,
        completion_share(project.year_to_date, project.year_plan),
        project.get_stage_display(),
        plan.planned_start if plan else None,
        plan.planned_completion if plan else None,
        yes if project.red_card else no,
        project.red_card_reason,
        project.latest_problems or "",
    ]


def build_workbook(projects: QuerySet[Project], exported_at: dt.datetime) -> Spreadsheet:
    book = Spreadsheet()
    sheet = book.sheet(_("key projects"), _columns())
    sheet.heading(
        _("Key project ledger (exported %(time)s)")
        % {"time": exported_at.strftime("%Y-%m-%d %H:%M")}
    )
    sheet.header()
    sheet.rows(_row(number, project) for number, project in enumerate(projects, start=1))
    sheet.freeze("D3")  # headers and the number, code and name stay in view
    sheet.filter()
    return book


@login_required
def project_list_export(request: HttpRequest) -> HttpResponse:
    now = timezone.localtime()
    _filterset, projects = filtered_projects(request)
    book = build_workbook(export_rows(projects, now.date()), now)
    name = _("key projects")
    return book.response(f"{name}-{now:%Y%m%d-%H%M}.xlsx")
