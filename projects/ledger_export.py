"""Excel ledgers out: the blank templates and the filled ledgers, in the layouts the import reads.

A ledger exported here and imported again unchanged is all "unchanged": the same columns and
headers, the same words for coded values (the Chinese labels), amounts in 万元 as numbers, dates
as dates, units and leaders by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Prefetch, QuerySet
from django.utils import translation
from openpyxl.styles import Alignment
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from projects import ledger_columns as lc
from projects.models import (
    Leader,
    ProgressReport,
    Project,
    ProjectYearPlan,
    Unit,
    UnitKind,
)
from tracker import periods, spreadsheets

VALUES_SHEET = "可选值"
FIRST_DATA_ROW = 3  # a title line, then the header
TEMPLATE_ROWS = 500  # rows that get the drop-down lists in a blank template
TEXT_FIELDS = ("description", "physical_progress", "problems", "next_steps", "remarks")


def _sheet_columns(columns: list[lc.Column], headers: dict[str, str]) -> list[spreadsheets.Column]:
    """The ledger's columns as the writer lays them out; ``headers`` replaces some headers."""

    def number_format(column: lc.Column) -> str | None:
        if "万元" in column.header:
            return spreadsheets.MONEY
        return spreadsheets.DATE if column.field in lc.PROJECT_DATES else None

    return [
        spreadsheets.Column(
            headers.get(column.field, column.header),
            width=column.width,
            number_format=number_format(column),
            wrap=column.field in TEXT_FIELDS,
        )
        for column in columns
    ]


def _sheet_with_header(
    book: spreadsheets.Spreadsheet,
    title: str,
    heading: str,
    columns: list[lc.Column],
    headers: dict[str, str] | None = None,
) -> spreadsheets.Sheet:
    sheet = book.sheet(title, _sheet_columns(columns, headers or {}))
    sheet.heading(heading, alignment=Alignment(horizontal="center"))
    sheet.header(fill=spreadsheets.HEADER_FILL)
    sheet.freeze("C3")
    return sheet


# ---------------------------------------------------------------------------------------------
# The allowed values and the drop-down lists
# ---------------------------------------------------------------------------------------------


def allowed_values(units: QuerySet[Unit] | None = None) -> dict[str, list[str]]:
    """For each coded column of the project ledger: the values it accepts."""
    units = units if units is not None else Unit.objects.active()
    return {
        "build_type": lc.allowed_labels("build_type"),
        "category": lc.allowed_labels("category"),
        "stage": lc.allowed_labels("stage"),
        "lead_unit": [u.name for u in units.exclude(kind=UnitKind.VILLAGE).order_by("path")],
        "township": [
            u.name for u in Unit.objects.active().filter(kind=UnitKind.TOWNSHIP).order_by("path")
        ],
        "leaders": [
            leader.name for leader in Leader.objects.filter(is_active=True).order_by("sort_order")
        ],
    }


def _add_values_sheet(
    book: spreadsheets.Spreadsheet,
    sheet: spreadsheets.Sheet,
    values: dict[str, list[str]],
    last_row: int,
) -> spreadsheets.Sheet:
    """A sheet listing the allowed values, and list validations on the data columns."""
    headers = lc.PROJECT_HEADERS
    listing = book.sheet(
        VALUES_SHEET, [spreadsheets.Column(headers[field], width=20) for field in values]
    )
    listing.header(alignment=None)
    positions = {column.field: index for index, column in enumerate(lc.PROJECT_COLUMNS, 1)}
    for col, (field, items) in enumerate(values.items(), start=1):
        # A name that had to be quoted is listed quoted: picked from the list, it imports as is.
        for row, item in enumerate(items, start=2):
            listing.cell(row, col, item)
        if not items:
            continue
        letter = get_column_letter(col)
        source = f"{quote_sheetname(VALUES_SHEET)}!${letter}$2:${letter}${len(items) + 1}"
        # Several leaders or units may share a cell (、), so those lists only suggest.
        strict = field in ("build_type", "category", "stage", "township")
        validation = DataValidation(
            type="list",
            formula1=f"={source}",
            allow_blank=True,
            showErrorMessage=strict,
            errorTitle="不在可选值中",
            error=f"请从“{VALUES_SHEET}”表的“{headers[field]}”列中选择。",
        )
        target = get_column_letter(positions[field])
        validation.add(f"{target}{FIRST_DATA_ROW}:{target}{last_row}")
        sheet.worksheet.add_data_validation(validation)
    listing.freeze("A2")
    return listing


def _add_number_validations(sheet: spreadsheets.Sheet, last_row: int) -> None:
    positions = {column.field: index for index, column in enumerate(lc.PROJECT_COLUMNS, 1)}
    for field in lc.PROJECT_MONEY:
        letter = get_column_letter(positions[field])
        check = DataValidation(
            type="decimal",
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
            showErrorMessage=False,
            promptTitle=lc.PROJECT_HEADERS[field],
            prompt="单位：万元。也可写“1.2亿”“3500万元”。",
            showInputMessage=True,
        )
        check.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}")
        sheet.worksheet.add_data_validation(check)
    for field in lc.PROJECT_DATES:
        letter = get_column_letter(positions[field])
        hint = DataValidation(
            type="custom",
            formula1="TRUE",
            allow_blank=True,
            showErrorMessage=False,
            promptTitle=lc.PROJECT_HEADERS[field],
            prompt="如 2026-03-15、2026年3月、2026.3、3月底。",
            showInputMessage=True,
        )
        hint.add(f"{letter}{FIRST_DATA_ROW}:{letter}{last_row}")
        sheet.worksheet.add_data_validation(hint)


# ---------------------------------------------------------------------------------------------
# The project ledger
# ---------------------------------------------------------------------------------------------


def project_ledger_rows(projects: QuerySet[Project], year: int) -> QuerySet[Project]:
    return (
        projects.select_related("lead_unit", "township", "lead_leader")
        .prefetch_related(
            "cooperating_units",
            "co_leaders",
            Prefetch(
                "year_plans",
                queryset=ProjectYearPlan.objects.filter(year=year),
                to_attr="ledger_plans",
            ),
        )
        .order_by("lead_unit__path", "code", "name", "id")
    )


def _project_row(number: int, project: Project) -> list[object]:
    plan = project.ledger_plans[0] if project.ledger_plans else None
    leaders = [project.lead_leader.name] if project.lead_leader else []
    leaders += [leader.name for leader in project.co_leaders.all()]
    return [
        number,
        project.name,
        project.code,
        lc.chinese_label("build_type", project.build_type),
        lc.chinese_label("category", project.category),
        project.description,
        project.total_investment,
        plan.planned_investment if plan else None,
        project.lead_unit.name,
        "、".join(unit.name for unit in project.cooperating_units.all()),
        "、".join(leaders),
        project.township.name if project.township else "",
        plan.planned_start if plan else None,
        plan.planned_completion if plan else None,
        project.owner,
        lc.chinese_label("stage", project.stage),
        project.remarks,
    ]


def project_ledger_workbook(
    projects: Iterable[Project] | None,
    *,
    year: int,
    title: str,
    values: dict[str, list[str]] | None = None,
) -> spreadsheets.Spreadsheet:
    """The project ledger; with ``projects`` None, the blank template."""
    book = spreadsheets.Spreadsheet()
    with translation.override(lc.LEDGER_LANGUAGE):
        # The header names the plan year so that a file imported later is read for the same year.
        sheet = _sheet_with_header(
            book, "项目台账", title, lc.PROJECT_COLUMNS, {"year_plan": f"{year}年计划投资(万元)"}
        )
        count = sheet.rows(
            _project_row(number, project) for number, project in enumerate(projects or [], 1)
        )
        last = max(FIRST_DATA_ROW + count - 1, FIRST_DATA_ROW)
        blank = projects is None
        if blank:
            sheet.format_rows(FIRST_DATA_ROW, FIRST_DATA_ROW + TEMPLATE_ROWS)
        list_rows = FIRST_DATA_ROW + TEMPLATE_ROWS if blank else max(last, FIRST_DATA_ROW + 200)
        _add_values_sheet(book, sheet, values or allowed_values(), list_rows)
        _add_number_validations(sheet, list_rows)
    return book


# ---------------------------------------------------------------------------------------------
# The progress ledger of one period
# ---------------------------------------------------------------------------------------------


def progress_ledger_workbook(
    projects: QuerySet[Project], period: periods.Period, *, title: str
) -> spreadsheets.Spreadsheet:
    """One row per reporting project with its report of ``period`` (blank where none yet):
    the month's sheet to fill in, and once filled, the month's progress ledger."""
    columns = lc.PROGRESS_COLUMNS
    reports = {
        report.project_id: report
        for report in ProgressReport.objects.filter(
            project__in=projects.values("pk"), period_key=period.key
        )
    }
    book = spreadsheets.Spreadsheet()
    with translation.override(lc.LEDGER_LANGUAGE):
        sheet = _sheet_with_header(book, "月度进度", title, columns)
        count = 0
        rows = projects.select_related("lead_unit").order_by("lead_unit__path", "code", "name")
        for count, project in enumerate(rows, start=1):
            report = reports.get(project.pk)
            sheet.row(
                [
                    count,
                    project.name,
                    project.code,
                    project.lead_unit.name,
                    report.investment if report else None,
                    report.physical_progress if report else "",
                    report.problems if report else "",
                    report.next_steps if report else "",
                    lc.report_status_label(report.status) if report else "未填报",
                ]
            )
        sheet.format_rows(FIRST_DATA_ROW, max(FIRST_DATA_ROW + count - 1, FIRST_DATA_ROW + 50))
        letter = get_column_letter([c.field for c in columns].index("investment") + 1)
        check = DataValidation(
            type="decimal",
            operator="greaterThanOrEqual",
            formula1="0",
            allow_blank=True,
            showErrorMessage=False,
            showInputMessage=True,
            promptTitle="本月完成投资",
            prompt="单位：万元。",
        )
        check.add(f"{letter}{FIRST_DATA_ROW}:{letter}{FIRST_DATA_ROW + max(count, 50) + 200}")
        sheet.worksheet.add_data_validation(check)
    return book


def ledger_filename(label: str, when: dt.datetime) -> str:
    return f"{label}-{when:%Y%m%d-%H%M}.xlsx"
