"""The progress-report form: write, save a draft, attach photos, submit; review it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from projects import audit, photos, selectors, services
from projects.forms import ReportForm, ReviewForm
from projects.models import ProgressReport, Project, ReportPhoto, ReportStatus
from projects.views.access import visible_project
from projects.views.edit import add_service_errors
from tracker import periods


def _report_period(project: Project, key: str) -> periods.Period:
    try:
        period = periods.parse(key)
    except ValueError as error:
        raise Http404(str(error)) from None
    if period.kind != selectors.report_period_kind() or period.start > timezone.localdate():
        raise Http404(_("No report is due for this period."))
    return period


def _report_url(project: Project, period: periods.Period) -> str:
    return reverse("report_form", args=[project.pk, period.key])


@login_required
def report_form(request: HttpRequest, pk: int, period: str) -> HttpResponse:  # noqa: C901
    project = visible_project(request, pk)
    the_period = _report_period(project, period)
    report = (
        ProgressReport.objects.filter(project=project, period_key=the_period.key)
        .select_related("submitted_by", "reviewed_by")
        .first()
    )
    is_bundle = project.subprojects.exists()
    may_edit = selectors.can_edit_project(request.user, project) and not is_bundle
    editable = may_edit and (report is None or report.is_editable)
    conflict = None
    photo_errors: list[str] = []

    if request.method == "POST":
        if not editable:
            raise PermissionDenied(_("You may not change this report."))
        action = request.POST.get("action", "save")
        if action == "remove_photo":
            photo = get_object_or_404(ReportPhoto, pk=request.POST.get("photo"), report=report)
            try:
                photos.report_photo_remove(photo=photo, actor=request.user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            return redirect(_report_url(project, the_period))
        form = ReportForm(request.POST)
        if form.is_valid():
            expected = form.cleaned_data.get("version") if report is not None else None
            try:
                report = services.report_save(
                    project=project,
                    period=the_period,
                    actor=request.user,
                    investment=form.cleaned_data["investment"],
                    physical_progress=form.cleaned_data["physical_progress"],
                    problems=form.cleaned_data["problems"],
                    next_steps=form.cleaned_data["next_steps"],
                    expected_version=expected,
                )
            except services.VersionConflict as error:
                current = ProgressReport.objects.get(project=project, period_key=the_period.key)
                changes, latest = audit.changes_since(current, error.expected)
                conflict = {"message": str(error), "changes": changes, "latest": latest}
                data = request.POST.copy()
                data["version"] = current.version
                form = ReportForm(data)
                form.is_valid()
                report = current
                editable = report.is_editable
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                for upload in request.FILES.getlist("photos"):
                    try:
                        photos.report_photo_add(
                            report=report,
                            upload=upload,
                            actor=request.user,
                            caption=request.POST.get("caption", "").strip(),
                        )
                    except ValidationError as error:
                        photo_errors.extend(error.messages)
                if photo_errors:
                    messages.warning(
                        request,
                        _("The report was saved as a draft, but some photos were refused."),
                    )
                elif action == "submit":
                    try:
                        services.report_submit(report=report, actor=request.user)
                    except (ValidationError, services.VersionConflict) as error:
                        form.add_error(None, getattr(error, "messages", [str(error)]))
                    else:
                        messages.success(request, _("The report has been submitted."))
                        return redirect(_report_url(project, the_period))
                else:
                    messages.success(request, _("The draft has been saved."))
                    return redirect(_report_url(project, the_period))
                report.refresh_from_db()
    elif report is not None:
        form = ReportForm(
            initial={
                "investment": report.investment,
                "physical_progress": report.physical_progress,
                "problems": report.problems,
                "next_steps": report.next_steps,
                "version": report.version,
            }
        )
    else:
        form = ReportForm(initial=selectors.report_initial(project, the_period))

    report_photos = list(report.photos.all()) if report is not None else []
    totals = selectors.project_investment_totals(project, the_period.end)
    context = {
        "project": project,
        "period": the_period,
        "deadline": selectors.report_deadline(the_period),
        "report": report,
        "form": form,
        "editable": editable,
        "is_bundle": is_bundle,
        "conflict": conflict,
        "photo_errors": photo_errors,
        "photos": [{"photo": p, "warnings": photos.photo_warnings(p)} for p in report_photos],
        "review_form": ReviewForm(initial={"version": report.version}) if report else None,
        "can_review": report is not None
        and report.status == ReportStatus.SUBMITTED
        and selectors.can_review_reports(request.user, project),
        "own_submission": report is not None and selectors.is_own_submission(request.user, report),
        "totals": totals,
        "previous_period": the_period.previous(),
        "next_period": the_period.next() if the_period.end < timezone.localdate() else None,
    }
    return render(request, "projects/report_form.html", context)


@login_required
@require_POST
def report_review(request: HttpRequest, pk: int, period: str) -> HttpResponse:
    project = visible_project(request, pk)
    the_period = _report_period(project, period)
    report = get_object_or_404(ProgressReport, project=project, period_key=the_period.key)
    if not selectors.can_review_reports(request.user, project):
        raise PermissionDenied(_("Only the unit head or a supervisor may review this report."))
    form = ReviewForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for text in errors:
                messages.error(request, text)
        return redirect(_report_url(project, the_period))
    try:
        if form.cleaned_data["decision"] == "approve":
            services.report_approve(
                report=report, actor=request.user, expected_version=form.cleaned_data["version"]
            )
            messages.success(request, _("The report has been approved."))
        else:
            services.report_return(
                report=report,
                actor=request.user,
                reason=form.cleaned_data["return_reason"],
                expected_version=form.cleaned_data["version"],
            )
            messages.success(request, _("The report has been returned to the unit."))
    except (ValidationError, services.VersionConflict) as error:
        for text in getattr(error, "messages", [str(error)]):
            messages.error(request, text)
    return redirect(_report_url(project, the_period))
