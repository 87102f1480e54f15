"""The ledger pages (督查台账): the list with filters and its Excel export, raising an issue,
asking the county for help, and one issue with its timeline and the actions the user may take.

Every action is a POST that goes through ``supervision.issues.services``; a refused or invalid
action re-shows the issue page with the user's text kept and the error in Chinese.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Count, F, OuterRef, Prefetch, Q, Subquery, Value, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from projects.api.authentication import request_user
from projects.services import VersionConflict
from projects.views.edit import add_service_errors
from supervision import selectors
from supervision.issues import forms as issue_forms
from supervision.issues import services as issue_services
from supervision.issues.filters import filtered_issues
from supervision.models import (
    ISSUE_ACTIVE_STATUSES,
    EscalationLevel,
    ExtensionRequest,
    ExtensionStatus,
    Issue,
    IssueAttachment,
    IssueEvent,
    IssueEventKind,
    IssueStatus,
)
from tracker import spreadsheets
from tracker.spreadsheets import Column, Spreadsheet

PAGE_SIZE = 30


def _visible_issue(request: HttpRequest, pk: int) -> Issue:
    issue = (
        selectors.visible_issues(request.user)
        .select_related(
            "unit",
            "leader",
            "project",
            "requested_by_unit",
            "inspection",
            "meeting",
            "report",
            "closed_by",
            "created_by",
        )
        .filter(pk=pk)
        .first()
    )
    if issue is None:
        raise Http404(_("No such issue in your scope."))
    return issue


def _summary(issues, today: dt.date) -> dict[str, int]:
    return issues.order_by().aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(status__in=ISSUE_ACTIVE_STATUSES)),
        overdue=Count("pk", filter=Q(status__in=ISSUE_ACTIVE_STATUSES, deadline__lt=today)),
        escalated=Count(
            "pk",
            filter=Q(status__in=ISSUE_ACTIVE_STATUSES, level__gte=EscalationLevel.SUPERVISED),
        ),
        to_verify=Count("pk", filter=Q(status=IssueStatus.RESOLVED)),
        waiting=Count("pk", filter=Q(status=IssueStatus.PENDING) | Q(awaiting_office=True)),
        closed=Count("pk", filter=Q(status=IssueStatus.CLOSED)),
    )


def _latest_response():
    return (
        IssueEvent.objects.filter(
            issue=OuterRef("pk"),
            kind__in=[IssueEventKind.RESPONSE, IssueEventKind.RECTIFIED],
        )
        .order_by("-created_at", "-id")
        .values("text")[:1]
    )


@login_required
def issue_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    filterset, issues = filtered_issues(request)
    summary = _summary(issues, today)
    # The office's queue first, then what is being rectified by deadline, then what waits for
    # verification, then finished issues, most recent first.
    stage = Case(
        When(Q(status=IssueStatus.PENDING) | Q(awaiting_office=True), then=Value(0)),
        When(status__in=ISSUE_ACTIVE_STATUSES, then=Value(1)),
        When(status=IssueStatus.RESOLVED, then=Value(2)),
        default=Value(3),
    )
    rows = (
        issues.select_related("unit", "leader", "project")
        .alias(stage=stage)
        .order_by("stage", F("deadline").asc(nulls_last=True), "-id")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for issue in page.object_list:
        issue.overdue_days = issue.days_overdue(today)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "supervision/issue_list.html",
        {
            "filter": filterset,
            "page_obj": page,
            "summary": summary,
            "query": query.urlencode(),
            "can_raise": selectors.can_raise_issues(request.user),
            "can_request": selectors.can_request_help(request.user),
            "is_filtered": any(v for k, v in request.GET.items() if k != "page"),
        },
    )


# ---------------------------------------------------------------------------------------------
# Excel export in the classic 台账 columns
# ---------------------------------------------------------------------------------------------


def export_columns() -> list[Column]:
    date, whole = spreadsheets.DATE, spreadsheets.WHOLE
    return [
        Column(_("No."), 6),
        Column(_("ledger number"), 12),
        Column(_("source"), 12),
        Column(_("category"), 10),
        Column(_("project name"), 30, wrap=True),
        Column(_("problem"), 40, wrap=True),
        Column(_("rectification required"), 36, wrap=True),
        Column(_("responsible unit"), 18),
        Column(_("responsible leader"), 12),
        Column(_("raised on"), 12, date),
        Column(_("deadline"), 12, date),
        Column(_("escalation"), 10),
        Column(_("latest progress"), 40, wrap=True),
        Column(_("status"), 10),
        Column(_("closed on"), 12, date),
        Column(_("days overdue"), 10, whole),
    ]


def export_row(number: int, issue: Issue, today: dt.date) -> list[object]:
    return [
        number,
        issue.number,
        issue.get_source_display(),
        issue.get_category_display(),
        issue.project.name if issue.project else "",
        issue.title if not issue.description else f"{issue.title}\n{issue.description}",
        issue.requirement,
        issue.unit.name,
        issue.leader.name if issue.leader else "",
        issue.raised_on,
        issue.deadline,
        issue.get_level_display(),
        issue.latest_response or "",
        issue.get_status_display(),
        timezone.localtime(issue.closed_at).date() if issue.closed_at else None,
        issue.days_overdue(today) or None,
    ]


def build_issue_workbook(issues, exported_at: dt.datetime) -> Spreadsheet:
    today = exported_at.date()
    book = Spreadsheet()
    sheet = book.sheet(_("supervision ledger"), export_columns())
    sheet.heading(
        _("Supervision ledger (exported %(time)s)")
        % {"time": exported_at.strftime("%Y-%m-%d %H:%M")}
    )
    sheet.header()
    sheet.rows(export_row(number, issue, today) for number, issue in enumerate(issues, start=1))
    sheet.freeze("C3")
    sheet.filter()
    return book


def export_queryset(issues):
    return (
        issues.select_related("unit", "leader", "project")
        .annotate(latest_response=Subquery(_latest_response()))
        .order_by("raised_on", "id")
    )


@login_required
def issue_export(request: HttpRequest) -> HttpResponse:
    now = timezone.localtime()
    _filterset, issues = filtered_issues(request)
    book = build_issue_workbook(export_queryset(issues), now)
    name = _("supervision ledger")
    return book.response(f"{name}-{now:%Y%m%d-%H%M}.xlsx")


# ---------------------------------------------------------------------------------------------
# Raising and asking for help
# ---------------------------------------------------------------------------------------------


@login_required
def issue_create(request: HttpRequest) -> HttpResponse:
    if not selectors.can_raise_issues(request.user):
        raise PermissionDenied(_("Only a supervisor may put an issue on the ledger."))
    form = issue_forms.IssueRaiseForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            issue = issue_services.issue_raise(
                actor=request.user,
                title=data["title"],
                description=data["description"],
                requirement=data["requirement"],
                source=data["source"],
                category=data["category"],
                project=data["project"],
                unit=data["unit"],
                leader=data["leader"],
                deadline=data["deadline"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, _("Issue %(number)s is on the ledger.") % {"number": issue.number}
            )
            return redirect("issue_detail", pk=issue.pk)
    return render(
        request,
        "supervision/issue_form.html",
        {"form": form, "heading": _("Put an issue on the ledger")},
    )


@login_required
def issue_request_help(request: HttpRequest) -> HttpResponse:
    if not selectors.can_request_help(request.user):
        raise PermissionDenied(_("You have no unit to ask for help on behalf of."))
    initial = {}
    if request.GET.get("project"):
        initial["project"] = request.GET["project"]
    form = issue_forms.HelpRequestForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            issue = issue_services.issue_request_help(
                actor=request.user,
                requesting_unit=data["requesting_unit"],
                title=data["title"],
                description=data["description"],
                category=data["category"],
                project=data["project"],
                target_unit=data["target_unit"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Your request is in the supervision office's queue."))
            return redirect("issue_detail", pk=issue.pk)
    return render(
        request,
        "supervision/issue_form.html",
        {"form": form, "heading": _("Ask the county to push or coordinate")},
    )


# ---------------------------------------------------------------------------------------------
# One issue
# ---------------------------------------------------------------------------------------------


def _rights(user, issue: Issue) -> dict[str, bool]:
    supervise = issue_services.can_supervise_issue(user, issue)
    unit = issue_services.can_act_for_unit(user, issue)
    active = issue.status in ISSUE_ACTIVE_STATUSES
    return {
        "respond": unit and active,
        "extension": unit and active and issue.deadline >= timezone.localdate(),
        "urge_up": unit and active,
        "urge": supervise and active,
        "escalate": supervise and active and issue.level < EscalationLevel.ACCOUNTABILITY,
        "verify": supervise and issue.status == IssueStatus.RESOLVED,
        "own_rectification": issue_services.is_own_rectification(user, issue),
        "decide": supervise and issue.status == IssueStatus.PENDING,
        "instruct": issue_services.can_instruct(user, issue),
        "supervise": supervise,
    }


def _action_forms(request: HttpRequest, issue: Issue, bound: tuple[str, object] | None = None):
    user = request.user
    made = {
        "respond": issue_forms.TextFilesForm(prefix="respond"),
        "rectified": issue_forms.TextFilesForm(prefix="rectified"),
        "extension": issue_forms.ExtensionRequestForm(prefix="extension"),
        "urge_up": issue_forms.UrgeUpForm(prefix="urge_up", unit=issue.unit),
        "urge": issue_forms.UrgeForm(prefix="urge", user=user),
        "escalate": issue_forms.EscalateForm(prefix="escalate", current=issue.level),
        "close": issue_forms.NoteForm(prefix="close"),
        "send_back": issue_forms.ReasonForm(prefix="send_back"),
        "decide_extension": issue_forms.ExtensionDecisionForm(prefix="decide_extension"),
        "instruct": issue_forms.InstructionForm(prefix="instruct"),
        "accept": issue_forms.AcceptForm(
            prefix="accept",
            user=user,
            initial={"unit": issue.unit_id, "leader": issue.leader_id},
        ),
        "decline": issue_forms.ReasonForm(prefix="decline"),
    }
    if bound is not None:
        made[bound[0]] = bound[1]
    return made


def render_issue_page(
    request: HttpRequest, issue: Issue, *, bound: tuple[str, object] | None = None, status=200
) -> HttpResponse:
    today = timezone.localdate()
    events = list(
        issue.events.select_related("actor", "actor_unit", "target_unit").prefetch_related(
            Prefetch("attachments", queryset=IssueAttachment.objects.order_by("id"))
        )
    )
    extensions = list(issue.extensions.select_related("requested_by", "decided_by"))
    pending = next((e for e in extensions if e.status == ExtensionStatus.PENDING), None)
    rights = _rights(request.user, issue)
    rights["extension"] = rights["extension"] and pending is None
    context = {
        "issue": issue,
        "events": events,
        "extensions": extensions,
        "pending_extension": pending,
        "rights": rights,
        "forms": _action_forms(request, issue, bound),
        "overdue_days": issue.days_overdue(today),
        "ladder": [
            {"value": value, "label": label, "reached": value <= issue.level}
            for value, label in EscalationLevel.choices
            if value
        ],
    }
    return render(request, "supervision/issue_detail.html", context, status=status)


@login_required
def issue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_issue_page(request, _visible_issue(request, pk))


def _pending_extension(issue: Issue) -> ExtensionRequest:
    request = issue.extensions.filter(status=ExtensionStatus.PENDING).first()
    if request is None:
        raise ValidationError(_("No extension request is waiting for a decision."))
    return request


# action → (form factory, service call, success message)
ACTIONS = {
    "respond": (
        lambda r, i, d, f: issue_forms.TextFilesForm(d, f, prefix="respond"),
        lambda r, i, c, v: issue_services.issue_respond(
            issue=i, actor=r.user, text=c["text"], files=c["files"], expected_version=v
        ),
        lambda: _("Your response is on the timeline."),
    ),
    "rectified": (
        lambda r, i, d, f: issue_forms.TextFilesForm(d, f, prefix="rectified"),
        lambda r, i, c, v: issue_services.issue_mark_rectified(
            issue=i, actor=r.user, text=c["text"], files=c["files"], expected_version=v
        ),
        lambda: _("Reported rectified: the supervision office will verify and close it."),
    ),
    "extension": (
        lambda r, i, d, f: issue_forms.ExtensionRequestForm(d, prefix="extension"),
        lambda r, i, c, v: issue_services.issue_request_extension(
            issue=i,
            actor=r.user,
            new_deadline=c["new_deadline"],
            reason=c["reason"],
            expected_version=v,
        ),
        lambda: _("Extension requested."),
    ),
    "urge_up": (
        lambda r, i, d, f: issue_forms.UrgeUpForm(d, prefix="urge_up", unit=i.unit),
        lambda r, i, c, v: issue_services.issue_urge_up(
            issue=i, actor=r.user, text=c["text"], target_unit=c["target_unit"], expected_version=v
        ),
        lambda: _("The supervision office has your request."),
    ),
    "urge": (
        lambda r, i, d, f: issue_forms.UrgeForm(d, prefix="urge", user=r.user),
        lambda r, i, c, v: issue_services.issue_urge(
            issue=i, actor=r.user, text=c["text"], target_unit=c["target_unit"], expected_version=v
        ),
        lambda: _("Urged."),
    ),
    "escalate": (
        lambda r, i, d, f: issue_forms.EscalateForm(d, prefix="escalate", current=i.level),
        lambda r, i, c, v: issue_services.issue_escalate(
            issue=i, actor=r.user, level=c["level"], reason=c["reason"], expected_version=v
        ),
        lambda: _("Escalated."),
    ),
    "close": (
        lambda r, i, d, f: issue_forms.NoteForm(d, prefix="close"),
        lambda r, i, c, v: issue_services.issue_close(
            issue=i, actor=r.user, note=c["note"], expected_version=v
        ),
        lambda: _("Closed (销号)."),
    ),
    "send_back": (
        lambda r, i, d, f: issue_forms.ReasonForm(d, prefix="send_back"),
        lambda r, i, c, v: issue_services.issue_send_back(
            issue=i, actor=r.user, reason=c["reason"], expected_version=v
        ),
        lambda: _("Sent back to the unit."),
    ),
    "decide_extension": (
        lambda r, i, d, f: issue_forms.ExtensionDecisionForm(d, prefix="decide_extension"),
        lambda r, i, c, v: issue_services.issue_decide_extension(
            request=_pending_extension(i), actor=r.user, grant=c["grant"], note=c["note"]
        ),
        lambda: _("Decision recorded."),
    ),
    "instruct": (
        lambda r, i, d, f: issue_forms.InstructionForm(d, prefix="instruct"),
        lambda r, i, c, v: issue_services.issue_instruct(issue=i, actor=r.user, text=c["text"]),
        lambda: _("Instruction recorded."),
    ),
    "accept": (
        lambda r, i, d, f: issue_forms.AcceptForm(d, prefix="accept", user=r.user),
        lambda r, i, c, v: issue_services.issue_accept(
            issue=i,
            actor=r.user,
            unit=c["unit"],
            leader=c["leader"],
            deadline=c["deadline"],
            requirement=c["requirement"],
            expected_version=v,
        ),
        lambda: _("Accepted: the issue is on the ledger."),
    ),
    "decline": (
        lambda r, i, d, f: issue_forms.ReasonForm(d, prefix="decline"),
        lambda r, i, c, v: issue_services.issue_decline(
            issue=i, actor=r.user, reason=c["reason"], expected_version=v
        ),
        lambda: _("Request declined."),
    ),
}


@login_required
@require_POST
def issue_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    issue = _visible_issue(request, pk)
    make_form, call, success = ACTIONS[action]
    form = make_form(request, issue, request.POST, request.FILES)
    if form.is_valid():
        try:
            call(request, issue, form.cleaned_data, form.cleaned_data.get("version"))
        except PermissionDenied:
            raise
        except VersionConflict as exc:
            form.add_error(None, str(exc))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, success())
            return redirect("issue_detail", pk=issue.pk)
    return render_issue_page(request, issue, bound=(action, form), status=400)


@cache_control(private=True, max_age=3600)
def issue_attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """A file of the timeline, for those who see the issue: the browser session's user, or the
    user of a bearer API token (the API lists these addresses)."""
    user = request_user(request)
    if user is None:
        if request.headers.get("Authorization"):
            return HttpResponse(status=401, headers={"WWW-Authenticate": 'Bearer realm="api"'})
        return redirect_to_login(request.get_full_path())
    attachment = IssueAttachment.objects.select_related("event").filter(pk=pk).first()
    if (
        attachment is None
        or not selectors.visible_issues(user).filter(pk=attachment.event.issue_id).exists()
    ):
        raise Http404
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, filename=attachment.name)
