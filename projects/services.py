"""The only write path of the projects domain.

Each service is a keyword-only function ``<entity>_<action>(*, ..., actor)`` that checks the
actor's rights by unit scope, validates (``full_clean``) and saves inside one transaction, and
records who did it, in the model's own fields and in its audit history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from projects import selectors
from projects.models import (
    FundingApplication,
    Milestone,
    MilestoneRevision,
    MilestoneTemplate,
    ProgressReport,
    Project,
    ProjectFunding,
    ProjectYearPlan,
    ReportStatus,
    Source,
    Stage,
    StageChange,
    Tag,
    Target,
    Tombstone,
    TombstoneReason,
    Unit,
)
from projects.signals import projects_bulk_saved
from tracker import periods, writes
from tracker.writes import VersionConflict


def _saved_unless_taken(instance: models.Model, actor, key: models.QuerySet) -> bool:
    """Save ``instance``; for a new row of a one-row-per-``key`` table, False (nothing written)
    when a concurrent request has inserted that row first: found by ``full_clean``'s unique
    check or, when that request had not committed yet, by PostgreSQL, which held this insert
    until it did. Either way the other row is visible to the caller's next statement."""
    if instance.pk is not None:
        writes.save(instance, actor)
        return True
    try:
        with transaction.atomic():
            writes.save(instance, actor)
    except (IntegrityError, ValidationError):
        if not key.exists():
            raise
        return False
    return True


def _serialize_writers_of(model: type[models.Model], pk: int) -> None:
    """Lock the row that owns what is about to be looked up and perhaps inserted (one plan per
    project and year, one target per unit, year and metric): a concurrent writer waits here and
    then finds the first one's row, instead of both inserting and the database refusing one."""
    model.objects.select_for_update(no_key=True).filter(pk=pk).values_list("pk").get()


# ---------------------------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------------------------

PROJECT_EDITABLE_FIELDS = frozenset(
    {
        "code",
        "name",
        "kind",
        "level",
        "category",
        "tier",
        "build_type",
        "source",
        "is_private",
        "parent",
        "description",
        "township",
        "location",
        "latitude",
        "longitude",
        "lead_unit",
        "lead_leader",
        "owner",
        "contractor",
        "supervising_engineer",
        "total_investment",
        "prior_investment",
        "remarks",
    }
)
PROJECT_M2M_FIELDS = frozenset({"cooperating_units", "co_leaders", "tags"})


def initial_stage_for(source: str) -> Stage:
    """Investment-attraction projects enter the funnel at 线索, all others at 储备."""
    return Stage.LEAD if source == Source.ATTRACTION else Stage.RESERVE


def _check_fields(fields: Iterable[str]) -> None:
    unknown = set(fields) - PROJECT_EDITABLE_FIELDS - PROJECT_M2M_FIELDS
    if unknown:
        raise TypeError(f"not editable through project services: {sorted(unknown)}")


def _set_m2m(project: Project, values: dict[str, Any]) -> None:
    for name in PROJECT_M2M_FIELDS & values.keys():
        getattr(project, name).set(values[name])


def _reference_messages() -> dict[str, str]:
    return {
        "parent": _("Choose as parent a top-level project you may edit."),
        "township": _("Choose a township of the responsible unit's county."),
        "cooperating_units": _("Choose units of the responsible unit's county (no villages)."),
        "lead_leader": _("Choose a leader of the responsible unit's county or above it."),
        "co_leaders": _("Choose leaders of the responsible unit's county or above it."),
    }


PROJECT_REFERENCE_FIELDS = ("parent", "township", "lead_leader")
PROJECT_REFERENCE_M2M_FIELDS = ("cooperating_units", "co_leaders")


def _new_references(project: Project | None, values: dict[str, Any]) -> dict[str, set[int]]:
    """The ids each reference field of ``values`` adds to ``project`` (all of them for a new
    project): references it already has stay, even if they could not be chosen today."""
    added: dict[str, set[int]] = {}
    existing = project is not None and project.pk is not None
    for name in PROJECT_REFERENCE_FIELDS:
        obj = values.get(name)
        if obj is not None and not (existing and getattr(project, f"{name}_id") == obj.pk):
            added[name] = {obj.pk}
    for name in PROJECT_REFERENCE_M2M_FIELDS:
        if name in values:
            ids = {obj.pk for obj in values[name]}
            if existing and ids:
                ids -= set(getattr(project, name).values_list("pk", flat=True))
            if ids:
                added[name] = ids
    return added


def _check_references(
    actor, *, project: Project | None, lead_unit: Unit, values: dict[str, Any]
) -> None:
    """Every object a project write names must be one the actor may name there
    (``selectors.project_reference_choices``): the services are the last line, whatever form or
    serializer called them."""
    added = _new_references(project, values)
    if not added:
        return
    choices = selectors.project_reference_choices(actor, project, lead_unit=lead_unit)
    messages = _reference_messages()
    errors = {
        name: messages[name]
        for name, ids in added.items()
        if choices[name].filter(pk__in=ids).count() != len(ids)
    }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def project_create(
    *,
    actor,
    lead_unit: Unit,
    name: str,
    category: str,
    stage: str | None = None,
    stage_date: dt.date | None = None,
    **fields: Any,
) -> Project:
    _check_fields(fields)
    if not selectors.has_role_over(actor, lead_unit, selectors.EDIT_ROLES):
        raise PermissionDenied(_("You may not create projects for %(unit)s.") % {"unit": lead_unit})
    _check_references(actor, project=None, lead_unit=lead_unit, values=fields)
    m2m = {key: fields.pop(key) for key in list(fields) if key in PROJECT_M2M_FIELDS}
    project = Project(lead_unit=lead_unit, name=name, category=category, **fields)
    project.stage = stage or initial_stage_for(project.source)
    project.stage_changed_on = stage_date or timezone.localdate()
    project.created_by = actor
    writes.save(project, actor)
    _set_m2m(project, m2m)
    StageChange.objects.create(
        project=project,
        from_stage="",
        to_stage=project.stage,
        changed_on=project.stage_changed_on,
        actor=actor,
        note=_("Project registered"),
    )
    return project


class ItemInvalid(ValidationError):
    """One item of a bulk write is invalid; ``index`` says which (nothing was written)."""

    def __init__(self, index: int, error: ValidationError) -> None:
        self.index = index
        super().__init__(error.messages)


# Foreign keys a bulk item carries as objects read in this transaction: not fetched again.
_BULK_FK_FIELDS = ["lead_unit", "township", "lead_leader", "parent", "created_by"]


@transaction.atomic
def projects_bulk_create(*, actor, items: list[dict[str, Any]], note: str = "") -> list[Project]:
    """Register many projects at once (the Excel ledger import) in a handful of queries.

    Each item holds ``project_create``'s arguments (``lead_unit``, ``name``, ``category``,
    optional ``stage`` and editable or many-to-many fields) and may hold ``year_plan``: a dict
    with ``year``, ``planned_investment``, ``planned_start``, ``planned_completion``.
    The same rules as ``project_create`` and ``year_plan_set``: the actor's rights over every lead
    unit, field validation and ``clean()`` for every object, project codes unique, the stage log
    and the audit history (with the actor, many-to-many fields included). The check constraints
    are enforced by the database: a violation raises ``IntegrityError`` and nothing is written.
    An invalid item raises ``ItemInvalid`` with its index, and nothing is written either.
    """
    today = timezone.localdate()
    now = timezone.now()
    for unit in {item["lead_unit"] for item in items}:
        if not selectors.has_role_over(actor, unit, selectors.EDIT_ROLES):
            raise PermissionDenied(_("You may not create projects for %(unit)s.") % {"unit": unit})
    _check_bulk_references(actor, items)
    projects: list[Project] = []
    plans: list[ProjectYearPlan | None] = []
    m2m_values: list[dict[str, list]] = []
    codes: dict[str, int] = {}
    for index, raw in enumerate(items):
        item = dict(raw)
        plan_values = item.pop("year_plan", None)
        stage = item.pop("stage", None)
        _check_fields(set(item) - {"lead_unit", "name", "category"})
        m2m_values.append({key: item.pop(key) for key in list(item) if key in PROJECT_M2M_FIELDS})
        project = Project(**item)
        project.stage = stage or initial_stage_for(project.source)
        project.stage_changed_on = today
        project.created_by = actor
        plan = None
        if plan_values:
            plan = ProjectYearPlan(project=project, **plan_values)
        try:
            project.clean_fields(exclude=_BULK_FK_FIELDS)
            project.clean()
            if plan is not None:
                plan.clean_fields(exclude=["project"])
                plan.clean()
        except ValidationError as exc:
            raise ItemInvalid(index, exc) from None
        if project.code:
            if project.code in codes:
                raise ItemInvalid(
                    index,
                    ValidationError(
                        _("The project code %(code)s is used twice.") % {"code": project.code}
                    ),
                )
            codes[project.code] = index
        projects.append(project)
        plans.append(plan)
    taken = Project.objects.filter(code__in=codes).values_list("code", flat=True).first()
    if taken is not None:
        raise ItemInvalid(
            codes[taken],
            ValidationError(_("The project code %(code)s is already used.") % {"code": taken}),
        )
    Project.objects.bulk_create(projects, batch_size=500)
    StageChange.objects.bulk_create(
        [
            StageChange(
                project=p,
                from_stage="",
                to_stage=p.stage,
                changed_on=p.stage_changed_on,
                actor=actor,
                note=note or _("Project registered"),
            )
            for p in projects
        ],
        batch_size=500,
    )
    # Many-to-many rows first, so that the first version in the history holds them.
    through_rows: dict[str, list] = {}
    for name in PROJECT_M2M_FIELDS:
        field = Project._meta.get_field(name)
        through = field.remote_field.through
        target = field.m2m_reverse_field_name()
        rows = [
            through(**{"project_id": p.pk, f"{target}_id": obj.pk})
            for p, values in zip(projects, m2m_values, strict=True)
            for obj in values.get(name, [])
        ]
        through_rows[name] = through.objects.bulk_create(rows, batch_size=1000)
    history = Project.history.bulk_history_create(
        projects, default_user=actor, default_date=now, batch_size=500
    )
    history_by_project = {h.id: h for h in history}
    history_model = Project.history.model
    for name, rows in through_rows.items():
        m2m_model = next(
            rel.related_model
            for rel in history_model._meta.related_objects
            if rel.related_model.__name__ == f"{history_model.__name__}_{name}"
        )
        target = Project._meta.get_field(name).m2m_reverse_field_name()
        m2m_model.objects.bulk_create(
            [
                m2m_model(
                    history=history_by_project[row.project_id],
                    id=row.pk,
                    project_id=row.project_id,
                    **{f"{target}_id": getattr(row, f"{target}_id")},
                )
                for row in rows
            ],
            batch_size=1000,
        )
    created_plans = [plan for plan in plans if plan is not None]
    for plan in created_plans:
        plan.project_id = plan.project.pk
    ProjectYearPlan.objects.bulk_create(created_plans, batch_size=500)
    ProjectYearPlan.history.bulk_history_create(
        created_plans, default_user=actor, default_date=now, batch_size=500
    )
    projects_bulk_saved.send(sender=Project, ids=[p.pk for p in projects])
    return projects


def _check_bulk_references(actor, items: list[dict[str, Any]]) -> None:
    """``_check_references`` for many new projects in a few queries: one set of choices per
    responsible unit, one query per field."""
    by_unit: dict[Unit, list[int]] = {}
    for index, item in enumerate(items):
        by_unit.setdefault(item["lead_unit"], []).append(index)
    messages = _reference_messages()
    for lead_unit, indexes in by_unit.items():
        added = {index: _new_references(None, items[index]) for index in indexes}
        wanted: dict[str, set[int]] = {}
        for refs in added.values():
            for name, ids in refs.items():
                wanted.setdefault(name, set()).update(ids)
        if not wanted:
            continue
        choices = selectors.project_reference_choices(actor, lead_unit=lead_unit)
        allowed = {
            name: set(choices[name].filter(pk__in=ids).values_list("pk", flat=True))
            for name, ids in wanted.items()
        }
        for index in indexes:
            errors = {
                name: messages[name]
                for name, ids in added[index].items()
                if not ids <= allowed[name]
            }
            if errors:
                raise ItemInvalid(index, ValidationError(errors))


@transaction.atomic
def project_update(
    *, project: Project, actor, expected_version: int | None = None, **changes: Any
) -> Project:
    """Change a project's descriptive fields. Stage and red card have their own services."""
    _check_fields(changes)
    project = writes.lock(Project, project.pk)
    if not selectors.can_edit_project(actor, project):
        raise PermissionDenied(
            _("You may not edit the project “%(project)s”.") % {"project": project}
        )
    writes.check_version(project, expected_version)
    new_lead = changes.get("lead_unit")
    if (
        new_lead is not None
        and new_lead != project.lead_unit
        and not selectors.has_role_over(actor, new_lead, selectors.EDIT_ROLES)
    ):
        raise PermissionDenied(
            _("You may not hand the project over to %(unit)s.") % {"unit": new_lead}
        )
    _check_references(
        actor, project=project, lead_unit=new_lead or project.lead_unit, values=changes
    )
    m2m = {key: changes.pop(key) for key in list(changes) if key in PROJECT_M2M_FIELDS}
    scope_before = _scope_units(project)
    for key, value in changes.items():
        setattr(project, key, value)
    writes.save(project, actor)
    _set_m2m(project, m2m)
    _record_departures(project, scope_before)
    return project


def _scope_units(project: Project) -> set[str]:
    """The paths of the units through which a project is seen (``project_visibility_filter``)."""
    paths = {project.lead_unit.path}
    if project.township_id:
        paths.add(project.township.path)
    paths.update(project.cooperating_units.values_list("path", flat=True))
    return paths


def _record_departures(project: Project, scope_before: set[str]) -> None:
    """A tombstone for every unit the project no longer belongs to, so that the mirrors of
    that unit's users drop it (those who still see it get it again with ``updated_since``)."""
    left = scope_before - _scope_units(project)
    Tombstone.objects.bulk_create(
        Tombstone(
            model="project", object_id=project.pk, reason=TombstoneReason.MOVED, scope_path=path
        )
        for path in sorted(left)
    )


@transaction.atomic
def project_change_stage(
    *, project: Project, to_stage: str, changed_on: dt.date, actor, note: str = ""
) -> StageChange:
    project = writes.lock(Project, project.pk)
    if not selectors.can_edit_project(actor, project):
        raise PermissionDenied(
            _("You may not edit the project “%(project)s”.") % {"project": project}
        )
    if to_stage not in Stage.values:
        raise ValidationError({"to_stage": _("Unknown stage.")})
    if to_stage == project.stage:
        raise ValidationError({"to_stage": _("The project is already at this stage.")})
    if changed_on > timezone.localdate():
        raise ValidationError(
            {"changed_on": _("The date of a stage change cannot be in the future.")}
        )
    last = project.stage_changes.order_by("-changed_on", "-id").first()
    if last is not None and changed_on < last.changed_on:
        raise ValidationError(
            {
                "changed_on": _("The date is before the last stage change (%(date)s).")
                % {"date": last.changed_on.isoformat()}
            }
        )
    change = StageChange.objects.create(
        project=project,
        from_stage=project.stage,
        to_stage=to_stage,
        changed_on=changed_on,
        actor=actor,
        note=note,
    )
    project.stage = to_stage
    project.stage_changed_on = changed_on
    writes.save(project, actor)
    return change


@transaction.atomic
def project_set_red_card(*, project: Project, actor, red_card: bool, reason: str = "") -> Project:
    """亮红牌 / withdraw it: a supervisor's decision."""
    project = writes.lock(Project, project.pk)
    if not selectors.can_supervise(actor, project.lead_unit):
        raise PermissionDenied(_("Only a supervisor may give or withdraw a red card."))
    if red_card and not reason.strip():
        raise ValidationError({"red_card_reason": _("A red card needs a reason.")})
    project.red_card = red_card
    project.red_card_reason = reason.strip() if red_card else ""
    writes.save(project, actor)
    return project


@transaction.atomic
def year_plan_set(
    *,
    project: Project,
    year: int,
    actor,
    planned_investment: Decimal,
    planned_start: dt.date | None = None,
    planned_completion: dt.date | None = None,
    physical_target: str = "",
) -> ProjectYearPlan:
    if not selectors.can_edit_project(actor, project):
        raise PermissionDenied(
            _("You may not edit the project “%(project)s”.") % {"project": project}
        )
    _serialize_writers_of(Project, project.pk)
    plan = ProjectYearPlan.objects.filter(project=project, year=year).first() or ProjectYearPlan(
        project=project, year=year
    )
    plan.planned_investment = planned_investment
    plan.planned_start = planned_start
    plan.planned_completion = planned_completion
    plan.physical_target = physical_target
    writes.save(plan, actor)
    return plan


# ---------------------------------------------------------------------------------------------
# Milestones
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def milestone_create(
    *,
    project: Project,
    actor,
    name: str,
    due_date: dt.date,
    kind: str = "custom",
    sort_order: int = 0,
) -> Milestone:
    if not selectors.can_edit_project(actor, project):
        raise PermissionDenied(
            _("You may not edit the project “%(project)s”.") % {"project": project}
        )
    milestone = Milestone(
        project=project, name=name, kind=kind, due_date=due_date, sort_order=sort_order
    )
    milestone.original_due_date = due_date
    writes.save(milestone, actor)
    return milestone


@transaction.atomic
def milestones_plan_backward(*, project: Project, target_date: dt.date, actor) -> list[Milestone]:
    """倒排工期: create the category's standard milestones, due backward from ``target_date``.

    Steps whose name the project already has are skipped, so planning twice adds nothing.
    """
    if not selectors.can_edit_project(actor, project):
        raise PermissionDenied(
            _("You may not edit the project “%(project)s”.") % {"project": project}
        )
    existing = set(project.milestones.values_list("name", flat=True))
    created = []
    templates = MilestoneTemplate.objects.filter(category=project.category)
    for order, step in enumerate(templates):
        if step.name in existing:
            continue
        created.append(
            milestone_create(
                project=project,
                actor=actor,
                name=step.name,
                kind=step.kind,
                due_date=target_date - dt.timedelta(days=step.days_before_target),
                sort_order=order,
            )
        )
    return created


@transaction.atomic
def milestone_complete(
    *, milestone: Milestone, done_date: dt.date, actor, expected_version: int | None = None
) -> Milestone:
    milestone = writes.lock(Milestone, milestone.pk)
    if not selectors.can_edit_project(actor, milestone.project):
        raise PermissionDenied(
            _("You may not edit the project “%(project)s”.") % {"project": milestone.project}
        )
    writes.check_version(milestone, expected_version)
    if milestone.done_date is not None:
        raise ValidationError({"done_date": _("This milestone is already done.")})
    if done_date > timezone.localdate():
        raise ValidationError({"done_date": _("The date done cannot be in the future.")})
    milestone.done_date = done_date
    writes.save(milestone, actor)
    return milestone


@transaction.atomic
def milestone_revise(
    *,
    milestone: Milestone,
    new_due_date: dt.date,
    reason: str,
    actor,
    expected_version: int | None = None,
) -> MilestoneRevision:
    """Move a milestone's due date; the reason and the old date are kept for good."""
    milestone = writes.lock(Milestone, milestone.pk)
    if not selectors.can_edit_project(actor, milestone.project):
        raise PermissionDenied(
            _("You may not edit the project “%(project)s”.") % {"project": milestone.project}
        )
    writes.check_version(milestone, expected_version)
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for changing the due date.")})
    if milestone.done_date is not None:
        raise ValidationError({"new_due_date": _("A milestone that is done cannot be revised.")})
    if new_due_date == milestone.due_date:
        raise ValidationError({"new_due_date": _("The new due date is the same as the old one.")})
    revision = MilestoneRevision.objects.create(
        milestone=milestone,
        previous_due_date=milestone.due_date,
        new_due_date=new_due_date,
        reason=reason.strip(),
        actor=actor,
    )
    milestone.due_date = new_due_date
    writes.save(milestone, actor)
    return revision


# ---------------------------------------------------------------------------------------------
# Progress reports
# ---------------------------------------------------------------------------------------------

REPORT_TEXT_FIELDS = ("physical_progress", "problems", "next_steps")


def _check_report_write(*, project: Project, period: periods.Period, actor) -> None:
    """Who may write ``project``'s report for ``period``, and for which periods."""
    if not selectors.can_edit_project(actor, project):
        raise PermissionDenied(
            _("You may not report on the project “%(project)s”.") % {"project": project}
        )
    if period.kind != selectors.report_period_kind():
        raise ValidationError(
            {
                "period": _("Reports are written per %(kind)s.")
                % {"kind": periods.PERIOD_KIND_LABELS[selectors.report_period_kind()]}
            }
        )
    if period.start > timezone.localdate():
        raise ValidationError({"period": _("A report cannot be written for a future period.")})
    if project.subprojects.exists():
        raise ValidationError(
            _("“%(project)s” is a bundle: report on its sub-projects.") % {"project": project}
        )


def _new_report(project: Project, period: periods.Period, actor) -> ProgressReport:
    return ProgressReport(
        project=project,
        period_kind=period.kind,
        period_key=period.key,
        period_start=period.start,
        period_end=period.end,
        deadline=selectors.report_deadline(period),
        created_by=actor,
    )


@transaction.atomic
def report_save(
    *,
    project: Project,
    period: periods.Period,
    actor,
    investment: Decimal,
    physical_progress: str = "",
    problems: str = "",
    next_steps: str = "",
    expected_version: int | None = None,
) -> ProgressReport:
    """Create or update the draft report of ``project`` for ``period``."""
    _check_report_write(project=project, period=period, actor=actor)
    report = (
        ProgressReport.objects.select_for_update()
        .filter(project=project, period_key=period.key)
        .first()
    )
    if report is None:
        report = _new_report(project, period, actor)
    else:
        writes.check_version(report, expected_version)
        if not report.is_editable:
            raise ValidationError(
                _("A report that is %(status)s cannot be changed.")
                % {"status": report.get_status_display()}
            )
    report.investment = investment
    report.physical_progress = physical_progress
    report.problems = problems
    report.next_steps = next_steps
    try:
        with transaction.atomic():
            writes.save(report, actor)
    except IntegrityError:
        # Another request created this period's report between our read and our insert.
        raise VersionConflict(
            ProgressReport.objects.get(project=project, period_key=period.key), 0
        ) from None
    return report


class ReportExists(Exception):
    """The period's report exists already with other content; nothing was written."""

    def __init__(self, report: ProgressReport) -> None:
        self.report = report
        super().__init__(
            _(
                "The report of this period already exists with other content (version "
                "%(version)d). To save over it, send its version in If-Match."
            )
            % {"version": report.version}
        )


@transaction.atomic
def report_create(
    *,
    project: Project,
    period: periods.Period,
    actor,
    investment: Decimal,
    physical_progress: str = "",
    problems: str = "",
    next_steps: str = "",
) -> tuple[ProgressReport, bool]:
    """Write the period's report once, whatever number of times it is asked for.

    Returns ``(report, True)`` for the new draft. When the report exists already with the same
    content, returns ``(it, False)`` and writes nothing, so that a repeated request and each of
    several concurrent ones get the same answer; with other content, raises ``ReportExists``
    (changing a report is ``report_save`` with its version).
    """
    _check_report_write(project=project, period=period, actor=actor)
    content = {
        "investment": investment,
        "physical_progress": physical_progress,
        "problems": problems,
        "next_steps": next_steps,
    }
    period_report = ProgressReport.objects.filter(project=project, period_key=period.key)
    report = period_report.first()
    if report is None:
        report = _new_report(project, period, actor)
        for field, value in content.items():
            setattr(report, field, value)
        if _saved_unless_taken(report, actor, period_report):
            return report, True
        report = period_report.get()
    if all(getattr(report, field) == value for field, value in content.items()):
        return report, False
    raise ReportExists(report)


@transaction.atomic
def report_submit(
    *, report: ProgressReport, actor, expected_version: int | None = None
) -> ProgressReport:
    report = writes.lock(ProgressReport, report.pk)
    if not selectors.can_edit_project(actor, report.project):
        raise PermissionDenied(
            _("You may not report on the project “%(project)s”.") % {"project": report.project}
        )
    writes.check_version(report, expected_version)
    if not report.is_editable:
        raise ValidationError(
            _("A report that is %(status)s cannot be submitted.")
            % {"status": report.get_status_display()}
        )
    report.status = ReportStatus.SUBMITTED
    report.submitted_at = timezone.now()
    if report.first_submitted_at is None:
        report.first_submitted_at = report.submitted_at
    report.submitted_by = actor
    writes.save(report, actor)
    return report


def own_submission_message() -> str:
    return _(
        "You submitted this report yourself: another unit head or a supervisor must approve "
        "or return it."
    )


@transaction.atomic
def report_approve(
    *, report: ProgressReport, actor, expected_version: int | None = None
) -> ProgressReport:
    report = writes.lock(ProgressReport, report.pk)
    if not selectors.can_review_reports(actor, report.project):
        raise PermissionDenied(_("Only the unit head or a supervisor may approve this report."))
    if selectors.is_own_submission(actor, report):
        raise PermissionDenied(own_submission_message())
    writes.check_version(report, expected_version)
    if report.status != ReportStatus.SUBMITTED:
        raise ValidationError(_("Only a submitted report can be approved."))
    report.status = ReportStatus.APPROVED
    report.reviewed_at = timezone.now()
    report.reviewed_by = actor
    report.return_reason = ""
    writes.save(report, actor)
    return report


@transaction.atomic
def report_return(
    *, report: ProgressReport, actor, reason: str, expected_version: int | None = None
) -> ProgressReport:
    report = writes.lock(ProgressReport, report.pk)
    if not selectors.can_review_reports(actor, report.project):
        raise PermissionDenied(_("Only the unit head or a supervisor may return this report."))
    if selectors.is_own_submission(actor, report):
        raise PermissionDenied(own_submission_message())
    writes.check_version(report, expected_version)
    if report.status != ReportStatus.SUBMITTED:
        raise ValidationError(_("Only a submitted report can be returned."))
    if not reason.strip():
        raise ValidationError({"return_reason": _("Give the reason for returning the report.")})
    report.status = ReportStatus.RETURNED
    report.return_reason = reason.strip()
    report.reviewed_at = timezone.now()
    report.reviewed_by = actor
    writes.save(report, actor)
    return report


# ---------------------------------------------------------------------------------------------
# Funding and targets
# ---------------------------------------------------------------------------------------------


@transaction.atomic
def funding_set(
    *,
    project: Project,
    source: str,
    planned: Decimal,
    arrived: Decimal,
    actor,
    expected_version: int | None = None,
) -> ProjectFunding:
    """Set a project's planned and arrived money from one source (one row per source)."""
    project = writes.lock(Project, project.pk)
    if not selectors.can_edit_project(actor, project):
        raise PermissionDenied(
            _("You may not edit the project “%(project)s”.") % {"project": project}
        )
    funding = ProjectFunding.objects.select_for_update().filter(
        project=project, source=source
    ).first() or ProjectFunding(project=project, source=source)
    if funding.pk is not None:
        writes.check_version(funding, expected_version)
    funding.planned = planned
    funding.arrived = arrived
    key = ProjectFunding.objects.filter(project=project, source=source)
    if not _saved_unless_taken(funding, actor, key):
        # Another request created the row meanwhile: save over it, as had it come first.
        return funding_set(
            project=project,
            source=source,
            planned=planned,
            arrived=arrived,
            actor=actor,
            expected_version=expected_version,
        )
    return funding


FUNDING_APPLICATION_FIELDS = frozenset(
    {
        "project",
        "year",
        "title",
        "channel",
        "policy_basis",
        "requested",
        "approved",
        "arrived",
        "status",
        "applied_on",
        "approved_on",
        "note",
    }
)


@transaction.atomic
def funding_application_save(
    *,
    actor,
    unit: Unit,
    application: FundingApplication | None = None,
    expected_version: int | None = None,
    **fields: Any,
) -> FundingApplication:
    unknown = set(fields) - FUNDING_APPLICATION_FIELDS
    if unknown:
        raise TypeError(f"not editable through funding_application_save: {sorted(unknown)}")
    if not selectors.has_role_over(actor, unit, selectors.EDIT_ROLES):
        raise PermissionDenied(
            _("You may not record funding applications for %(unit)s.") % {"unit": unit}
        )
    if application is None:
        application = FundingApplication(unit=unit, created_by=actor)
    else:
        application = writes.lock(FundingApplication, application.pk)
        if not selectors.has_role_over(actor, application.unit, selectors.EDIT_ROLES):
            raise PermissionDenied(
                _("You may not record funding applications for %(unit)s.")
                % {"unit": application.unit}
            )
        writes.check_version(application, expected_version)
    project = fields.get("project")
    if (
        project is not None
        and project.pk != application.project_id
        and not selectors.can_edit_project(actor, project)
    ):
        raise ValidationError({"project": _("Choose a project you may edit.")})
    application.unit = unit
    for key, value in fields.items():
        setattr(application, key, value)
    writes.save(application, actor)
    return application


@transaction.atomic
def target_set(
    *,
    actor,
    unit: Unit,
    year: int,
    metric: str,
    target_value: Decimal,
    note: str = "",
    expected_version: int | None = None,
) -> Target:
    """Set a unit's yearly target: a supervisor's or an administrator's task."""
    if not selectors.can_supervise(actor, unit):
        raise PermissionDenied(
            _("Only a supervisor may set the targets of %(unit)s.") % {"unit": unit}
        )
    _serialize_writers_of(Unit, unit.pk)
    target = Target.objects.select_for_update().filter(
        unit=unit, year=year, metric=metric
    ).first() or Target(unit=unit, year=year, metric=metric)
    if target.pk is not None:
        writes.check_version(target, expected_version)
    target.target_value = target_value
    target.note = note
    key = Target.objects.filter(unit=unit, year=year, metric=metric)
    if not _saved_unless_taken(target, actor, key):
        # Another request created the row meanwhile: save over it, as had it come first.
        return target_set(
            actor=actor,
            unit=unit,
            year=year,
            metric=metric,
            target_value=target_value,
            note=note,
            expected_version=expected_version,
        )
    return target


@transaction.atomic
def target_record_actual(
    *, target: Target, actual_value: Decimal, actor, expected_version: int | None = None
) -> Target:
    """The unit reports what it has achieved against its target so far."""
    target = writes.lock(Target, target.pk)
    if not selectors.has_role_over(actor, target.unit, selectors.EDIT_ROLES):
        raise PermissionDenied(_("You may not report for %(unit)s.") % {"unit": target.unit})
    writes.check_version(target, expected_version)
    target.actual_value = actual_value
    writes.save(target, actor)
    return target


def tags_by_name(names: Iterable[str]) -> list[Tag]:
    return [Tag.objects.get_or_create(name=name.strip())[0] for name in names if name.strip()]
