from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from projects import selectors
from projects.models import STARTED_STAGES, ProgressReport, Project, ReportStatus, Stage
from tracker import periods


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """A first overview of the user's scope; the full workspace is built on top of it."""
    today = timezone.localdate()
    period = periods.containing(selectors.report_period_kind(), today).previous()
    visible = Project.objects.visible_to(request.user)
    totals = visible.aggregate(
        count=Count("id"),
        total_investment=Sum("total_investment"),
        started=Count("id", filter=Q(stage__in=STARTED_STAGES)),
        red_cards=Count("id", filter=Q(red_card=True)),
    )
    by_stage = dict(visible.values_list("stage").annotate(n=Count("id")).values_list("stage", "n"))
    reporting = visible.reporting()
    reports = dict(
        ProgressReport.objects.filter(project__in=reporting, period_key=period.key)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    context = {
        "memberships": selectors.user_memberships(request.user),
        "totals": totals,
        "stages": [(label, by_stage.get(value, 0)) for value, label in Stage.choices],
        "period": period,
        "deadline": selectors.report_deadline(period),
        "reports_not_started": reporting.count() - sum(reports.values()),
        "reports_by_status": [
            (label, reports.get(value, 0)) for value, label in ReportStatus.choices
        ],
        "recent_projects": visible.with_related().order_by("-updated_at", "-id")[:10],
    }
    return render(request, "projects/home.html", context)
