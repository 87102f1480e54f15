"""Pages of inspections (督查检查), meetings (会议交办) and project notices (亮红牌/限期通知).

People see the inspections and meetings that concern their units or projects
(``supervision.inspections.selectors``); supervisors over the organising or convening unit write,
through ``supervision.inspections.services``. An object outside the user's scope is a 404, one the
user sees but may not change a 403. A form that fails is shown again with what was typed and its
errors. Lists run a fixed number of queries however many rows they show.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from projects import audit
from projects.api.authentication import request_user
from projects.models import Project
from projects.services import VersionConflict
from projects.views.access import visible_project
from supervision import selectors as supervision_selectors
from supervision.inspections import forms, services
from supervision.inspections import selectors as inspection_selectors
from supervision.inspections.filters import InspectionFilter, MeetingFilter
from supervision.models import (
    ISSUE_ACTIVE_STATUSES,
    Inspection,
    InspectionPhoto,
    Issue,
    Meeting,
    NoticeStatus,
    ProjectNotice,
)
from supervision.rankings import competition_ranks

PAGE_SIZE = 25


def _count(queryset: QuerySet, outer: str) -> Coalesce:
    """A correlated COUNT of ``queryset`` rows whose ``outer`` is the row's pk (never a join,
    which would multiply the rows of the other counts)."""
    counted = (
        queryset.filter(**{outer: OuterRef("pk")})
        .order_by()
        .values(outer)
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return Coalesce(Subquery(counted), 0)


def _share_choices(formset, names: tuple[str, ...]) -> None:
    """Every row of a formset offers the same choices: read them once, not once per row."""
    shared: dict[str, list] = {}
    for form in formset.forms:
        for name in names:
            field = form.fields[name]
            if name not in shared:
                shared[name] = list(field.choices)
            field.choices = shared[name]


def _paginate(request: HttpRequest, rows: QuerySet) -> Any:
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _conflict(instance, error: VersionConflict) -> dict[str, Any]:
    changes, latest = audit.changes_since(instance, error.expected)
    return {"message": str(error), "changes": changes, "latest": latest}


# ---------------------------------------------------------------------------------------------
# Inspections
# ---------------------------------------------------------------------------------------------


def _inspection(request: HttpRequest, pk: int) -> Inspection:
    inspection = (
        inspection_selectors.visible_inspections(request.user)
        .select_related("unit", "created_by")
        .filter(pk=pk)
        .first()
    )
    if inspection is None:
        raise Http404(_("No such inspection in your scope."))
    return inspection


def _writable_inspection(request: HttpRequest, pk: int) -> Inspection:
    inspection = _inspection(request, pk)
    if not services.can_write_inspection(request.user, inspection):
        raise PermissionDenied(_("Only a supervisor over the organising unit may change this."))
    return inspection


@login_required
def inspection_list(request: HttpRequest) -> HttpResponse:
    filterset = InspectionFilter(
        request.GET,
        queryset=inspection_selectors.visible_inspections(request.user),
        request=request,
    )
    rows = (
        filterset.qs.select_related("unit")
        .annotate(
            project_count=_count(Inspection.projects.through.objects, "inspection_id"),
            unit_count=_count(Inspection.units_visited.through.objects, "inspection_id"),
            issue_count=_count(Issue.objects, "inspection_id"),
            open_count=_count(Issue.objects.active(), "inspection_id"),
        )
        .order_by("-held_on", "-id")
    )
    return render(
        request,
        "supervision/inspection_list.html",
        {
            "filter": filterset,
            "page_obj": _paginate(request, rows),
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
            "can_create": supervision_selectors.can_raise_issues(request.user),
        },
    )


@login_required
def inspection_create(request: HttpRequest) -> HttpResponse:
    if not supervision_selectors.can_raise_issues(request.user):
        raise PermissionDenied(_("Only supervisors record inspections."))
    form = forms.InspectionForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            inspection = services.inspection_create(actor=request.user, **form.service_fields())
        except ValidationError as error:
            forms.add_service_errors(form, error)
        else:
            messages.success(request, _("The inspection has been recorded."))
            return redirect("inspection_detail", pk=inspection.pk)
    return render(request, "supervision/inspection_form.html", {"form": form, "inspection": None})


@login_required
def inspection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    inspection = _writable_inspection(request, pk)
    form = forms.InspectionForm(request.POST or None, instance=inspection, user=request.user)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.inspection_update(
                inspection=inspection,
                actor=request.user,
                expected_version=form.cleaned_data.get("version") or None,
                **form.service_fields(),
            )
        except VersionConflict as error:
            current = Inspection.objects.get(pk=pk)
            conflict = _conflict(current, error)
            # Keep what the user typed; the next save is deliberate, against the new version.
            data = request.POST.copy()
            data["version"] = current.version
            form = forms.InspectionForm(data, instance=current, user=request.user)
            form.is_valid()
        except ValidationError as error:
            forms.add_service_errors(form, error)
        else:
            messages.success(request, _("The inspection has been saved."))
            return redirect("inspection_detail", pk=pk)
    return render(
        request,
        "supervision/inspection_form.html",
        {"form": form, "inspection": inspection, "conflict": conflict},
    )


@login_required
def inspection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_inspection_page(request, _inspection(request, pk))


def _inspection_issue_formset(request: HttpRequest, inspection: Inspection, data=None):
    formset = forms.issue_formset(
        user=request.user,
        projects=inspection.projects.order_by("name"),
        prefix="issues",
        data=data,
    )
    _share_choices(formset, ("project", "unit", "leader"))
    return formset


def render_inspection_page(
    request: HttpRequest,
    inspection: Inspection,
    *,
    issue_formset=None,
    issue_errors: list[str] | None = None,
    score_formset=None,
    photo_form=None,
    photo_errors: list[str] | None = None,
) -> HttpResponse:
    can_write = services.can_write_inspection(request.user, inspection)
    scores = list(inspection.scores.select_related("project").order_by("-score", "id"))
    # 观摩评比: equal scores share a rank and the next one skips (1, 2, 2, 4), as in rankings.
    ranks = competition_ranks({s.pk: s.score for s in scores})
    for score in scores:
        score.rank = ranks[score.pk]
    context: dict[str, Any] = {
        "inspection": inspection,
        "projects": list(inspection.projects.select_related("lead_unit").order_by("name")),
        "units": list(inspection.units_visited.order_by("path")),
        "scores": scores,
        "photos": list(inspection.photos.select_related("project")),
        "issues": list(inspection.issues.select_related("unit", "project").order_by("id")),
        "today": timezone.localdate(),
        "can_write": can_write,
    }
    if can_write:
        context.update(
            issue_formset=issue_formset or _inspection_issue_formset(request, inspection),
            issue_errors=issue_errors or [],
            score_formset=score_formset or forms.score_formset(inspection=inspection),
            photo_form=photo_form or forms.PhotoForm(inspection=inspection),
            photo_errors=photo_errors or [],
            open_form=request.POST.get("form", "") if request.method == "POST" else "",
        )
    return render(request, "supervision/inspection_detail.html", context)


@login_required
@require_POST
def inspection_issues(request: HttpRequest, pk: int) -> HttpResponse:
    inspection = _writable_inspection(request, pk)
    formset = _inspection_issue_formset(request, inspection, data=request.POST)
    errors: list[str] = []
    if formset.is_valid():
        try:
            raised = services.inspection_raise_issues(
                inspection=inspection, actor=request.user, issues=formset.rows()
            )
        except services.RowErrors as error:
            formset.add_row_errors(error)
            errors.append(_("Nothing was put on the ledger: correct the rows marked below."))
        except ValidationError as error:
            errors.extend(error.messages)
        else:
            messages.success(request, _raised_message(len(raised)))
            return redirect(f"{reverse('inspection_detail', args=[pk])}#issues")
    return render_inspection_page(request, inspection, issue_formset=formset, issue_errors=errors)


def _raised_message(count: int) -> str:
    return ngettext(
        "%(count)d issue has been put on the ledger.",
        "%(count)d issues have been put on the ledger.",
        count,
    ) % {"count": count}


@login_required
@require_POST
def inspection_scores(request: HttpRequest, pk: int) -> HttpResponse:
    inspection = _writable_inspection(request, pk)
    formset = forms.score_formset(inspection=inspection, data=request.POST)
    if formset.is_valid():
        try:
            services.inspection_set_scores(
                inspection=inspection, actor=request.user, scores=formset.rows()
            )
        except services.RowErrors as error:
            formset.add_row_errors(error)
        else:
            messages.success(request, _("The scores have been saved."))
            return redirect(f"{reverse('inspection_detail', args=[pk])}#scores")
    return render_inspection_page(request, inspection, score_formset=formset)


@login_required
@require_POST
def inspection_photos(request: HttpRequest, pk: int) -> HttpResponse:
    inspection = _writable_inspection(request, pk)
    form = forms.PhotoForm(request.POST, inspection=inspection)
    uploads = request.FILES.getlist("photos")
    errors: list[str] = []
    stored = 0
    if not uploads:
        errors.append(_("Choose at least one photo."))
    elif form.is_valid():
        for upload in uploads:
            try:
                services.inspection_photo_add(
                    inspection=inspection,
                    upload=upload,
                    actor=request.user,
                    caption=form.cleaned_data["caption"],
                    project=form.cleaned_data["project"],
                )
            except ValidationError as error:
                errors.extend(error.messages)
            else:
                stored += 1
    if stored:
        messages.success(
            request,
            ngettext("%(count)d photo has been added.", "%(count)d photos have been added.", stored)
            % {"count": stored},
        )
    if errors or not form.is_valid():
        return render_inspection_page(request, inspection, photo_form=form, photo_errors=errors)
    return redirect(f"{reverse('inspection_detail', args=[pk])}#photos")


@login_required
@require_POST
def inspection_photo_remove(request: HttpRequest, pk: int, photo_pk: int) -> HttpResponse:
    inspection = _writable_inspection(request, pk)
    photo = get_object_or_404(InspectionPhoto, pk=photo_pk, inspection=inspection)
    services.inspection_photo_remove(photo=photo, actor=request.user)
    messages.success(request, _("The photo has been removed."))
    return redirect(f"{reverse('inspection_detail', args=[pk])}#photos")


@cache_control(private=True, max_age=3600)
def inspection_photo(request: HttpRequest, photo_pk: int, variant: str) -> HttpResponse:
    """Photos are served through Django: only those who see the inspection see its photos."""
    user = request_user(request)
    if user is None:
        if request.headers.get("Authorization"):
            return HttpResponse(status=401, headers={"WWW-Authenticate": 'Bearer realm="api"'})
        return redirect_to_login(request.get_full_path())
    photo = get_object_or_404(InspectionPhoto, pk=photo_pk)
    if not inspection_selectors.visible_inspections(user).filter(pk=photo.inspection_id).exists():
        raise Http404
    file = photo.thumbnail if variant == "thumb" and photo.thumbnail else photo.image
    try:
        handle = file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, filename=file.name.rsplit("/", 1)[-1])


# ---------------------------------------------------------------------------------------------
# Meetings
# ---------------------------------------------------------------------------------------------


def _meeting(request: HttpRequest, pk: int) -> Meeting:
    meeting = (
        inspection_selectors.visible_meetings(request.user)
        .select_related("unit", "host", "created_by")
        .filter(pk=pk)
        .first()
    )
    if meeting is None:
        raise Http404(_("No such meeting in your scope."))
    return meeting


def _writable_meeting(request: HttpRequest, pk: int) -> Meeting:
    meeting = _meeting(request, pk)
    if not services.can_write_meeting(request.user, meeting):
        raise PermissionDenied(_("Only a supervisor over the convening unit may change this."))
    return meeting


@login_required
def meeting_list(request: HttpRequest) -> HttpResponse:
    filterset = MeetingFilter(
        request.GET, queryset=inspection_selectors.visible_meetings(request.user), request=request
    )
    rows = (
        filterset.qs.select_related("unit", "host")
        .annotate(
            project_count=_count(Meeting.projects.through.objects, "meeting_id"),
            attendee_count=_count(Meeting.attendees.through.objects, "meeting_id"),
            absentee_count=_count(Meeting.absentees.through.objects, "meeting_id"),
            decision_count=_count(Issue.objects, "meeting_id"),
            open_count=_count(Issue.objects.active(), "meeting_id"),
        )
        .order_by("-held_on", "-id")
    )
    return render(
        request,
        "supervision/meeting_list.html",
        {
            "filter": filterset,
            "page_obj": _paginate(request, rows),
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
            "can_create": supervision_selectors.can_raise_issues(request.user),
        },
    )


@login_required
def meeting_create(request: HttpRequest) -> HttpResponse:
    if not supervision_selectors.can_raise_issues(request.user):
        raise PermissionDenied(_("Only supervisors record meetings."))
    form = forms.MeetingForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            meeting = services.meeting_create(actor=request.user, **form.service_fields())
        except ValidationError as error:
            forms.add_service_errors(form, error)
        else:
            messages.success(request, _("The meeting has been recorded."))
            return redirect("meeting_detail", pk=meeting.pk)
    return render(request, "supervision/meeting_form.html", {"form": form, "meeting": None})


@login_required
def meeting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _writable_meeting(request, pk)
    form = forms.MeetingForm(request.POST or None, instance=meeting, user=request.user)
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            services.meeting_update(
                meeting=meeting,
                actor=request.user,
                expected_version=form.cleaned_data.get("version") or None,
                **form.service_fields(),
            )
        except VersionConflict as error:
            current = Meeting.objects.get(pk=pk)
            conflict = _conflict(current, error)
            data = request.POST.copy()
            data["version"] = current.version
            form = forms.MeetingForm(data, instance=current, user=request.user)
            form.is_valid()
        except ValidationError as error:
            forms.add_service_errors(form, error)
        else:
            messages.success(request, _("The meeting has been saved."))
            return redirect("meeting_detail", pk=pk)
    return render(
        request,
        "supervision/meeting_form.html",
        {"form": form, "meeting": meeting, "conflict": conflict},
    )


def _decision_formset(request: HttpRequest, meeting: Meeting, data=None):
    formset = forms.issue_formset(
        user=request.user,
        projects=meeting.projects.order_by("name"),
        prefix="decisions",
        decision=True,
        data=data,
    )
    _share_choices(formset, ("project", "unit", "leader"))
    return formset


@login_required
def meeting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_meeting_page(request, _meeting(request, pk))


def render_meeting_page(
    request: HttpRequest,
    meeting: Meeting,
    *,
    decision_formset=None,
    decision_errors: list[str] | None = None,
) -> HttpResponse:
    can_write = services.can_write_meeting(request.user, meeting)
    context: dict[str, Any] = {
        "meeting": meeting,
        "attendees": list(meeting.attendees.order_by("path")),
        "absentees": list(meeting.absentees.order_by("path")),
        "projects": list(meeting.projects.select_related("lead_unit").order_by("name")),
        "decisions": list(
            meeting.issues.select_related("unit", "project", "leader").order_by("id")
        ),
        "today": timezone.localdate(),
        "active_statuses": ISSUE_ACTIVE_STATUSES,
        "can_write": can_write,
    }
    if can_write:
        context.update(
            decision_formset=decision_formset or _decision_formset(request, meeting),
            decision_errors=decision_errors or [],
        )
    return render(request, "supervision/meeting_detail.html", context)


@login_required
@require_POST
def meeting_decisions(request: HttpRequest, pk: int) -> HttpResponse:
    meeting = _writable_meeting(request, pk)
    formset = _decision_formset(request, meeting, data=request.POST)
    errors: list[str] = []
    if formset.is_valid():
        try:
            raised = services.meeting_record_decisions(
                meeting=meeting, actor=request.user, decisions=formset.rows()
            )
        except services.RowErrors as error:
            formset.add_row_errors(error)
            errors.append(_("Nothing was put on the ledger: correct the rows marked below."))
        except ValidationError as error:
            errors.extend(error.messages)
        else:
            messages.success(request, _raised_message(len(raised)))
            return redirect(f"{reverse('meeting_detail', args=[pk])}#decisions")
    return render_meeting_page(request, meeting, decision_formset=formset, decision_errors=errors)


# ---------------------------------------------------------------------------------------------
# Project notices
# ---------------------------------------------------------------------------------------------


@login_required
def project_notices(request: HttpRequest, pk: int) -> HttpResponse:
    """亮红牌 and deadline notices of one project; supervisors issue and settle them here."""
    project = visible_project(request, pk)
    form = None
    if request.method == "POST":
        if not services.can_issue_notices(request.user, project):
            raise PermissionDenied(_("Only a supervisor over the project's unit may do this."))
        form = forms.NoticeIssueForm(request.POST)
        if form.is_valid():
            try:
                services.notice_issue(project=project, actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                forms.add_service_errors(form, error)
            else:
                messages.success(request, _("The notice has been issued."))
                return redirect("project_notices", pk=project.pk)
    return render_notices_page(request, project, issue_form=form)


@login_required
@require_POST
def notice_settle(request: HttpRequest, pk: int) -> HttpResponse:
    notice = get_object_or_404(inspection_selectors.visible_notices(request.user), pk=pk)
    project = visible_project(request, notice.project_id)
    if not services.can_issue_notices(request.user, project):
        raise PermissionDenied(_("Only a supervisor over the project's unit may do this."))
    form = forms.NoticeSettleForm(
        request.POST, notice=notice, offers_cancellation=services.offers_cancellation(notice)
    )
    if form.is_valid():
        try:
            services.notice_settle(
                notice=notice,
                actor=request.user,
                status=form.cleaned_data["status"],
                outcome=form.cleaned_data["outcome"],
                cancel_project=form.cleaned_data.get("cancel_project", False),
            )
        except ValidationError as error:
            forms.add_service_errors(form, error)
        else:
            messages.success(request, _("The notice has been settled."))
            return redirect("project_notices", pk=project.pk)
    return render_notices_page(request, project, settle_forms={notice.pk: form})


def render_notices_page(
    request: HttpRequest,
    project: Project,
    *,
    issue_form=None,
    settle_forms: dict[int, Any] | None = None,
) -> HttpResponse:
    today = timezone.localdate()
    can_issue = services.can_issue_notices(request.user, project)
    settle_forms = settle_forms or {}
    notices = list(
        ProjectNotice.objects.filter(project=project).select_related("issued_by", "settled_by")
    )
    rows = []
    for notice in notices:
        row: dict[str, Any] = {"notice": notice, "overdue": notice.is_overdue(today)}
        if can_issue and notice.status == NoticeStatus.ACTIVE:
            offers = services.offers_cancellation(notice)
            row["settle_form"] = settle_forms.get(notice.pk) or forms.NoticeSettleForm(
                notice=notice, offers_cancellation=offers
            )
            row["open"] = notice.pk in settle_forms
        rows.append(row)
    return render(
        request,
        "supervision/notice_list.html",
        {
            "project": project,
            "rows": rows,
            "active_count": sum(1 for n in notices if n.status == NoticeStatus.ACTIVE),
            "can_issue": can_issue,
            "issue_form": (issue_form or forms.NoticeIssueForm()) if can_issue else None,
            "issue_form_open": issue_form is not None,
        },
    )
