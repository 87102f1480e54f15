from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from projects import audit, selectors
from projects.forms import MilestoneCompleteForm, MilestoneReviseForm, StageForm
from projects.models import (
    COUNTED_REPORT_STATUSES,
    ZERO,
    MilestoneRevision,
    ProgressReport,
    ReportPhoto,
)
from projects.views.access import visible_project
from tracker import periods


@login_required
def project_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_project_page(request, visible_project(request, pk))


def render_project_page(
    request: HttpRequest,
    project,
    *,
    stage_form: StageForm | None = None,
    milestone_form: tuple[int, str, object] | None = None,
) -> HttpResponse:
    """The project page; a form that failed is shown bound, with its errors and the input kept."""
    today = timezone.localdate()
    can_edit = selectors.can_edit_project(request.user, project)
    milestones = list(
        project.milestones.prefetch_related(
            Prefetch(
                "revisions",
                queryset=MilestoneRevision.objects.select_related("actor").order_by("created_at"),
            )
        )
    )
    reports = list(
        ProgressReport.objects.filter(project=project)
        .select_related("submitted_by", "reviewed_by")
        .prefetch_related(Prefetch("photos", queryset=ReportPhoto.objects.order_by("uploaded_at")))
        .order_by("period_start")
    )
    report_rows = _with_running_totals(reports, project.prior_investment)
    year_plan = project.year_plans.filter(year=today.year).first()
    year_to_date = next(
        (
            row["year_to_date"]
            for row in reversed(report_rows)
            if row["report"].period_start.year == today.year
        ),
        ZERO,
    )
    funding = list(project.funding.all())
    due_period = selectors.due_report_period(today)
    context = {
        "project": project,
        "today": today,
        "can_edit": can_edit,
        "can_supervise": selectors.can_supervise(request.user, project.lead_unit),
        "stage_changes": project.stage_changes.select_related("actor").order_by(
            "-changed_on", "-id"
        ),
        "milestones": [
            {
                "milestone": m,
                "overdue": m.is_overdue(today),
                "late": m.was_late(),
                "complete_form": _bound(milestone_form, m.pk, "complete")
                or MilestoneCompleteForm(initial={"done_date": today, "version": m.version}),
                "revise_form": _bound(milestone_form, m.pk, "revise")
                or MilestoneReviseForm(initial={"new_due_date": m.due_date, "version": m.version}),
                "open": milestone_form is not None and milestone_form[0] == m.pk,
            }
            for m in milestones
        ],
        "report_rows": list(reversed(report_rows)),
        "year_plan": year_plan,
        "year_to_date": year_to_date,
        "year_share": (year_to_date / year_plan.planned_investment)
        if year_plan and year_plan.planned_investment
        else None,
        "elapsed_share": periods.elapsed_share_of_year(today),
        "cumulative": report_rows[-1]["cumulative"] if report_rows else project.prior_investment,
        "funding": funding,
        "funding_planned": sum((f.planned for f in funding), Decimal(0)),
        "funding_arrived": sum((f.arrived for f in funding), Decimal(0)),
        "photos": [photo for report in reports for photo in report.photos.all()],
        "history": audit.history_entries(project),
        "stage_form": (stage_form or StageForm(project=project)) if can_edit else None,
        "stage_form_open": stage_form is not None,
        "due_period": due_period,
        "is_bundle": project.subprojects.exists(),
    }
    return render(request, "projects/project_detail.html", context)


def _bound(milestone_form, pk: int, kind: str):
    if milestone_form is not None and milestone_form[0] == pk and milestone_form[1] == kind:
        return milestone_form[2]
    return None


def _with_running_totals(reports: list[ProgressReport], prior: Decimal) -> list[dict]:
    """Year-to-date and cumulative figures per report, from counted reports only."""
    rows = []
    cumulative = prior
    year_totals: dict[int, Decimal] = {}
    for report in reports:
        year = report.period_start.year
        if report.status in COUNTED_REPORT_STATUSES:
            cumulative += report.investment
            year_totals[year] = year_totals.get(year, ZERO) + report.investment
        rows.append(
            {
                "report": report,
                "year_to_date": year_totals.get(year, ZERO),
                "cumulative": cumulative,
                "counted": report.status in COUNTED_REPORT_STATUSES,
            }
        )
    return rows
