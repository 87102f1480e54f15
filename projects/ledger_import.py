"""Importing the county's Excel ledgers: a preview of every row, then one all-or-nothing commit.

``start`` records an upload as an ``ImportBatch``; ``prepare`` (a Celery task, eager in the demo)
checks the file, reads it and compares every row with the database, storing the preview on the
batch: each row is new, changed, unchanged or an error with its reasons. Nothing is written
until the user confirms; ``confirm`` refuses while a row the user kept has an error, and
``commit`` (again a task) writes every kept row through ``projects.services`` inside one
transaction, so rights, validation, history and constraints hold and a failure on any row
leaves the database as it was.

Matching: a project ledger row is the project with its 项目代码, or, without a code, the project of
the same name and responsible unit. A progress row is the project with its code, or of its
name among the projects of the import's unit. Who may import: a user with a writing role
(reporter, unit head, supervisor) over the import's unit; every row stays inside that unit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from projects import ledger_columns as lc
from projects import ledger_files as lf
from projects import ledger_parse as lp
from projects import selectors, services, tallies
from projects.models import (
    ZERO,
    ImportBatch,
    ImportKind,
    ImportStatus,
    Leader,
    ProgressReport,
    Project,
    ProjectYearPlan,
    ReportStatus,
    RowStatus,
    Unit,
    UnitKind,
)
from tracker import integrity, outbox, periods

logger = logging.getLogger(__name__)
PROGRESS_EVERY = 25  # rows between two progress reports


# ---------------------------------------------------------------------------------------------
# Who may import, and starting a batch
# ---------------------------------------------------------------------------------------------


def importable_units(user):
    """The units the user may import for: those under a writing role of theirs."""
    units = Unit.objects.active()
    if selectors.is_global(user):
        return units
    return units.filter(selectors.under(selectors.scope_paths(user, selectors.EDIT_ROLES)))


def can_import(user, unit: Unit) -> bool:
    return selectors.has_role_over(user, unit, selectors.EDIT_ROLES)


def visible_batches(user):
    batches = ImportBatch.objects.select_related("unit", "created_by")
    return batches if selectors.is_global(user) else batches.filter(created_by=user)


def start(
    *,
    actor,
    unit: Unit,
    kind: str,
    filename: str,
    data: bytes,
    year: int | None = None,
    period_key: str = "",
) -> ImportBatch:
    """Record an upload. The file's size and type are checked at once (a refused file still
    gets a batch, marked failed with the reason, so the page can say why)."""
    if not can_import(actor, unit):
        raise PermissionDenied(_("You may not import ledgers for %(unit)s.") % {"unit": unit})
    batch = ImportBatch(
        kind=kind,
        unit=unit,
        created_by=actor,
        filename=filename[:255],
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        year=year,
        period_key=period_key,
    )
    try:
        lf.check_file(data, filename)
    except lf.LedgerFileError as exc:
        batch.status = ImportStatus.FAILED
        batch.message = str(exc)
    else:
        batch.content = data
    batch.save()
    return batch


def _progress_key(batch_id: int) -> str:
    return f"ledgers:import:{batch_id}:progress"


def report_progress(batch_id: int, done: int, total: int) -> None:
    cache.set(_progress_key(batch_id), {"done": done, "total": total}, timeout=3600)


def progress(batch: ImportBatch) -> dict[str, int]:
    """How far the running step is: rows done of rows in all (for the progress bar)."""
    found = cache.get(_progress_key(batch.pk)) or {}
    done, total = int(found.get("done", 0)), int(found.get("total", 0))
    if batch.status in (ImportStatus.PREVIEW, ImportStatus.DONE):
        done = total = max(total, len(batch.rows))
    percent = int(done * 100 / total) if total else 0
    return {"done": done, "total": total, "percent": percent}


# ---------------------------------------------------------------------------------------------
# Preview
# ---------------------------------------------------------------------------------------------


def prepare(batch_id: int) -> ImportBatch:
    """Read the batch's file and store the preview of every row (the ``prepare`` task)."""
    batch = ImportBatch.objects.select_related("unit", "created_by").get(pk=batch_id)
    if batch.status != ImportStatus.PARSING:
        return batch
    try:
        with translation.override(lc.LEDGER_LANGUAGE):
            reader = PROJECT_READER if batch.kind == ImportKind.PROJECTS else PROGRESS_READER
            data = bytes(batch.content or b"")
            lf.check_file(data, batch.filename)
            sheet = lf.read_sheet(
                data,
                aliases=reader.aliases,
                required=reader.required,
                value_columns=reader.value_columns,
            )
            rows, note = reader.preview(batch, sheet, lambda d, t: report_progress(batch.pk, d, t))
    except lf.LedgerFileError as exc:
        batch.status = ImportStatus.FAILED
        batch.message = str(exc)
        batch.save(update_fields=["status", "message", "updated_at"])
        return batch
    except Exception:
        logger.exception("ledger import %s could not be read", batch.pk)
        batch.status = ImportStatus.FAILED
        batch.message = _("The file could not be read. Check that it is a ledger in the template.")
        batch.save(update_fields=["status", "message", "updated_at"])
        return batch
    batch.rows = rows
    batch.counts = count_rows(rows)
    batch.sheet = sheet.title[:100]
    batch.message = note
    batch.status = ImportStatus.PREVIEW
    batch.save(update_fields=["rows", "counts", "sheet", "message", "status", "year", "updated_at"])
    return batch


def count_rows(rows: list[dict]) -> dict[str, int]:
    counts = dict.fromkeys(RowStatus.values, 0)
    for row in rows:
        counts[row["status"]] += 1
    counts["total"] = len(rows)
    return counts


def recheck(batch: ImportBatch) -> ImportBatch:
    """Read the same file again (after a failed import or changes made meanwhile)."""
    if batch.content is None or batch.status in (ImportStatus.COMMITTING, ImportStatus.DONE):
        raise ValidationError(_("This import cannot be checked again."))
    batch.status = ImportStatus.PARSING
    batch.message = ""
    batch.rows = []
    batch.counts = {}
    batch.skipped_rows = []
    batch.save()
    return batch


def cancel(batch: ImportBatch) -> ImportBatch:
    if batch.status in (ImportStatus.COMMITTING, ImportStatus.DONE):
        raise ValidationError(_("This import can no longer be cancelled."))
    batch.status = ImportStatus.CANCELLED
    batch.content = None
    batch.save(update_fields=["status", "content", "updated_at"])
    return batch


def imported_drafts(batch: ImportBatch):
    """The reports a finished progress import wrote that are still drafts (or returned)."""
    if batch.kind != ImportKind.PROGRESS or batch.status != ImportStatus.DONE:
        return ProgressReport.objects.none()
    skipped = set(batch.skipped_rows)
    projects = {
        row["project_id"]
        for row in batch.rows
        if row.get("project_id") and row["status"] != RowStatus.ERROR and row["row"] not in skipped
    }
    return ProgressReport.objects.filter(
        project_id__in=projects,
        period_key=batch.period_key,
        status__in=[ReportStatus.DRAFT, ReportStatus.RETURNED],
    ).select_related("project")


def submit_drafts(batch: ImportBatch, *, actor) -> int:
    """Submit, all or none, the drafts a progress import wrote (each through
    ``services.report_submit``: the same rights and checks as the report page); returns how
    many were submitted. Their timeliness is judged by this moment."""
    if batch.kind != ImportKind.PROGRESS or batch.status != ImportStatus.DONE:
        raise ValidationError(_("Only a finished progress import has reports to submit."))
    with tallies.deferred():
        reports = list(imported_drafts(batch).order_by("project_id"))
        for report in reports:
            services.report_submit(report=report, actor=actor)
    return len(reports)


def prune(now: dt.datetime | None = None) -> dict[str, int]:
    """Imports untouched for ``TRACKER_LEDGER_KEEP_DAYS``: those never confirmed are cancelled,
    and every one loses its uploaded file and row preview. The record (who, which file, when,
    the counts and the result) stays. Returns how many were cancelled and how many cleared."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.TRACKER_LEDGER_KEEP_DAYS)
    old = ImportBatch.objects.filter(updated_at__lt=cutoff)
    cancelled = old.filter(status__in=[ImportStatus.PARSING, ImportStatus.PREVIEW]).update(
        status=ImportStatus.CANCELLED,
        content=None,
        rows=[],
        message=_("Cancelled: not confirmed within %(days)d days.")
        % {"days": settings.TRACKER_LEDGER_KEEP_DAYS},
    )
    cleared = (
        old.filter(status__in=[ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED])
        .filter(Q(content__isnull=False) | ~Q(rows=[]))
        .update(content=None, rows=[])
    )
    return {"cancelled": cancelled, "cleared": cleared}


def _row(number: int, **values: Any) -> dict[str, Any]:
    return {
        "row": number,
        "status": RowStatus.UNCHANGED,
        "name": "",
        "unit": "",
        "project_id": None,
        "version": None,
        "values": {},
        "changes": [],
        "errors": [],
        "note": "",
        **values,
    }


def _money_text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _cell(row: tuple, layout: lp.Layout, name: str) -> object:
    col = layout.columns.get(name)
    if col is None or col >= len(row):
        return None
    return row[col]


class Names:
    """Units, townships and leaders by the names people write, each read once per import."""

    def __init__(self) -> None:
        self.units: dict[str, list[Unit]] = defaultdict(list)
        for unit in Unit.objects.active():
            keys = {lp.compact(unit.name), lp.compact(unit.short_name)} - {""}
            for key in keys:
                self.units[key].append(unit)
        self.leaders: dict[str, list[Leader]] = defaultdict(list)
        for leader in Leader.objects.filter(is_active=True):
            self.leaders[lp.compact(leader.name)].append(leader)

    def unit(self, name: str, *, within: Unit | None = None, kind: str | None = None) -> Unit:
        found = [u for u in self.units.get(lp.compact(name), []) if kind is None or u.kind == kind]
        if kind is None:
            found = [u for u in found if u.kind != UnitKind.VILLAGE] or found
        if len(found) > 1 and within is not None:
            found = [u for u in found if u.path.startswith(within.path)] or found
        if not found:
            if kind == UnitKind.TOWNSHIP:
                raise lp.CellError(_("Unknown township “%(name)s”.") % {"name": name})
            raise lp.CellError(_("Unknown unit “%(name)s”.") % {"name": name})
        if len(found) > 1:
            raise lp.CellError(
                _("Several units are called “%(name)s”: write the full name.") % {"name": name}
            )
        return found[0]

    def leader(self, name: str) -> Leader:
        found = self.leaders.get(lp.compact(lp.strip_title(name)), [])
        if not found:
            raise lp.CellError(_("Unknown leader “%(name)s”.") % {"name": name})
        if len(found) > 1:
            raise lp.CellError(_("Several leaders are called “%(name)s”.") % {"name": name})
        return found[0]


class Reader:
    kind: str
    columns: list[lc.Column]
    required: tuple[str, ...]
    value_columns: tuple[str, ...]

    @property
    def aliases(self) -> dict[str, tuple[str, ...]]:
        return lc.aliases(self.columns)

    def preview(
        self, batch: ImportBatch, sheet: lf.Sheet, report: Callable[[int, int], None]
    ) -> tuple[list[dict], str]:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# The project ledger
# ---------------------------------------------------------------------------------------------

PROJECT_FIELD_LABELS = lc.PROJECT_HEADERS


class ProjectReader(Reader):
    kind = ImportKind.PROJECTS
    columns = lc.PROJECT_COLUMNS
    required = ("name",)
    value_columns = lc.PROJECT_VALUE_COLUMNS

    def preview(self, batch, sheet, report):
        layout = sheet.layout
        note = ""
        if layout.year and layout.year != batch.year:
            batch.year = layout.year
            note = _("The annual plan is read for %(year)d, the year named in the header.") % {
                "year": layout.year
            }
        year = batch.year or timezone.localdate().year
        batch.year = year
        names = Names()
        lookups = {field: lc.choice_lookup(field) for field in lc.CHOICES}
        scope = batch.unit
        codes = {
            lp.compact(_cell(row, layout, "code"))
            for _n, row in sheet.rows
            if not lp.is_blank(_cell(row, layout, "code"))
        }
        candidates = (
            Project.objects.filter(Q(code__in=codes) | Q(lead_unit__path__startswith=scope.path))
            .select_related("lead_unit", "township", "lead_leader")
            .prefetch_related("cooperating_units", "co_leaders")
        )
        by_code: dict[str, Project] = {}
        by_name: dict[tuple[int, str], list[Project]] = defaultdict(list)
        for project in candidates:
            if project.code:
                by_code[lp.compact(project.code)] = project
            by_name[(project.lead_unit_id, lp.compact(project.name))].append(project)
        plans = {
            plan.project_id: plan
            for plan in ProjectYearPlan.objects.filter(
                project__in=[p.pk for p in candidates], year=year
            )
        }
        seen: dict[object, int] = {}
        rows = []
        total = len(sheet.rows)
        for index, (number, cells) in enumerate(sheet.rows, start=1):
            row = self._read_row(
                number, cells, layout, year, scope, names, lookups, by_code, by_name, plans
            )
            key = row.pop("_key", None)
            if key is not None and row["status"] != RowStatus.ERROR:
                if key in seen:
                    row["errors"].append(_("The same project as row %(row)d.") % {"row": seen[key]})
                    row["status"] = RowStatus.ERROR
                else:
                    seen[key] = number
            rows.append(row)
            if index % PROGRESS_EVERY == 0:
                report(index, total)
        report(total, total)
        if sheet.skipped:
            note = " ".join(
                filter(
                    None,
                    [
                        note,
                        _("%(count)d heading or total rows were left out.")
                        % {"count": sheet.skipped},
                    ],
                )
            )
        return rows, note

    def _read_row(  # noqa: C901
        self, number, cells, layout, year, scope, names, lookups, by_code, by_name, plans
    ) -> dict[str, Any]:
        errors: list[str] = []
        values: dict[str, Any] = {}
        shown: dict[str, str] = {}  # field → the new value as displayed

        def read(field: str, parse: Callable[[object], Any]) -> Any:
            raw = _cell(cells, layout, field)
            if field not in layout.columns or lp.is_blank(raw):
                return None
            try:
                return parse(raw)
            except lp.CellError as exc:
                errors.append(f"{PROJECT_FIELD_LABELS[field]}：{exc}")
                return None

        name = lp.clean_text(_cell(cells, layout, "name")).replace("\n", " ")
        row = _row(number, name=name)
        if not name:
            errors.append(_("The project name is empty."))
        elif len(name) > 200:
            errors.append(_("The project name is longer than 200 characters."))
        else:
            values["name"] = name
        code = read("code", lp.compact)
        if code is not None:
            if len(code) > 40:
                errors.append(_("The project code is longer than 40 characters."))
            else:
                values["code"] = code
        for field in ("build_type", "category", "stage"):
            value = read(field, lambda raw, f=field: _choice(f, raw, lookups[f]))
            if value is not None:
                values[field] = value
        for field, limit in (("description", None), ("owner", 200), ("remarks", None)):
            text = read(field, lp.clean_text)
            if text is not None:
                if limit and len(text) > limit:
                    errors.append(
                        _("%(column)s is longer than %(limit)d characters.")
                        % {"column": PROJECT_FIELD_LABELS[field], "limit": limit}
                    )
                else:
                    values[field] = text
        total = read(
            "total_investment",
            lambda raw: lp.parse_amount(raw, scale=layout.scale("total_investment")),
        )
        plan_investment = read(
            "year_plan", lambda raw: lp.parse_amount(raw, scale=layout.scale("year_plan"))
        )
        start = read("planned_start", lambda raw: lp.parse_date(raw, year=year, role=lp.START))
        end = read("planned_completion", lambda raw: lp.parse_date(raw, year=year, role=lp.END))
        # Rows outside the import's unit are refused, unless they change nothing (a ledger
        # exported with every visible project and imported back unchanged).
        scope_errors: list[str] = []
        lead_unit = read("lead_unit", lambda raw: names.unit(lp.clean_text(raw), within=scope))
        if lead_unit is not None and not lead_unit.path.startswith(scope.path):
            scope_errors.append(
                _("The responsible unit “%(unit)s” is outside %(scope)s, the unit of this import.")
                % {"unit": lead_unit.name, "scope": scope.name}
            )
        township = read(
            "township",
            lambda raw: names.unit(lp.clean_text(raw), kind=UnitKind.TOWNSHIP),
        )
        cooperating = read(
            "cooperating_units",
            lambda raw: [names.unit(n, within=scope) for n in lp.split_names(raw)],
        )
        leaders = read("leaders", lambda raw: [names.leader(n) for n in lp.split_names(raw)])

        # Which project is it?
        project = None
        unit_for_match = lead_unit or scope
        if code:
            project = by_code.get(code)
            if project is not None and not project.lead_unit.path.startswith(scope.path):
                scope_errors.append(
                    _("The project code %(code)s belongs to a project outside %(scope)s.")
                    % {"code": code, "scope": scope.name}
                )
        if project is None and name and not (code and code in by_code):
            same = by_name.get((unit_for_match.pk, lp.compact(name)), [])
            if len(same) > 1:
                errors.append(
                    _("%(unit)s has several projects called “%(name)s”: add the project code.")
                    % {"unit": unit_for_match.name, "name": name}
                )
            elif same:
                match = same[0]
                if code and match.code and lp.compact(match.code) != code:
                    errors.append(
                        _("%(unit)s already has “%(name)s” with the code %(other)s, not %(code)s.")
                        % {
                            "unit": unit_for_match.name,
                            "name": name,
                            "other": match.code,
                            "code": code,
                        }
                    )
                else:
                    project = match

        new_lead = lead_unit or (project.lead_unit if project else scope)
        row["unit"] = new_lead.name
        if project is None and not errors and "category" not in values:
            errors.append(_("The industry category is needed for a new project."))

        plan_given = {
            key: value
            for key, value in (
                ("planned_investment", plan_investment),
                ("planned_start", start),
                ("planned_completion", end),
            )
            if value is not None
        }
        plan = plans.get(project.pk) if project else None
        if plan_given:
            merged = {
                "planned_investment": plan.planned_investment if plan else ZERO,
                "planned_start": plan.planned_start if plan else None,
                "planned_completion": plan.planned_completion if plan else None,
                **plan_given,
            }
            if (
                merged["planned_start"]
                and merged["planned_completion"]
                and merged["planned_completion"] < merged["planned_start"]
            ):
                errors.append(_("The planned completion is before the planned start."))
        if errors:
            row.update(
                status=RowStatus.ERROR,
                errors=errors + scope_errors,
                project_id=project and project.pk,
            )
            return row

        # The values to write, in JSON, and the differences from the database.
        if total is not None:
            values["total_investment"] = str(total)
        if lead_unit is not None:
            values["lead_unit"] = lead_unit.pk
        if township is not None:
            values["township"] = township.pk
        if cooperating is not None:
            values["cooperating_units"] = sorted(u.pk for u in cooperating)
        if leaders:
            values["lead_leader"] = leaders[0].pk
            values["co_leaders"] = sorted(leader.pk for leader in leaders[1:])
        if plan_given:
            values["plan"] = {
                key: (str(value) if isinstance(value, Decimal) else value.isoformat())
                for key, value in plan_given.items()
            }
        shown_units = {u.pk: u.name for u in (cooperating or [])}
        shown_leaders = {leader.pk: leader.name for leader in (leaders or [])}
        shown.update(
            {
                "lead_unit": lead_unit.name if lead_unit else "",
                "township": township.name if township else "",
            }
        )
        row["values"] = values
        row["_key"] = ("code", code) if code else ("name", new_lead.pk, lp.compact(name))
        if project is None:
            row["status"] = RowStatus.ERROR if scope_errors else RowStatus.NEW
            row["errors"] = scope_errors
            row["summary"] = _summary(values, shown)
            return row
        row["project_id"] = project.pk
        row["version"] = project.version
        changes = _project_changes(project, plan, values, shown, shown_units, shown_leaders)
        row["changes"] = changes
        row["status"] = RowStatus.CHANGED if changes else RowStatus.UNCHANGED
        if scope_errors:
            if changes:
                row.update(status=RowStatus.ERROR, errors=scope_errors)
            else:
                row["note"] = _("Outside the unit of this import; left as it is.")
        return row


def _choice(field: str, raw: object, lookup: dict[str, str]) -> str:
    text = lp.compact(raw)
    value = lookup.get(text) or lookup.get(lp.header_key(text))
    if value is None:
        raise lp.CellError(
            _("“%(value)s” is not one of the allowed values (%(allowed)s).")
            % {"value": lp.clean_text(raw), "allowed": "、".join(lc.allowed_labels(field))}
        )
    return value


def _summary(values: dict[str, Any], shown: dict[str, str]) -> str:
    parts = []
    if "category" in values:
        parts.append(lc.chinese_label("category", values["category"]))
    if "total_investment" in values:
        parts.append(
            _("total %(amount)s") % {"amount": _money_text(Decimal(values["total_investment"]))}
        )
    if "stage" in values:
        parts.append(lc.chinese_label("stage", values["stage"]))
    return "，".join(parts)


def _project_changes(project, plan, values, shown, shown_units, shown_leaders) -> list[dict]:  # noqa: C901
    """What the row would change, header by header, with the old and the new value shown."""
    headers = PROJECT_FIELD_LABELS
    changes: list[dict] = []

    def differ(header: str, old: str, new: str) -> None:
        if old != new:
            changes.append({"field": header, "old": old or "—", "new": new or "—"})

    for field in ("name", "code", "description", "owner", "remarks"):
        if field in values and not lp.same_text(getattr(project, field), values[field]):
            differ(headers[field], getattr(project, field), values[field])
    for field in ("build_type", "category", "stage"):
        if field in values:
            differ(
                headers[field],
                lc.chinese_label(field, getattr(project, field)),
                lc.chinese_label(field, values[field]),
            )
    if "total_investment" in values:
        differ(
            headers["total_investment"],
            _money_text(project.total_investment),
            _money_text(Decimal(values["total_investment"])),
        )
    if "lead_unit" in values and values["lead_unit"] != project.lead_unit_id:
        differ(headers["lead_unit"], project.lead_unit.name, shown["lead_unit"])
    if "township" in values and values["township"] != project.township_id:
        differ(
            headers["township"],
            project.township.name if project.township else "",
            shown["township"],
        )
    if "cooperating_units" in values:
        current = sorted(u.pk for u in project.cooperating_units.all())
        if current != values["cooperating_units"]:
            differ(
                headers["cooperating_units"],
                "、".join(u.name for u in project.cooperating_units.all()),
                "、".join(shown_units[pk] for pk in values["cooperating_units"]),
            )
    if "lead_leader" in values:
        current_co = sorted(leader.pk for leader in project.co_leaders.all())
        if values["lead_leader"] != project.lead_leader_id or values["co_leaders"] != current_co:
            old = [project.lead_leader.name] if project.lead_leader else []
            old += [leader.name for leader in project.co_leaders.all()]
            new = [shown_leaders[values["lead_leader"]]]
            new += [shown_leaders[pk] for pk in values["co_leaders"]]
            differ(headers["leaders"], "、".join(old), "、".join(new))
    given = values.get("plan", {})
    plan_fields = (
        ("planned_investment", "year_plan"),
        ("planned_start", "planned_start"),
        ("planned_completion", "planned_completion"),
    )
    for key, column in plan_fields:
        if key not in given:
            continue
        old_value = getattr(plan, key) if plan else None
        if key == "planned_investment":
            old_text = _money_text(old_value) if plan else ""
            differ(headers[column], old_text, _money_text(Decimal(given[key])))
        else:
            differ(headers[column], old_value.isoformat() if old_value else "", given[key])
    return changes


# ---------------------------------------------------------------------------------------------
# Monthly progress
# ---------------------------------------------------------------------------------------------

PROGRESS_FIELD_LABELS = lc.PROGRESS_HEADERS
REPORT_TEXTS = ("physical_progress", "problems", "next_steps")


class ProgressReader(Reader):
    kind = ImportKind.PROGRESS
    columns = lc.PROGRESS_COLUMNS
    required = ("name", "investment")
    value_columns = lc.PROGRESS_VALUE_COLUMNS

    def preview(self, batch, sheet, report):
        layout = sheet.layout
        period = periods.parse(batch.period_key)
        scope = batch.unit
        projects = list(
            Project.objects.filter(lead_unit__path__startswith=scope.path).select_related(
                "lead_unit"
            )
        )
        bundles = set(
            Project.objects.filter(parent__in=[p.pk for p in projects]).values_list(
                "parent_id", flat=True
            )
        )
        by_code = {lp.compact(p.code): p for p in projects if p.code}
        by_name: dict[str, list[Project]] = defaultdict(list)
        for project in projects:
            by_name[lp.compact(project.name)].append(project)
        reports = {
            r.project_id: r
            for r in ProgressReport.objects.filter(
                project__in=[p.pk for p in projects], period_key=period.key
            )
        }
        names = Names() if "lead_unit" in layout.columns else None
        seen: dict[int, int] = {}
        rows = []
        total = len(sheet.rows)
        for index, (number, cells) in enumerate(sheet.rows, start=1):
            row = self._read_row(
                number, cells, layout, scope, names, by_code, by_name, bundles, reports
            )
            pk = row["project_id"]
            if pk is not None and row["status"] != RowStatus.ERROR:
                if pk in seen:
                    row["errors"].append(_("The same project as row %(row)d.") % {"row": seen[pk]})
                    row["status"] = RowStatus.ERROR
                else:
                    seen[pk] = number
            rows.append(row)
            if index % PROGRESS_EVERY == 0:
                report(index, total)
        report(total, total)
        note = ""
        if sheet.skipped:
            note = _("%(count)d heading or total rows were left out.") % {"count": sheet.skipped}
        return rows, note

    def _read_row(self, number, cells, layout, scope, names, by_code, by_name, bundles, reports):  # noqa: C901
        errors: list[str] = []
        name = lp.clean_text(_cell(cells, layout, "name")).replace("\n", " ")
        code = lp.compact(_cell(cells, layout, "code"))
        row = _row(number, name=name)
        raw_investment = _cell(cells, layout, "investment")
        texts = {
            field: lp.clean_text(_cell(cells, layout, field))
            for field in REPORT_TEXTS
            if field in layout.columns
        }
        # Texts are kept as typed (a "无" stays "无"); a row of blanks and dashes reports nothing.
        empty = lp.is_blank(raw_investment) and all(lp.is_blank(t) for t in texts.values())
        investment = None
        try:
            investment = lp.parse_amount(raw_investment, scale=layout.scale("investment"))
        except lp.CellError as exc:
            errors.append(f"{PROGRESS_FIELD_LABELS['investment']}：{exc}")

        if empty and not errors:
            # Nothing reported: never an error, whichever project the row names.
            row["note"] = _("Nothing reported in this row.")
            return row
        project = None
        if code and code not in lp.BLANKS:
            project = by_code.get(code)
            if project is None:
                errors.append(
                    _("No project with the code %(code)s in %(scope)s.")
                    % {"code": code, "scope": scope.name}
                )
        elif not name:
            errors.append(_("The project name is empty."))
        else:
            same = by_name.get(lp.compact(name), [])
            if len(same) > 1 and names is not None:
                unit_text = lp.clean_text(_cell(cells, layout, "lead_unit"))
                if unit_text:
                    try:
                        unit = names.unit(unit_text, within=scope)
                    except lp.CellError as exc:
                        errors.append(f"{PROGRESS_FIELD_LABELS['lead_unit']}：{exc}")
                    else:
                        same = [p for p in same if p.lead_unit_id == unit.pk]
            if not same and not errors:
                errors.append(
                    _("No project called “%(name)s” in %(scope)s.")
                    % {"name": name, "scope": scope.name}
                )
            elif len(same) > 1:
                errors.append(
                    _("Several projects are called “%(name)s”: add the project code.")
                    % {"name": name}
                )
            elif same:
                project = same[0]
        if project is not None:
            row["name"] = project.name
            row["unit"] = project.lead_unit.name
            row["project_id"] = project.pk
            if project.pk in bundles:
                errors.append(
                    _("“%(project)s” is a bundle: report on its sub-projects.")
                    % {"project": project.name}
                )
        if errors:
            row.update(status=RowStatus.ERROR, errors=errors)
            return row
        existing = reports.get(project.pk)
        values = {"investment": str(investment or ZERO), **texts}
        row["values"] = values
        if existing is None:
            row["status"] = RowStatus.NEW
            row["summary"] = _("investment %(amount)s") % {
                "amount": _money_text(investment or ZERO)
            }
            return row
        row["version"] = existing.version
        changes = []
        if existing.investment != Decimal(values["investment"]):
            changes.append(
                {
                    "field": PROGRESS_FIELD_LABELS["investment"],
                    "old": _money_text(existing.investment),
                    "new": _money_text(Decimal(values["investment"])),
                }
            )
        for field, text in texts.items():
            if not lp.same_text(getattr(existing, field), text):
                changes.append(
                    {
                        "field": PROGRESS_FIELD_LABELS[field],
                        "old": getattr(existing, field) or "—",
                        "new": text or "—",
                    }
                )
        row["changes"] = changes
        if changes and not existing.is_editable:
            row["status"] = RowStatus.ERROR
            row["errors"] = [
                _("The report of this period is %(status)s and cannot be changed by an import.")
                % {"status": lc.report_status_label(existing.status)}
            ]
            return row
        row["status"] = RowStatus.CHANGED if changes else RowStatus.UNCHANGED
        return row


PROJECT_READER = ProjectReader()
PROGRESS_READER = ProgressReader()


# ---------------------------------------------------------------------------------------------
# Confirm and commit
# ---------------------------------------------------------------------------------------------


class RowFailed(Exception):
    def __init__(self, row: dict | None, message: str) -> None:
        self.row = row
        super().__init__(message)


CREATE_CHUNK = 200  # new projects written per bulk step (the progress bar moves between them)


def kept_rows(batch: ImportBatch, skipped: set[int] | None = None) -> list[dict]:
    skipped = set(batch.skipped_rows) if skipped is None else skipped
    return [row for row in batch.rows if row["row"] not in skipped]


def confirm(batch: ImportBatch, *, actor, skipped: set[int], skip_errors: bool = False) -> None:
    """The user's go-ahead. Refused (ValidationError, nothing written) while a kept row has an
    error; otherwise the batch is queued for ``commit``."""
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != ImportStatus.PREVIEW:
            raise ValidationError(_("This import is not waiting for confirmation."))
        if batch.created_by_id != actor.pk and not selectors.is_global(actor):
            raise PermissionDenied(_("Only the person who uploaded the file may import it."))
        known = {row["row"] for row in batch.rows}
        skipped = skipped & known
        if skip_errors:
            skipped |= {row["row"] for row in batch.rows if row["status"] == RowStatus.ERROR}
        bad = [row["row"] for row in kept_rows(batch, skipped) if row["status"] == RowStatus.ERROR]
        if bad:
            shown = "、".join(str(n) for n in bad[:10]) + ("…" if len(bad) > 10 else "")
            raise ValidationError(
                _(
                    "Rows %(rows)s have errors. Correct the file and upload it again, or leave "
                    "those rows out. Nothing was imported."
                )
                % {"rows": shown}
            )
        batch.skipped_rows = sorted(skipped)
        batch.status = ImportStatus.COMMITTING
        batch.message = ""
        batch.save(update_fields=["skipped_rows", "status", "message", "updated_at"])


def commit(batch_id: int) -> ImportBatch:
    """Write every kept new or changed row in one transaction (the ``commit`` task).

    Changed rows go one by one through the services (``project_update``, ``project_change_stage``,
    ``year_plan_set``, ``report_save``); new projects through ``projects_bulk_create``, the
    services' bulk path with the same rights, validation and history.
    """
    batch = ImportBatch.objects.select_related("unit", "created_by").get(pk=batch_id)
    if batch.status != ImportStatus.COMMITTING:
        return batch
    actor = batch.created_by
    kept = kept_rows(batch)
    todo = [row for row in kept if row["status"] in (RowStatus.NEW, RowStatus.CHANGED)]
    bulk = batch.kind == ImportKind.PROJECTS
    one_by_one = [row for row in todo if not (bulk and row["project_id"] is None)]
    created_rows = [row for row in todo if bulk and row["project_id"] is None]
    result = {
        "created": 0,
        "updated": 0,
        "unchanged": sum(1 for row in kept if row["status"] == RowStatus.UNCHANGED),
        "skipped": len(batch.skipped_rows),
    }
    done = 0
    try:
        with (
            translation.override(lc.LEDGER_LANGUAGE),
            tallies.deferred(),
        ):  # one tally refresh at the end
            apply = _apply_project_row if bulk else _apply_report_row
            context = _commit_context(batch)
            for row in one_by_one:
                try:
                    with transaction.atomic():
                        created = apply(batch, row, actor, context)
                except (ValidationError, PermissionDenied, IntegrityError) as exc:
                    raise RowFailed(row, _describe(exc)) from exc
                except services.VersionConflict:
                    raise RowFailed(
                        row, _("The project was changed by someone after the check.")
                    ) from None
                result["created" if created else "updated"] += 1
                done += 1
                if done % PROGRESS_EVERY == 0:
                    report_progress(batch.pk, done, len(todo))
            for start_at in range(0, len(created_rows), CREATE_CHUNK):
                chunk = created_rows[start_at : start_at + CREATE_CHUNK]
                items = [_project_item(batch, row, context) for row in chunk]
                try:
                    with transaction.atomic():
                        services.projects_bulk_create(
                            actor=actor, items=items, note=_("Ledger import")
                        )
                except services.ItemInvalid as exc:
                    raise RowFailed(chunk[exc.index], _describe(exc)) from exc
                except (ValidationError, PermissionDenied, IntegrityError) as exc:
                    raise RowFailed(None, _describe(exc)) from exc
                result["created"] += len(chunk)
                done += len(chunk)
                report_progress(batch.pk, done, len(todo))
            report_progress(batch.pk, len(todo), len(todo))
    except RowFailed as exc:
        batch.status = ImportStatus.FAILED
        if exc.row is None:
            batch.message = _(
                "%(reason)s Nothing was imported; check the file again and retry."
            ) % {"reason": str(exc)}
        else:
            batch.message = _(
                "Row %(row)d: %(reason)s Nothing was imported; check the file again and retry."
            ) % {"row": exc.row["row"], "reason": str(exc)}
        batch.save(update_fields=["status", "message", "updated_at"])
        return batch
    except Exception:
        logger.exception("ledger import %s failed", batch.pk)
        batch.status = ImportStatus.FAILED
        batch.message = _("The import failed; nothing was imported.")
        batch.save(update_fields=["status", "message", "updated_at"])
        raise
    batch.status = ImportStatus.DONE
    batch.result = result
    batch.content = None
    batch.committed_at = timezone.now()
    batch.save(update_fields=["status", "result", "content", "committed_at", "updated_at"])
    return batch


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, PermissionDenied):
        return str(exc) or _("Not allowed.")
    if isinstance(exc, IntegrityError):
        return integrity.refusal_for(exc).reason
    return _("The database refused the row (a duplicate project code?).")


def _commit_context(batch: ImportBatch) -> dict[str, Any]:
    rows = batch.rows
    if batch.kind == ImportKind.PROJECTS:
        unit_ids = {batch.unit_id}
        leader_ids: set[int] = set()
        for row in rows:
            values = row.get("values", {})
            unit_ids.update(filter(None, [values.get("lead_unit"), values.get("township")]))
            unit_ids.update(values.get("cooperating_units", []))
            leader_ids.update(filter(None, [values.get("lead_leader")]))
            leader_ids.update(values.get("co_leaders", []))
        return {
            "units": Unit.objects.in_bulk(unit_ids),
            "leaders": Leader.objects.in_bulk(leader_ids),
            "today": timezone.localdate(),
        }
    return {"period": periods.parse(batch.period_key)}


def _project_fields(row: dict, context: dict) -> dict[str, Any]:
    """The row's values as service arguments (objects for references, Decimals for money)."""
    values = row["values"]
    units, leaders = context["units"], context["leaders"]
    fields: dict[str, Any] = {}
    for key in ("code", "build_type", "description", "owner", "remarks", "name", "category"):
        if key in values:
            fields[key] = values[key]
    if "total_investment" in values:
        fields["total_investment"] = Decimal(values["total_investment"])
    if "lead_unit" in values:
        fields["lead_unit"] = units[values["lead_unit"]]
    if "township" in values:
        fields["township"] = units[values["township"]]
    if "cooperating_units" in values:
        fields["cooperating_units"] = [units[pk] for pk in values["cooperating_units"]]
    if "lead_leader" in values:
        fields["lead_leader"] = leaders[values["lead_leader"]]
        fields["co_leaders"] = [leaders[pk] for pk in values["co_leaders"]]
    return fields


def _plan_values(given: dict[str, str]) -> dict[str, Any]:
    return {
        key: Decimal(value) if key == "planned_investment" else dt.date.fromisoformat(value)
        for key, value in given.items()
    }


def _project_item(batch: ImportBatch, row: dict, context: dict) -> dict[str, Any]:
    """A new project for ``services.projects_bulk_create``."""
    item = _project_fields(row, context)
    item.setdefault("lead_unit", context["units"][batch.unit_id])
    if row["values"].get("stage"):
        item["stage"] = row["values"]["stage"]
    if row["values"].get("plan"):
        item["year_plan"] = {
            "year": batch.year,
            "planned_investment": ZERO,
            **_plan_values(row["values"]["plan"]),
        }
    return item


def _apply_project_row(batch: ImportBatch, row: dict, actor, context: dict) -> bool:
    values = row["values"]
    fields = _project_fields(row, context)
    stage = values.get("stage")
    created = row["project_id"] is None
    if created:
        lead_unit = fields.pop("lead_unit", None) or batch.unit
        project = services.project_create(
            actor=actor,
            lead_unit=lead_unit,
            name=fields.pop("name"),
            category=fields.pop("category"),
            stage=stage,
            **fields,
        )
    else:
        project = Project.objects.select_related("lead_unit", "township").get(pk=row["project_id"])
        if project.version != row["version"]:
            raise services.VersionConflict(project, row["version"])
        changed = _changed_fields(project, fields)
        if changed:
            project = services.project_update(
                project=project, actor=actor, expected_version=row["version"], **changed
            )
        if stage and stage != project.stage:
            services.project_change_stage(
                project=project,
                to_stage=stage,
                changed_on=context["today"],
                actor=actor,
                note=_("Ledger import"),
            )
    plan_values = values.get("plan")
    if plan_values:
        plan = ProjectYearPlan.objects.filter(project=project, year=batch.year).first()
        merged = {
            "planned_investment": plan.planned_investment if plan else ZERO,
            "planned_start": plan.planned_start if plan else None,
            "planned_completion": plan.planned_completion if plan else None,
        }
        merged.update(_plan_values(plan_values))
        current = (
            (plan.planned_investment, plan.planned_start, plan.planned_completion) if plan else None
        )
        wanted = (
            merged["planned_investment"],
            merged["planned_start"],
            merged["planned_completion"],
        )
        if current != wanted:
            services.year_plan_set(
                project=project,
                year=batch.year,
                actor=actor,
                physical_target=plan.physical_target if plan else "",
                **merged,
            )
    return created


def _changed_fields(project: Project, fields: dict[str, Any]) -> dict[str, Any]:
    """Only the fields whose value differs: an unchanged project gets no new version."""
    changed = {}
    for key, value in fields.items():
        if key in ("cooperating_units", "co_leaders"):
            current = {obj.pk for obj in getattr(project, key).all()}
            if current != {obj.pk for obj in value}:
                changed[key] = value
        elif isinstance(value, str):
            if not lp.same_text(getattr(project, key), value):
                changed[key] = value
        elif getattr(project, key) != value:
            changed[key] = value
    if "co_leaders" in changed and "lead_leader" not in changed:
        changed["lead_leader"] = fields["lead_leader"]
    return changed


def _apply_report_row(batch: ImportBatch, row: dict, actor, context: dict) -> bool:
    values = row["values"]
    project = Project.objects.select_related("lead_unit").get(pk=row["project_id"])
    existing = ProgressReport.objects.filter(
        project=project, period_key=context["period"].key
    ).first()
    texts = {
        field: values.get(field, getattr(existing, field) if existing else "")
        for field in REPORT_TEXTS
    }
    if existing is None and row["status"] == RowStatus.CHANGED:
        raise ValidationError(_("The report was deleted after the check."))
    services.report_save(
        project=project,
        period=context["period"],
        actor=actor,
        investment=Decimal(values["investment"]),
        expected_version=row["version"] if existing is not None else None,
        **texts,
    )
    return existing is None


# ---------------------------------------------------------------------------------------------
# Running the steps (Celery tasks, eager in the demo)
# ---------------------------------------------------------------------------------------------


# The Celery tasks that run the steps (projects/tasks.py), by name: the tasks call this module.
PREPARE_TASK = "projects.tasks.ledger_prepare"
COMMIT_TASK = "projects.tasks.ledger_commit"


def dispatch_prepare(batch: ImportBatch) -> None:
    if batch.status == ImportStatus.PARSING:
        report_progress(batch.pk, 0, 0)
        outbox.enqueue(PREPARE_TASK, batch.pk)


def dispatch_commit(batch: ImportBatch) -> None:
    report_progress(batch.pk, 0, 0)
    outbox.enqueue(COMMIT_TASK, batch.pk)


def run_file(
    *,
    actor,
    unit: Unit,
    kind: str,
    filename: str,
    data: bytes,
    year: int | None = None,
    period_key: str = "",
) -> ImportBatch:
    """Upload and preview in one go, in this process (the management command, the tests)."""
    batch = start(
        actor=actor,
        unit=unit,
        kind=kind,
        filename=filename,
        data=data,
        year=year,
        period_key=period_key,
    )
    if batch.status == ImportStatus.PARSING:
        batch = prepare(batch.pk)
    return batch


def due_period() -> periods.Period:
    return selectors.due_report_period(timezone.localdate())


def recent_periods(count: int = 12) -> list[periods.Period]:
    """The periods a progress sheet may be for: the one due now and those before it."""
    period = due_period()
    found = []
    for _index in range(count):
        found.append(period)
        period = period.previous()
    return found


def report_statuses() -> dict[str, str]:
    return {status: lc.report_status_label(status) for status in ReportStatus.values}
