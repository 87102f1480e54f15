"""The only write path of inspections (督查检查), meetings (会议交办) and project notices
(亮红牌/限期通知).

The rules of ``supervision.issues.services``: keyword-only functions ``<entity>_<action>(*, ...,
actor)`` that check rights by unit scope (a supervisor over the organising or convening unit; for a
notice, over the project's lead unit), validate (``full_clean``) and save inside one transaction,
raise the version on every change and record who did it, in the model's fields and in its history.
Notifications go out once the transaction commits.

Issues are raised only through ``supervision.issues.services.issue_raise``. A batch of findings or
decisions becomes several issues in one transaction: every row is checked, and when one is bad
nothing is written and each bad row's errors are reported (``RowErrors``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import PurePath
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from projects import selectors
from projects import services as project_services
from projects.models import Leader, Project, Stage, Unit
from projects.photos import inspect_photo, make_thumbnail
from supervision import selectors as supervision_selectors
from supervision.issues.services import issue_raise
from supervision.models import (
    Inspection,
    InspectionPhoto,
    InspectionScore,
    Issue,
    IssueSource,
    Meeting,
    NoticeKind,
    NoticeStatus,
    ProjectNotice,
)
from supervision.notifications import notify
from tracker import writes

PHOTOS_PER_INSPECTION = 30
SCORE_PLACES = Decimal("0.01")

INSPECTION_FIELDS = frozenset({"title", "kind", "held_on", "unit", "inspectors", "findings"})
INSPECTION_M2M_FIELDS = frozenset({"projects", "units_visited"})
MEETING_FIELDS = frozenset(
    {"title", "kind", "held_on", "unit", "host", "location", "attendee_names", "minutes"}
)
MEETING_M2M_FIELDS = frozenset({"attendees", "absentees", "projects"})
# What one row of a batch of findings or decisions may carry (issue_raise's own arguments).
ISSUE_ROW_FIELDS = frozenset(
    {"title", "category", "unit", "deadline", "description", "requirement", "project", "leader"}
)
SETTLED_STATUSES = (NoticeStatus.FULFILLED, NoticeStatus.ENFORCED, NoticeStatus.WITHDRAWN)


class RowErrors(ValidationError):
    """Some rows of a batch are invalid; nothing was written.

    ``rows`` maps the index (from 0) of each bad row to its ``ValidationError``. As a plain
    ValidationError it names each field ``<index>.<field>`` (``<index>.non_field_errors`` for a
    row as a whole), which is how the API reports it.
    """

    def __init__(self, rows: dict[int, ValidationError]) -> None:
        self.rows = rows
        flat: dict[str, list[str]] = {}
        for index, error in sorted(rows.items()):
            for field, messages in _error_dict(error).items():
                name = "non_field_errors" if field == "__all__" else field
                flat.setdefault(f"{index}.{name}", []).extend(messages)
        super().__init__(flat)


def _error_dict(error: ValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return error.message_dict
    return {"__all__": error.messages}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def can_write_inspection(user, inspection: Inspection) -> bool:
    return selectors.can_supervise(user, inspection.unit)


def can_write_meeting(user, meeting: Meeting) -> bool:
    return selectors.can_supervise(user, meeting.unit)


def can_issue_notices(user, project: Project) -> bool:
    return selectors.can_supervise(user, project.lead_unit)


def _lock(model: type[models.Model], pk: int, expected_version: int | None = None) -> Any:
    return writes.lock(model.objects.select_related("unit"), pk, expected_version)


def _text(value: str | None) -> str:
    return (value or "").strip()


def _check_fields(fields: Iterable[str], allowed: frozenset[str], service: str) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"not editable through {service}: {sorted(unknown)}")


def _check_date(held_on: dt.date | None, errors: dict[str, str]) -> None:
    if held_on is not None and held_on > timezone.localdate():
        errors["held_on"] = _("The date cannot be in the future.")


def _check_projects(actor, projects: list[Project], field: str, errors: dict[str, str]) -> None:
    ids = {p.pk for p in projects}
    known = supervision_selectors.projects_to_name(actor).filter(pk__in=ids)
    if ids - set(known.values_list("pk", flat=True)):
        errors[field] = _("Name only projects you supervise.")


def _check_units(actor, units: list[Unit], field: str, errors: dict[str, str]) -> None:
    ids = {u.pk for u in units}
    known = supervision_selectors.units_to_name(actor).filter(pk__in=ids)
    if ids - set(known.values_list("pk", flat=True)):
        errors[field] = _("Name only active units you supervise (no villages).")


def _check_host(host: Leader | None, unit: Unit, errors: dict[str, str]) -> None:
    if host is None:
        return
    if not host.is_active:
        errors["host"] = _("This leader is no longer active.")
    elif not selectors.leaders_of([selectors.jurisdiction_path(unit)]).filter(pk=host.pk).exists():
        errors["host"] = _("Choose a leader of the convening unit's county or above it.")


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise ValidationError(errors)


def inspection_url(inspection: Inspection) -> str:
    return reverse("inspection_detail", args=[inspection.pk])


def meeting_url(meeting: Meeting) -> str:
    return reverse("meeting_detail", args=[meeting.pk])


def notices_url(project: Project) -> str:
    return reverse("project_notices", args=[project.pk])


# ---------------------------------------------------------------------------------------------
# Raising a batch of issues (findings of an inspection, decisions of a meeting)
# ---------------------------------------------------------------------------------------------


def _raise_batch(*, actor, rows: list[Mapping[str, Any]], source: str, **link: Any) -> list[Issue]:
    """Raise every row through ``issue_raise``; all or nothing (the caller is atomic)."""
    if not rows:
        raise ValidationError(_("Fill in at least one issue."))
    issues: list[Issue] = []
    errors: dict[int, ValidationError] = {}
    for index, row in enumerate(rows):
        _check_fields(row, ISSUE_ROW_FIELDS, "a batch of issues")
        missing: dict[str, str] = {}
        if row.get("unit") is None:
            missing["unit"] = _("Name the responsible unit.")
        if row.get("deadline") is None:
            missing["deadline"] = _("Set a deadline.")
        if missing:
            errors[index] = ValidationError(missing)
            continue
        try:
            # A savepoint per row: a bad row leaves no trace, and the rows after it are still
            # checked so that every error is reported at once.
            with transaction.atomic():
                issues.append(issue_raise(actor=actor, source=source, **link, **row))
        except PermissionDenied as exc:
            errors[index] = ValidationError({"unit": str(exc)})
        except ValidationError as exc:
            errors[index] = exc
    if errors:
        raise RowErrors(errors)
    return issues


# ---------------------------------------------------------------------------------------------
# Inspections
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def inspection_create(
    *,
    actor,
    title: str,
    kind: str,
    held_on: dt.date,
    unit: Unit,
    inspectors: str,
    findings: str = "",
    projects: Iterable[Project] = (),
    units_visited: Iterable[Unit] = (),
) -> Inspection:
    """Record a supervision report (督查报告) for the organising unit."""
    if unit is None or not selectors.can_supervise(actor, unit):
        raise PermissionDenied(
            _("Only a supervisor over the organising unit may record an inspection.")
        )
    projects, units_visited = list(projects), list(units_visited)
    errors: dict[str, str] = {}
    _check_date(held_on, errors)
    _check_projects(actor, projects, "projects", errors)
    _check_units(actor, units_visited, "units_visited", errors)
    _raise(errors)
    inspection = Inspection(
        title=_text(title),
        kind=kind,
        held_on=held_on,
        unit=unit,
        inspectors=_text(inspectors),
        findings=_text(findings),
        created_by=actor,
    )
    writes.save(inspection, actor)
    inspection.projects.set(projects)
    inspection.units_visited.set(units_visited)
    return inspection


@transaction.atomic
def inspection_update(
    *, inspection: Inspection, actor, expected_version: int | None = None, **changes: Any
) -> Inspection:
    _check_fields(changes, INSPECTION_FIELDS | INSPECTION_M2M_FIELDS, "inspection_update")
    inspection = _lock(Inspection, inspection.pk, expected_version)
    if not can_write_inspection(actor, inspection):
        raise PermissionDenied(
            _("Only a supervisor over the organising unit may change this inspection.")
        )
    new_unit = changes.get("unit")
    if new_unit is not None and not selectors.can_supervise(actor, new_unit):
        raise PermissionDenied(
            _("Only a supervisor over the organising unit may record an inspection.")
        )
    errors: dict[str, str] = {}
    _check_date(changes.get("held_on"), errors)
    if "projects" in changes:
        changes["projects"] = list(changes["projects"])
        _check_projects(actor, changes["projects"], "projects", errors)
        kept = {p.pk for p in changes["projects"]}
        scored = inspection.scores.exclude(project__in=kept).select_related("project").first()
        if scored is not None:
            errors["projects"] = _(
                "“%(project)s” has a score in this inspection: remove its score first."
            ) % {"project": scored.project.name}
    if "units_visited" in changes:
        changes["units_visited"] = list(changes["units_visited"])
        _check_units(actor, changes["units_visited"], "units_visited", errors)
    _raise(errors)
    m2m = {key: changes.pop(key) for key in list(changes) if key in INSPECTION_M2M_FIELDS}
    for key, value in changes.items():
        setattr(inspection, key, _text(value) if isinstance(value, str) else value)
    writes.save(inspection, actor)
    for key, value in m2m.items():
        getattr(inspection, key).set(value)
    return inspection


def _score_value(raw: Any) -> Decimal | None:
    if raw is None or raw == "":
        return None
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        raise ValidationError({"score": _("Enter a number from 0 to 100.")}) from None
    if not value.is_finite() or value < 0 or value > 100:
        raise ValidationError({"score": _("Enter a number from 0 to 100.")})
    if value != value.quantize(SCORE_PLACES):
        raise ValidationError({"score": _("At most two decimal places.")})
    return value.quantize(SCORE_PLACES)


@transaction.atomic
def inspection_set_scores(
    *,
    inspection: Inspection,
    actor,
    scores: Iterable[Mapping[str, Any]],
    expected_version: int | None = None,
) -> list[InspectionScore]:
    """观摩评比: the inspection's whole score sheet, rows of ``project``, ``score`` (0–100, two
    decimals) and ``comment``. A visited project left out, or with no score, has none."""
    inspection = _lock(Inspection, inspection.pk, expected_version)
    if not can_write_inspection(actor, inspection):
        raise PermissionDenied(
            _("Only a supervisor over the organising unit may score this inspection.")
        )
    visited = set(inspection.projects.values_list("pk", flat=True))
    wanted: dict[int, tuple[Decimal, str]] = {}
    errors: dict[int, ValidationError] = {}
    for index, row in enumerate(scores):
        project = row.get("project")
        comment = _text(row.get("comment"))
        try:
            value = _score_value(row.get("score"))
            if project is None or project.pk not in visited:
                raise ValidationError(
                    {"project": _("Only the projects visited by this inspection can be scored.")}
                )
            if project.pk in wanted:
                raise ValidationError({"project": _("This project is scored twice.")})
            limit = InspectionScore._meta.get_field("comment").max_length
            if len(comment) > limit:
                raise ValidationError(
                    {"comment": _("At most %(limit)d characters.") % {"limit": limit}}
                )
        except ValidationError as exc:
            errors[index] = exc
            continue
        if value is not None:
            wanted[project.pk] = (value, comment)
        elif comment:
            errors[index] = ValidationError({"score": _("A comment needs a score.")})
    if errors:
        raise RowErrors(errors)
    existing = {s.project_id: s for s in inspection.scores.all()}
    inspection.scores.exclude(project__in=wanted.keys()).delete()
    saved = []
    for project_id, (value, comment) in wanted.items():
        score = existing.get(project_id) or InspectionScore(
            inspection=inspection, project_id=project_id
        )
        score.score, score.comment = value, comment
        score.full_clean()
        score.save()
        saved.append(score)
    writes.touch(inspection)
    return saved


def _delete_files(*fields: Any) -> None:
    for field in fields:
        if field and field.name:
            field.storage.delete(field.name)


@transaction.atomic
def inspection_photo_add(
    *,
    inspection: Inspection,
    upload: Any,
    actor,
    caption: str = "",
    project: Project | None = None,
) -> InspectionPhoto:
    """A site photo of the inspection. A refused file (not a whole JPEG, PNG or WebP photo,
    too large, too many photos) stores nothing."""
    # Locking the inspection serialises concurrent uploads, so the limit holds.
    inspection = _lock(Inspection, inspection.pk)
    if not can_write_inspection(actor, inspection):
        raise PermissionDenied(_("Only a supervisor over the organising unit may add photos."))
    if inspection.photos.count() >= PHOTOS_PER_INSPECTION:
        raise ValidationError(
            _("An inspection can have at most %(limit)d photos.")
            % {"limit": PHOTOS_PER_INSPECTION},
            code="too_many_photos",
        )
    if project is not None and not inspection.projects.filter(pk=project.pk).exists():
        raise ValidationError(
            {"project": _("A photo can only show a project visited by this inspection.")}
        )
    info = inspect_photo(upload)
    photo = InspectionPhoto(
        inspection=inspection,
        project=project,
        caption=_text(caption),
        taken_at=info.taken_at,
        uploaded_by=actor,
    )
    # Validate everything but the files before writing any file.
    photo.full_clean(exclude=["image", "thumbnail"])
    stem = PurePath(getattr(upload, "name", None) or "photo").stem or "photo"
    thumbnail = make_thumbnail(upload)
    try:
        # The stored name carries the extension of the real format, whatever the upload said.
        photo.image.save(f"{stem}.{info.extension}", upload, save=False)
        photo.thumbnail.save(f"{stem}_thumb.jpg", thumbnail, save=False)
        photo.full_clean()
        photo.save()
    except BaseException:
        _delete_files(photo.image, photo.thumbnail)
        raise
    writes.touch(inspection)
    return photo


@transaction.atomic
def inspection_photo_remove(*, photo: InspectionPhoto, actor) -> None:
    """Its files go once the removal commits."""
    photo = InspectionPhoto.objects.get(pk=photo.pk)
    inspection = _lock(Inspection, photo.inspection_id)
    if not can_write_inspection(actor, inspection):
        raise PermissionDenied(_("Only a supervisor over the organising unit may remove photos."))
    image, thumbnail = photo.image, photo.thumbnail
    photo.delete()
    writes.touch(inspection)
    transaction.on_commit(lambda: _delete_files(image, thumbnail))


@transaction.atomic
def inspection_raise_issues(
    *, inspection: Inspection, actor, issues: list[Mapping[str, Any]]
) -> list[Issue]:
    """Put several findings on the ledger in one step: every row becomes an issue whose source
    is this inspection, or, when one row is bad, none does."""
    inspection = _lock(Inspection, inspection.pk)
    if not can_write_inspection(actor, inspection):
        raise PermissionDenied(
            _("Only a supervisor over the organising unit may raise issues from it.")
        )
    raised = _raise_batch(
        actor=actor, rows=list(issues), source=IssueSource.INSPECTION, inspection=inspection
    )
    writes.touch(inspection)
    return raised


# ---------------------------------------------------------------------------------------------
# Meetings
# ---------------------------------------------------------------------------------------------


def _check_meeting(
    actor, values: dict[str, Any], errors: dict[str, str], *, attendance: tuple[list, list]
) -> None:
    """``values``: what is written; ``attendance``: attendees and absentees as they will be."""
    _check_date(values.get("held_on"), errors)
    if "projects" in values:
        _check_projects(actor, values["projects"], "projects", errors)
    for field in ("attendees", "absentees"):
        if field in values:
            _check_units(actor, values[field], field, errors)
    attendees, absentees = attendance
    both = {u.pk for u in attendees} & {u.pk for u in absentees}
    if both:
        names = "、".join(u.name for u in absentees if u.pk in both)
        errors["absentees"] = _("A unit cannot both attend and be absent: %(units)s.") % {
            "units": names
        }


@transaction.atomic
def meeting_create(
    *,
    actor,
    title: str,
    kind: str,
    held_on: dt.date,
    unit: Unit,
    host: Leader | None = None,
    location: str = "",
    attendees: Iterable[Unit] = (),
    absentees: Iterable[Unit] = (),
    attendee_names: str = "",
    projects: Iterable[Project] = (),
    minutes: str = "",
) -> Meeting:
    """Record a meeting (调度会, 推进会, 现场办公会, 联席会议, 专题议定) of the convening unit."""
    if unit is None or not selectors.can_supervise(actor, unit):
        raise PermissionDenied(_("Only a supervisor over the convening unit may record a meeting."))
    m2m = {
        "attendees": list(attendees),
        "absentees": list(absentees),
        "projects": list(projects),
    }
    errors: dict[str, str] = {}
    _check_meeting(
        actor,
        {"held_on": held_on, **m2m},
        errors,
        attendance=(m2m["attendees"], m2m["absentees"]),
    )
    _check_host(host, unit, errors)
    _raise(errors)
    meeting = Meeting(
        title=_text(title),
        kind=kind,
        held_on=held_on,
        unit=unit,
        host=host,
        location=_text(location),
        attendee_names=_text(attendee_names),
        minutes=_text(minutes),
        created_by=actor,
    )
    writes.save(meeting, actor)
    for key, value in m2m.items():
        getattr(meeting, key).set(value)
    return meeting


@transaction.atomic
def meeting_update(
    *, meeting: Meeting, actor, expected_version: int | None = None, **changes: Any
) -> Meeting:
    _check_fields(changes, MEETING_FIELDS | MEETING_M2M_FIELDS, "meeting_update")
    meeting = _lock(Meeting, meeting.pk, expected_version)
    if not can_write_meeting(actor, meeting):
        raise PermissionDenied(
            _("Only a supervisor over the convening unit may change this meeting.")
        )
    new_unit = changes.get("unit")
    if new_unit is not None and not selectors.can_supervise(actor, new_unit):
        raise PermissionDenied(_("Only a supervisor over the convening unit may record a meeting."))
    for key in MEETING_M2M_FIELDS & changes.keys():
        changes[key] = list(changes[key])
    # Attendance is checked as it will be: a changed side against the side kept.
    attendance = tuple(
        changes[key] if key in changes else list(getattr(meeting, key).all())
        for key in ("attendees", "absentees")
    )
    errors: dict[str, str] = {}
    _check_meeting(actor, changes, errors, attendance=attendance)
    host = changes.get("host")
    if host is not None and (host.pk != meeting.host_id or new_unit is not None):
        _check_host(host, new_unit or meeting.unit, errors)
    _raise(errors)
    m2m = {key: changes.pop(key) for key in list(changes) if key in MEETING_M2M_FIELDS}
    for key, value in changes.items():
        setattr(meeting, key, _text(value) if isinstance(value, str) else value)
    writes.save(meeting, actor)
    for key, value in m2m.items():
        getattr(meeting, key).set(value)
    return meeting


@transaction.atomic
def meeting_record_decisions(
    *, meeting: Meeting, actor, decisions: list[Mapping[str, Any]]
) -> list[Issue]:
    """交办事项: the meeting's decisions become issues, each with its owner unit and deadline,
    in one step (all or none). The units named by the meeting are told once it commits."""
    meeting = _lock(Meeting, meeting.pk)
    if not can_write_meeting(actor, meeting):
        raise PermissionDenied(
            _("Only a supervisor over the convening unit may record its decisions.")
        )
    raised = _raise_batch(
        actor=actor, rows=list(decisions), source=IssueSource.MEETING, meeting=meeting
    )
    writes.touch(meeting)
    transaction.on_commit(lambda: _notify_decisions(meeting, raised, actor), robust=True)
    return raised


def _notify_decisions(meeting: Meeting, issues: list[Issue], actor) -> None:

    lines = [
        _("%(number)d. %(title)s (%(unit)s, by %(deadline)s)")
        % {
            "number": number,
            "title": issue.title,
            "unit": issue.unit.name,
            "deadline": issue.deadline.isoformat(),
        }
        for number, issue in enumerate(issues, start=1)
    ]
    units = {issue.unit_id: issue.unit for issue in issues}
    for unit in [*meeting.attendees.all(), *meeting.absentees.all()]:
        units.setdefault(unit.pk, unit)
    leaders = {issue.leader_id: issue.leader for issue in issues if issue.leader_id}
    if meeting.host_id:
        leaders.setdefault(meeting.host_id, meeting.host)
    notify(
        "meeting.decisions",
        title=_("[Decisions] %(meeting)s") % {"meeting": meeting.title},
        body="\n".join(lines),
        url=meeting_url(meeting),
        units=list(units.values()),
        leaders=list(leaders.values()),
        exclude=actor,
    )


# ---------------------------------------------------------------------------------------------
# Project notices: red cards (亮红牌) and deadline notices (限期开工, else cancel)
# ---------------------------------------------------------------------------------------------


def offers_cancellation(notice: ProjectNotice) -> bool:
    """A deadline notice whose consequence is cancelling the project (逾期取消).

    The consequence is free text written by the office; cancelling the project is offered, as
    an explicit choice, only when it says so.
    """
    consequence = notice.consequence.lower()
    return notice.kind == NoticeKind.DEADLINE and ("取消" in consequence or "cancel" in consequence)


def _notice_body(notice: ProjectNotice) -> str:
    parts = [notice.requirement]
    if notice.deadline:
        parts.append(_("Deadline: %(date)s") % {"date": notice.deadline.isoformat()})
    if notice.consequence:
        parts.append(_("If missed: %(consequence)s") % {"consequence": notice.consequence})
    if notice.outcome:
        parts.append(notice.outcome)
    return "\n".join(parts)


def _notify_notice(event: str, notice: ProjectNotice, actor) -> None:

    project = notice.project
    label = notice.get_kind_display()
    if event == "notice.settled":
        label = f"{label}·{notice.get_status_display()}"
    notify(
        event,
        title=f"【{label}】{project.name}",
        body=_notice_body(notice),
        url=notices_url(project),
        units=[project.lead_unit],
        leaders=[project.lead_leader] if project.lead_leader_id else [],
        exclude=actor,
    )


@transaction.atomic
def notice_issue(
    *,
    project: Project,
    actor,
    kind: str,
    requirement: str,
    deadline: dt.date | None = None,
    consequence: str = "",
) -> ProjectNotice:
    """亮红牌 (the project's red card is set, with the requirement as its reason) or a deadline
    notice (限期开工 and the like, with what happens when it is missed)."""
    project = Project.objects.select_for_update().select_related("lead_unit").get(pk=project.pk)
    if not can_issue_notices(actor, project):
        raise PermissionDenied(
            _("Only a supervisor over the project's unit may issue a notice on it.")
        )
    today = timezone.localdate()
    requirement, consequence = _text(requirement), _text(consequence)
    errors: dict[str, str] = {}
    if kind not in NoticeKind.values:
        errors["kind"] = _("Choose a red card or a deadline notice.")
    if not requirement:
        errors["requirement"] = _("Write the reason and what the unit must do.")
    if kind == NoticeKind.DEADLINE:
        if deadline is None:
            errors["deadline"] = _("A deadline notice needs a deadline.")
        if not consequence:
            errors["consequence"] = _("Say what happens if the deadline is missed.")
    if deadline is not None and deadline < today:
        errors["deadline"] = _("The deadline cannot be in the past.")
    _raise(errors)
    notice = ProjectNotice(
        project=project,
        kind=kind,
        requirement=requirement,
        deadline=deadline,
        consequence=consequence,
        issued_on=today,
        issued_by=actor,
    )
    writes.save(notice, actor)
    if kind == NoticeKind.RED_CARD:
        project_services.project_set_red_card(
            project=project, actor=actor, red_card=True, reason=requirement
        )
    transaction.on_commit(lambda: _notify_notice("notice.issued", notice, actor), robust=True)
    return notice


@transaction.atomic
def notice_settle(
    *,
    notice: ProjectNotice,
    actor,
    status: str,
    outcome: str,
    cancel_project: bool = False,
) -> ProjectNotice:
    """Close a notice: fulfilled, consequence applied, or withdrawn, with the follow-up.

    Settling a project's last red card in force withdraws the red card; while another is in
    force the project keeps it, with that card's reason. Cancelling the project on a deadline
    notice whose consequence is cancellation is a separate, explicit choice (``cancel_project``).
    """
    notice = ProjectNotice.objects.select_for_update().get(pk=notice.pk)
    project = (
        Project.objects.select_for_update().select_related("lead_unit").get(pk=notice.project_id)
    )
    notice.project = project
    if not can_issue_notices(actor, project):
        raise PermissionDenied(
            _("Only a supervisor over the project's unit may settle its notices.")
        )
    if notice.status != NoticeStatus.ACTIVE:
        raise ValidationError(
            _("This notice is already settled (%(status)s).")
            % {"status": notice.get_status_display()}
        )
    errors: dict[str, str] = {}
    if status not in SETTLED_STATUSES:
        errors["status"] = _("Choose how the notice was settled.")
    outcome = _text(outcome)
    if not outcome:
        errors["outcome"] = _("Write the follow-up: what was done or decided.")
    if cancel_project and not (status == NoticeStatus.ENFORCED and offers_cancellation(notice)):
        errors["cancel_project"] = _(
            "Only a deadline notice whose consequence is cancellation, settled with the "
            "consequence applied, can cancel the project."
        )
    _raise(errors)
    notice.status = status
    notice.outcome = outcome
    notice.settled_at = timezone.now()
    notice.settled_by = actor
    writes.save(notice, actor)
    if notice.kind == NoticeKind.RED_CARD:
        in_force = (
            ProjectNotice.objects.filter(
                project=project, kind=NoticeKind.RED_CARD, status=NoticeStatus.ACTIVE
            )
            .order_by("-issued_on", "-id")
            .first()
        )
        if in_force is None and project.red_card:
            project = project_services.project_set_red_card(
                project=project, actor=actor, red_card=False
            )
        elif in_force is not None and project.red_card_reason != in_force.requirement:
            project = project_services.project_set_red_card(
                project=project, actor=actor, red_card=True, reason=in_force.requirement
            )
    if cancel_project and project.stage != Stage.CANCELLED:
        project_services.project_change_stage(
            project=project,
            to_stage=Stage.CANCELLED,
            changed_on=timezone.localdate(),
            actor=actor,
            note=_("Cancelled: the deadline notice of %(date)s was not met. %(outcome)s")
            % {"date": notice.issued_on.isoformat(), "outcome": outcome},
        )
    transaction.on_commit(lambda: _notify_notice("notice.settled", notice, actor), robust=True)
    return notice
