from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from projects import selectors, workspace
from projects.models import STARTED_STAGES, Milestone, ProgressReport, ReportStatus

HOME_ROWS = 50  # the workspace shows the first rows; the project list has the rest
# Reports that still need the reporter come first.
STATUS_ORDER = {"": 0, "returned": 1, "draft": 2, "submitted": 3, "approved": 4}


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """我的工作台: what the user's units must do now, each line one click from its form."""
    today = timezone.localdate()
    period = selectors.due_report_period(today)
    visible = selectors.visible_projects(request.user)
    totals = visible.aggregate(
        count=Count("id"),
        total_investment=Sum("total_investment"),
        started=Count("id", filter=Q(stage__in=STARTED_STAGES)),
        red_cards=Count("id", filter=Q(red_card=True)),
    )
    projects = list(
        visible.with_related().order_by("-red_card", "lead_unit__path", "-id")[:HOME_ROWS]
    )
    due_status = ProgressReport.objects.filter(
        project=OuterRef("pk"), period_key=period.key
    ).values("status")[:1]
    reporting = list(
        visible.reporting()
        .select_related("lead_unit")
        .annotate(report_status=Subquery(due_status))
        .order_by("lead_unit__path", "name")
    )
    reporting.sort(key=lambda p: STATUS_ORDER.get(p.report_status or "", 0))
    status_counts = dict.fromkeys(STATUS_ORDER, 0)
    for project in reporting:
        status_counts[project.report_status or ""] += 1
    watched = (
        Milestone.objects.filter(project__in=visible)
        .open()
        .filter(due_date__lte=today + dt.timedelta(days=30))
    )
    milestone_counts = watched.aggregate(
        overdue=Count("id", filter=Q(due_date__lt=today)),
        due_soon=Count("id", filter=Q(due_date__gte=today)),
    )
    milestones = list(watched.select_related("project").order_by("due_date")[:HOME_ROWS])
    for milestone in milestones:
        milestone.days_overdue = (today - milestone.due_date).days
    context = {
        "today": today,
        "memberships": selectors.user_memberships(request.user),
        "totals": totals,
        "projects": projects,
        "period": period,
        "deadline": selectors.report_deadline(period),
        "reporting": reporting[:HOME_ROWS],
        "reporting_more": max(0, len(reporting) - HOME_ROWS),
        "status_counts": [
            (value, ReportStatus(value).label if value else None, n)
            for value, n in status_counts.items()
        ],
        "milestones": milestones,
        "overdue_count": milestone_counts["overdue"],
        "due_soon_count": milestone_counts["due_soon"],
        "panels": workspace.panels(request),
        "can_create": selectors.is_global(request.user)
        or bool(selectors.scope_paths(request.user, selectors.EDIT_ROLES)),
    }
    return render(request, "projects/home.html", context)
