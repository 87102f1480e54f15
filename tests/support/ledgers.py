"""County ledgers (.xlsx) as clerks make them, for the import tests."""

from __future__ import annotations

import io

from openpyxl import Workbook

from projects.ledger_columns import PROJECT_COLUMNS

HEADERS = [column.header for column in PROJECT_COLUMNS]


def xlsx(rows: list[list], *, title: str | None = None, merges: list[str] = ()) -> bytes:
    """A workbook whose sheet "重点项目" holds ``rows`` (under a title row when given)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "重点项目"
    if title:
        sheet.append([title])
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def ledger_row(**values) -> list:
    """A row in the template's column order, from field names."""
    fields = [column.field for column in PROJECT_COLUMNS]
    return [values.get(field) for field in fields]


def simple_ledger(rows: list[dict]) -> bytes:
    """A project ledger in the template's layout, one row per dict of field values."""
    return xlsx(
        [HEADERS, *[ledger_row(seq=i, **r) for i, r in enumerate(rows, 1)]],
        title="示范县重点项目台账",
    )
