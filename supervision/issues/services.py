"""The only write path of the supervision ledger (督查台账).

Each service is a keyword-only function ``<entity>_<action>(*, ..., actor)``: it checks the
actor's rights by unit scope, validates, saves inside one transaction, writes the step on the
issue's timeline (who, when, why) and notifies the people concerned once the transaction
commits. Views, the API, the admin and the daily job all come through here.

Who may do what (DESIGN.md §1, §3):
- supervisors (and admins) over the responsible unit: raise, accept or decline requests, urge,
  escalate, grant or refuse extensions, close (销号) or send back;
- the responsible unit's people (reporter, unit head): respond, report rectified, ask for an
  extension, urge upward (向上催办); any unit's people may ask the county for coordination;
- leaders over the unit, and the issue's own leader: instructions (批示).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from projects import selectors
from projects.models import (
    Leader,
    Membership,
    ProgressReport,
    Project,
    Role,
    Unit,
    UnitKind,
    path_prefixes,
)
from supervision import selectors as supervision_selectors
from supervision.catalogue import RULE_SPECS
from supervision.models import (
    ISSUE_ACTIVE_STATUSES,
    AlertRule,
    EscalationLevel,
    ExtensionRequest,
    ExtensionStatus,
    Inspection,
    Issue,
    IssueAttachment,
    IssueCategory,
    IssueEvent,
    IssueEventKind,
    IssueSource,
    IssueStatus,
    Meeting,
)
from supervision.notifications import notify
from tracker import writes

INSTRUCT_ROLES = frozenset({Role.LEADER, Role.ADMIN})

ATTACHMENTS_PER_ENTRY = 10
ATTACHMENT_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "webp", "pdf", "doc", "docx", "xls", "xlsx", "ofd", "txt", "zip"}
)


# ---------------------------------------------------------------------------------------------
# Rights
# ---------------------------------------------------------------------------------------------


def can_supervise_issue(user, issue: Issue) -> bool:
    return selectors.can_supervise(user, issue.unit)


def can_act_for_unit(user, issue: Issue) -> bool:
    """The responsible unit's people (and anyone above them with a working role)."""
    return selectors.has_role_over(user, issue.unit, supervision_selectors.UNIT_ROLES)


def can_instruct(user, issue: Issue) -> bool:
    if issue.leader_id and issue.leader.user_id and issue.leader.user_id == user.pk:
        return True
    return selectors.has_role_over(user, issue.unit, INSTRUCT_ROLES)


def is_own_rectification(user, issue: Issue) -> bool:
    """The user reported the issue rectified (the latest time) and so, duties being separated
    (TRACKER_SEPARATE_DUTIES), may not verify and close it."""
    if not selectors.duties_separated() or issue.status != IssueStatus.RESOLVED:
        return False
    reporter = (
        issue.events.filter(kind=IssueEventKind.RECTIFIED)
        .order_by("-created_at", "-id")
        .values_list("actor_id", flat=True)
        .first()
    )
    return reporter is not None and reporter == getattr(user, "pk", None)


def own_rectification_message() -> str:
    return _(
        "You reported this issue rectified yourself: another supervisor must verify and close it."
    )


# ---------------------------------------------------------------------------------------------
# References (docs/security.md, "References in writes")
# ---------------------------------------------------------------------------------------------


def leader_may_lead(leader: Leader, unit: Unit) -> bool:
    """A leader of ``unit``'s county (or city), or of a unit above it."""
    return selectors.leaders_of([selectors.jurisdiction_path(unit)]).filter(pk=leader.pk).exists()


def unit_may_be_pushed(target: Unit, unit: Unit) -> bool:
    """A unit ``unit`` may ask the county to push (向上催办): one of its county, villages aside."""
    return (
        selectors.units_in([selectors.jurisdiction_path(unit)])
        .exclude(kind=UnitKind.VILLAGE)
        .filter(pk=target.pk)
        .exists()
    )


def _leader_error() -> str:
    return _("Choose a leader of the responsible unit's county or above it.")


def _target_unit_error() -> str:
    return _("Choose a unit of your county (no villages).")


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def issue_url(issue: Issue) -> str:
    return reverse("issue_detail", args=[issue.pk])


def _office_users(unit: Unit) -> list[Any]:
    """The supervisors whose scope covers ``unit``: the supervision office's queue readers."""
    ancestors = path_prefixes(unit.path)
    return [
        m.user
        for m in Membership.objects.filter(
            role=Role.SUPERVISOR, unit__path__in=ancestors, user__is_active=True
        ).select_related("user")
    ]


def _notify(
    event: str,
    issue: Issue,
    actor,
    *,
    to_unit: bool = True,
    to_office: bool = False,
    extra_units: Iterable[Unit] = (),
    text: str = "",
) -> None:
    """Tell the responsible unit's people and the issue's leader, or the supervision office."""

    kind = IssueEventKind(event.split(".", 1)[1])
    notify(
        event,
        title=f"【{kind.label}】{issue.title}",
        body=text,
        url=issue_url(issue),
        units=[issue.unit, *extra_units] if to_unit else list(extra_units),
        leaders=[issue.leader] if to_unit and issue.leader_id else [],
        users=_office_users(issue.unit) if to_office else [],
        exclude=actor,
    )


def _event(issue: Issue, kind: str, actor, **fields: Any) -> IssueEvent:
    return IssueEvent.objects.create(issue=issue, kind=kind, actor=actor, **fields)


def _lock(issue: Issue, expected_version: int | None = None) -> Issue:
    return writes.lock(Issue.objects.select_related("unit", "leader"), issue.pk, expected_version)


def _text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


def _check_status(issue: Issue, allowed: Iterable[str], message: str) -> None:
    if issue.status not in set(allowed):
        raise ValidationError(message % {"status": issue.get_status_display()})


def _attach(event: IssueEvent, files: Iterable[Any]) -> list[IssueAttachment]:
    files = [f for f in files if f]
    if len(files) > ATTACHMENTS_PER_ENTRY:
        raise ValidationError(
            {"files": _("At most %(limit)d files at a time.") % {"limit": ATTACHMENTS_PER_ENTRY}}
        )
    limit = settings.TRACKER_ATTACHMENT_MAX_BYTES
    for upload in files:
        name = PurePath(getattr(upload, "name", "") or "file").name
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension not in ATTACHMENT_EXTENSIONS:
            raise ValidationError(
                {
                    "files": _(
                        "“%(name)s” is not a kind of file the ledger keeps (photos, PDF, OFD, "
                        "Word, Excel, text or zip)."
                    )
                    % {"name": name}
                }
            )
        size = getattr(upload, "size", None) or 0
        if size > limit:
            raise ValidationError(
                {
                    "files": _("“%(name)s” is larger than %(limit)s MB.")
                    % {"name": name, "limit": f"{limit / 1024 / 1024:g}"}
                }
            )
        if size == 0:
            raise ValidationError({"files": _("“%(name)s” is empty.") % {"name": name}})
    stored: list[IssueAttachment] = []
    try:
        for upload in files:
            name = PurePath(upload.name).name
            attachment = IssueAttachment(event=event, name=name[:200], size=upload.size)
            attachment.file.save(name, upload, save=False)
            stored.append(attachment)
            attachment.save()
    except BaseException:
        for attachment in stored:
            attachment.file.storage.delete(attachment.file.name)
        raise
    return stored


# ---------------------------------------------------------------------------------------------
# Raising and accepting
# ---------------------------------------------------------------------------------------------


def _supervises_project(actor, project: Project) -> bool:
    return selectors.can_supervise(actor, project.lead_unit)


SOURCE_LINKS = {
    IssueSource.INSPECTION: "inspection",
    IssueSource.MEETING: "meeting",
    IssueSource.REPORT: "report",
}


@transaction.atomic
def issue_raise(
    *,
    actor,
    title: str,
    source: str,
    category: str,
    unit: Unit,
    deadline: dt.date,
    description: str = "",
    requirement: str = "",
    project: Project | None = None,
    leader: Leader | None = None,
    inspection: Inspection | None = None,
    meeting: Meeting | None = None,
    report: ProgressReport | None = None,
) -> Issue:
    """A supervisor puts a problem on the ledger with its unit, leader and deadline."""
    if not selectors.can_supervise(actor, unit):
        raise PermissionDenied(
            _("Only a supervisor over the responsible unit may put an issue on the ledger.")
        )
    today = timezone.localdate()
    errors: dict[str, str] = {}
    if leader is not None and not leader_may_lead(leader, unit):
        errors["leader"] = _leader_error()
    if inspection is not None and not selectors.can_supervise(actor, inspection.unit):
        errors["inspection"] = _("Only a supervisor over its organising unit may raise from it.")
    if meeting is not None and not selectors.can_supervise(actor, meeting.unit):
        errors["meeting"] = _("Only a supervisor over its convening unit may raise from it.")
    if report is not None:
        if not _supervises_project(actor, report.project):
            errors["report"] = _("Choose a report of a project you supervise.")
        project = project or report.project
    if project is not None and leader is None:
        leader = project.lead_leader
    issue = Issue(
        title=(title or "").strip(),
        description=(description or "").strip(),
        requirement=(requirement or "").strip(),
        source=source,
        category=category,
        unit=unit,
        leader=leader,
        project=project,
        inspection=inspection,
        meeting=meeting,
        report=report,
        deadline=deadline,
        original_deadline=deadline,
        status=IssueStatus.OPEN,
        raised_on=today,
        created_by=actor,
    )
    link = SOURCE_LINKS.get(source)
    if link and getattr(issue, f"{link}_id") is None:
        errors[link] = _("Name the %(link)s the issue comes from.") % {
            "link": Issue._meta.get_field(link).verbose_name
        }
    if deadline is not None and deadline < today:
        errors["deadline"] = _("The deadline cannot be in the past.")
    if project is not None and not _supervises_project(actor, project):
        errors["project"] = _("Choose a project you supervise.")
    if errors:
        raise ValidationError(errors)
    issue.full_clean()
    issue._history_user = actor
    issue.save()
    _event(issue, IssueEventKind.RAISED, actor, text=issue.requirement, deadline=deadline)
    transaction.on_commit(
        lambda: _notify("issue.raised", issue, actor, text=issue.requirement), robust=True
    )
    return issue


@transaction.atomic
def issue_request_help(
    *,
    actor,
    requesting_unit: Unit,
    title: str,
    description: str,
    category: str = IssueCategory.OTHER,
    project: Project | None = None,
    target_unit: Unit | None = None,
) -> Issue:
    """向上催办/请求协调: a unit asks the county to push another unit or to coordinate.

    The request lands in the supervision office's queue (status pending) until a supervisor
    accepts it (with a responsible unit and deadline) or declines it.
    """
    if not supervision_selectors.can_request_help(actor, requesting_unit):
        raise PermissionDenied(_("You may only ask for help on behalf of your own unit."))
    description = _text(description, "description", _("Say what you need the county to do."))
    errors: dict[str, str] = {}
    if project is not None and not selectors.can_view_project(actor, project):
        errors["project"] = _("You cannot see this project.")
    if target_unit is not None and not unit_may_be_pushed(target_unit, requesting_unit):
        errors["target_unit"] = _target_unit_error()
    if errors:
        raise ValidationError(errors)
    issue = Issue(
        title=(title or "").strip(),
        description=description,
        source=IssueSource.UNIT_REQUEST,
        category=category,
        unit=target_unit or requesting_unit,
        requested_by_unit=requesting_unit,
        project=project,
        leader=project.lead_leader if project else None,
        status=IssueStatus.PENDING,
        awaiting_office=True,
        raised_on=timezone.localdate(),
        created_by=actor,
    )
    issue.full_clean()
    issue._history_user = actor
    issue.save()
    _event(
        issue,
        IssueEventKind.URGED_UP,
        actor,
        actor_unit=requesting_unit,
        target_unit=target_unit,
        text=description,
    )
    transaction.on_commit(
        lambda: _notify(
            "issue.urged_up", issue, actor, to_unit=False, to_office=True, text=description
        ),
        robust=True,
    )
    return issue


@transaction.atomic
def issue_accept(
    *,
    issue: Issue,
    actor,
    unit: Unit,
    deadline: dt.date,
    requirement: str = "",
    leader: Leader | None = None,
    expected_version: int | None = None,
) -> Issue:
    issue = _lock(issue, expected_version)
    if not (selectors.can_supervise(actor, issue.unit) and selectors.can_supervise(actor, unit)):
        raise PermissionDenied(_("Only the supervision office may accept a request."))
    _check_status(
        issue,
        [IssueStatus.PENDING],
        _("Only a pending request can be accepted (it is %(status)s)."),
    )
    if deadline is None or deadline < timezone.localdate():
        raise ValidationError({"deadline": _("Set a deadline from today on.")})
    if leader is not None and leader.pk != issue.leader_id and not leader_may_lead(leader, unit):
        raise ValidationError({"leader": _leader_error()})
    issue.unit = unit
    issue.leader = leader or issue.leader
    issue.deadline = issue.original_deadline = deadline
    issue.requirement = (requirement or issue.requirement).strip()
    issue.status = IssueStatus.OPEN
    issue.awaiting_office = False
    writes.save(issue, actor)
    _event(issue, IssueEventKind.ACCEPTED, actor, text=issue.requirement, deadline=deadline)
    transaction.on_commit(
        lambda: _notify("issue.raised", issue, actor, text=issue.requirement), robust=True
    )
    return issue


@transaction.atomic
def issue_decline(
    *, issue: Issue, actor, reason: str, expected_version: int | None = None
) -> Issue:
    issue = _lock(issue, expected_version)
    if not can_supervise_issue(actor, issue):
        raise PermissionDenied(_("Only the supervision office may decline a request."))
    _check_status(
        issue,
        [IssueStatus.PENDING],
        _("Only a pending request can be declined (it is %(status)s)."),
    )
    reason = _text(reason, "reason", _("Give the reason for declining."))
    issue.status = IssueStatus.DECLINED
    issue.awaiting_office = False
    writes.save(issue, actor)
    _event(issue, IssueEventKind.DECLINED, actor, text=reason)
    transaction.on_commit(
        lambda: _notify(
            "issue.declined",
            issue,
            actor,
            to_unit=False,
            extra_units=[issue.requested_by_unit] if issue.requested_by_unit_id else [],
            text=reason,
        ),
        robust=True,
    )
    return issue


# ---------------------------------------------------------------------------------------------
# The unit's side: responses, rectification, extensions, urging upward
# ---------------------------------------------------------------------------------------------


def _unit_actor_unit(actor, issue: Issue) -> Unit | None:
    """The unit the actor speaks for: the responsible unit when they belong to it."""
    for membership in selectors.user_memberships(actor):
        if issue.unit.path.startswith(membership.unit.path):
            return membership.unit
    return None


@transaction.atomic
def issue_respond(
    *,
    issue: Issue,
    actor,
    text: str,
    files: Iterable[Any] = (),
    expected_version: int | None = None,
) -> IssueEvent:
    """反馈: the unit reports what it has done; the issue is then being rectified."""
    issue = _lock(issue, expected_version)
    if not can_act_for_unit(actor, issue):
        raise PermissionDenied(_("Only the responsible unit may respond to this issue."))
    _check_status(issue, ISSUE_ACTIVE_STATUSES, _("An issue that is %(status)s takes no response."))
    text = _text(text, "text", _("Write what has been done."))
    if issue.status == IssueStatus.OPEN:
        issue.status = IssueStatus.IN_PROGRESS
    writes.save(issue, actor)
    event = _event(
        issue, IssueEventKind.RESPONSE, actor, text=text, actor_unit=_unit_actor_unit(actor, issue)
    )
    _attach(event, files)
    transaction.on_commit(
        lambda: _notify("issue.response", issue, actor, to_unit=False, to_office=True, text=text),
        robust=True,
    )
    return event


@transaction.atomic
def issue_mark_rectified(
    *,
    issue: Issue,
    actor,
    text: str,
    files: Iterable[Any] = (),
    expected_version: int | None = None,
) -> Issue:
    """已整改: the unit says the problem is solved, with its evidence; a supervisor verifies."""
    issue = _lock(issue, expected_version)
    if not can_act_for_unit(actor, issue):
        raise PermissionDenied(_("Only the responsible unit may report this issue rectified."))
    _check_status(
        issue, ISSUE_ACTIVE_STATUSES, _("An issue that is %(status)s cannot be reported rectified.")
    )
    text = _text(text, "text", _("Describe the rectification and its evidence."))
    issue.status = IssueStatus.RESOLVED
    issue.resolved_at = timezone.now()
    writes.save(issue, actor)
    event = _event(
        issue, IssueEventKind.RECTIFIED, actor, text=text, actor_unit=_unit_actor_unit(actor, issue)
    )
    _attach(event, files)
    transaction.on_commit(
        lambda: _notify("issue.rectified", issue, actor, to_unit=False, to_office=True, text=text),
        robust=True,
    )
    return issue


@transaction.atomic
def issue_request_extension(
    *, issue: Issue, actor, new_deadline: dt.date, reason: str, expected_version: int | None = None
) -> ExtensionRequest:
    """A unit asks for more time, before the deadline has passed."""
    issue = _lock(issue, expected_version)
    if not can_act_for_unit(actor, issue):
        raise PermissionDenied(_("Only the responsible unit may ask for an extension."))
    _check_status(
        issue, ISSUE_ACTIVE_STATUSES, _("An issue that is %(status)s needs no extension.")
    )
    today = timezone.localdate()
    if issue.deadline < today:
        raise ValidationError(
            _("The deadline has passed: an extension must be asked for before it.")
        )
    if new_deadline is None or new_deadline <= issue.deadline:
        raise ValidationError(
            {"new_deadline": _("The new deadline must be after the current one.")}
        )
    reason = _text(reason, "reason", _("Give the reason for the extension."))
    if issue.extensions.filter(status=ExtensionStatus.PENDING).exists():
        raise ValidationError(_("An extension request is already waiting for a decision."))
    request = ExtensionRequest.objects.create(
        issue=issue, requested_deadline=new_deadline, reason=reason, requested_by=actor
    )
    writes.touch(issue)
    _event(
        issue,
        IssueEventKind.EXTENSION_REQUESTED,
        actor,
        text=reason,
        deadline=new_deadline,
        actor_unit=_unit_actor_unit(actor, issue),
    )
    transaction.on_commit(
        lambda: _notify(
            "issue.extension_requested", issue, actor, to_unit=False, to_office=True, text=reason
        ),
        robust=True,
    )
    return request


@transaction.atomic
def issue_decide_extension(
    *, request: ExtensionRequest, actor, grant: bool, note: str = ""
) -> ExtensionRequest:
    request = ExtensionRequest.objects.select_for_update().get(pk=request.pk)
    issue = _lock(request.issue)
    if not can_supervise_issue(actor, issue):
        raise PermissionDenied(_("Only a supervisor may decide on an extension."))
    if request.status != ExtensionStatus.PENDING:
        raise ValidationError(_("This extension request has already been decided."))
    note = (note or "").strip()
    if not grant and not note:
        raise ValidationError({"note": _("Give the reason for refusing.")})
    request.status = ExtensionStatus.GRANTED if grant else ExtensionStatus.REFUSED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note[:300]
    request.save()
    if grant:
        issue.deadline = request.requested_deadline
    writes.save(issue, actor)
    kind = IssueEventKind.EXTENSION_GRANTED if grant else IssueEventKind.EXTENSION_REFUSED
    _event(issue, kind, actor, text=note, deadline=request.requested_deadline if grant else None)
    transaction.on_commit(lambda: _notify(f"issue.{kind}", issue, actor, text=note), robust=True)
    return request


@transaction.atomic
def issue_urge_up(
    *,
    issue: Issue,
    actor,
    text: str,
    target_unit: Unit | None = None,
    expected_version: int | None = None,
) -> IssueEvent:
    """The responsible unit asks the county to push another unit or to coordinate."""
    issue = _lock(issue, expected_version)
    if not can_act_for_unit(actor, issue):
        raise PermissionDenied(
            _("Only the responsible unit may ask the county to push on this issue.")
        )
    _check_status(issue, ISSUE_ACTIVE_STATUSES, _("An issue that is %(status)s needs no push."))
    text = _text(text, "text", _("Say what you need the county to do."))
    if target_unit is not None and not unit_may_be_pushed(target_unit, issue.unit):
        raise ValidationError({"target_unit": _target_unit_error()})
    issue.awaiting_office = True
    writes.save(issue, actor)
    event = _event(
        issue,
        IssueEventKind.URGED_UP,
        actor,
        text=text,
        target_unit=target_unit,
        actor_unit=_unit_actor_unit(actor, issue),
    )
    transaction.on_commit(
        lambda: _notify("issue.urged_up", issue, actor, to_unit=False, to_office=True, text=text),
        robust=True,
    )
    return event


# ---------------------------------------------------------------------------------------------
# The supervision office's side: urging, escalation, closing, sending back
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def issue_urge(
    *,
    issue: Issue,
    actor,
    text: str,
    target_unit: Unit | None = None,
    expected_version: int | None = None,
) -> IssueEvent:
    """催办: a supervisor urges the responsible unit (or, on a unit's request, another unit).

    A first urge puts the issue on the first step of the ladder.
    """
    issue = _lock(issue, expected_version)
    if not can_supervise_issue(actor, issue):
        raise PermissionDenied(_("Only a supervisor may urge."))
    _check_status(issue, ISSUE_ACTIVE_STATUSES, _("An issue that is %(status)s needs no urging."))
    text = _text(text, "text", _("Write what the unit is urged to do."))
    if target_unit is not None and not selectors.can_supervise(actor, target_unit):
        raise ValidationError({"target_unit": _("You may only urge units in your scope.")})
    issue.awaiting_office = False
    raised = issue.level < EscalationLevel.URGED
    if raised:
        issue.level = EscalationLevel.URGED
    writes.save(issue, actor)
    event = _event(
        issue,
        IssueEventKind.URGED,
        actor,
        text=text,
        target_unit=target_unit,
        level=issue.level if raised else None,
    )
    extra = [target_unit] if target_unit is not None and target_unit != issue.unit else []
    transaction.on_commit(
        lambda: _notify("issue.urged", issue, actor, extra_units=extra, text=text), robust=True
    )
    return event


@transaction.atomic
def issue_escalate(
    *, issue: Issue, actor, level: int, reason: str, expected_version: int | None = None
) -> Issue:
    """A supervisor's decision to move the issue up the ladder (督办, 挂牌督办, 约谈, 问责)."""
    issue = _lock(issue, expected_version)
    if not can_supervise_issue(actor, issue):
        raise PermissionDenied(_("Only a supervisor may escalate an issue."))
    _check_status(
        issue, ISSUE_ACTIVE_STATUSES, _("An issue that is %(status)s cannot be escalated.")
    )
    if level not in EscalationLevel.values or level <= issue.level:
        raise ValidationError({"level": _("Choose a step above the current one.")})
    reason = _text(reason, "reason", _("Give the reason for the escalation."))
    issue.level = level
    issue.awaiting_office = False
    writes.save(issue, actor)
    _event(issue, IssueEventKind.ESCALATED, actor, text=reason, level=level)
    transaction.on_commit(
        lambda: _notify("issue.escalated", issue, actor, text=reason), robust=True
    )
    return issue


@transaction.atomic
def issue_close(
    *, issue: Issue, actor, note: str = "", expected_version: int | None = None
) -> Issue:
    """销号: a supervisor verifies the rectification and closes the issue for good."""
    issue = _lock(issue, expected_version)
    if not can_supervise_issue(actor, issue):
        raise PermissionDenied(_("Only a supervisor may close an issue."))
    if is_own_rectification(actor, issue):
        raise PermissionDenied(own_rectification_message())
    _check_status(
        issue,
        [IssueStatus.RESOLVED],
        _("Only an issue reported rectified can be closed (it is %(status)s)."),
    )
    issue.status = IssueStatus.CLOSED
    issue.closed_at = timezone.now()
    issue.closed_by = actor
    issue.awaiting_office = False
    writes.save(issue, actor)
    _event(issue, IssueEventKind.CLOSED, actor, text=(note or "").strip())
    transaction.on_commit(lambda: _notify("issue.closed", issue, actor, text=note), robust=True)
    return issue


@transaction.atomic
def issue_send_back(
    *, issue: Issue, actor, reason: str, expected_version: int | None = None
) -> Issue:
    """退回: the rectification is not accepted; the issue goes back to the unit."""
    issue = _lock(issue, expected_version)
    if not can_supervise_issue(actor, issue):
        raise PermissionDenied(_("Only a supervisor may send an issue back."))
    _check_status(
        issue,
        [IssueStatus.RESOLVED],
        _("Only an issue reported rectified can be sent back (it is %(status)s)."),
    )
    reason = _text(reason, "reason", _("Say why the rectification is not accepted."))
    issue.status = IssueStatus.OPEN
    issue.resolved_at = None
    writes.save(issue, actor)
    _event(issue, IssueEventKind.SENT_BACK, actor, text=reason)
    transaction.on_commit(
        lambda: _notify("issue.sent_back", issue, actor, text=reason), robust=True
    )
    return issue


@transaction.atomic
def issue_instruct(*, issue: Issue, actor, text: str) -> IssueEvent:
    """批示: a leader's instruction, on the timeline and sent to the unit."""
    issue = Issue.objects.select_related("unit", "leader").get(pk=issue.pk)
    if not can_instruct(actor, issue):
        raise PermissionDenied(_("Only a leader may write an instruction."))
    text = _text(text, "text", _("Write the instruction."))
    Issue.objects.filter(pk=issue.pk).update(version=F("version") + 1, updated_at=timezone.now())
    event = _event(issue, IssueEventKind.INSTRUCTION, actor, text=text)
    transaction.on_commit(
        lambda: _notify("issue.instruction", issue, actor, to_office=True, text=text), robust=True
    )
    return event


# ---------------------------------------------------------------------------------------------
# The daily job
# ---------------------------------------------------------------------------------------------


def escalation_grace_days() -> int:
    """Days past the deadline from which the job steps an issue to 督办: the issue-overdue
    rule's red threshold (admin-editable; 8 by default, i.e. red a week after it turns yellow)."""

    red_at = AlertRule.objects.filter(key="issue_overdue").values_list("red_at", flat=True).first()
    return int(red_at if red_at is not None else RULE_SPECS["issue_overdue"].red_at)


def escalate_overdue(*, today: dt.date | None = None) -> list[int]:
    """Step every issue overdue by the grace days or more to 督办 (never lower an issue), in two
    set-based statements plus the timeline rows; returns the issue ids stepped. Idempotent."""
    today = today or timezone.localdate()
    cutoff = today - dt.timedelta(days=escalation_grace_days())
    with transaction.atomic():
        ids = list(
            Issue.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=ISSUE_ACTIVE_STATUSES,
                deadline__lte=cutoff,
                level__lt=EscalationLevel.SUPERVISED,
            )
            .values_list("pk", flat=True)
        )
        if not ids:
            return []
        now = timezone.now()
        Issue.objects.filter(pk__in=ids).update(
            level=EscalationLevel.SUPERVISED, version=F("version") + 1, updated_at=now
        )
        text = _("Overdue by %(days)d days or more: stepped to supervision automatically.") % {
            "days": escalation_grace_days()
        }
        IssueEvent.objects.bulk_create(
            IssueEvent(
                issue_id=pk,
                kind=IssueEventKind.ESCALATED,
                level=EscalationLevel.SUPERVISED,
                text=text,
                created_at=now,
            )
            for pk in ids
        )

        def _tell() -> None:
            for issue in Issue.objects.filter(pk__in=ids).select_related("unit", "leader"):
                _notify("issue.escalated", issue, None, text=text)

        transaction.on_commit(_tell, robust=True)
    return ids
