"""The one spreadsheet writer: every .xlsx the platform hands out is built here.

Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by Excel and
WPS as a formula (or a DDE command) as soon as someone edits the cell, and openpyxl itself stores
any string starting with ``=`` as a live formula. A project, unit or issue named
``=HYPERLINK("http://…")`` would then come out of an export as a working link or worse (OWASP,
"CSV Injection"). So every text cell is written with a leading apostrophe when it starts with one
of those characters, and always as a string, never a formula. Numbers, dates and booleans are
written as such: ``-5`` is a number, ``'-5`` is text. Before the file is saved every cell of every
sheet is checked once more, so that text put into a sheet through openpyxl directly cannot carry
a formula out either.

Text that already starts with apostrophes followed by one of those characters gets one more, so
that ``unquote`` (used by the ledger import) can undo exactly what was added: any text survives
an export and import unchanged.

Formulas the platform means to write (the drop-down lists of the ledger template) are data
validations, not cells, and are left as they are.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

import openpyxl
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Border, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Number formats
MONEY = "#,##0.00"
PERCENT = "0.0%"
DATE = "yyyy-mm-dd"
WHOLE = "0"

# The house styles
TITLE_FONT = Font(bold=True, size=14)
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
CENTRED = Alignment(horizontal="center", vertical="center", wrap_text=True)
WRAPPED = Alignment(wrap_text=True, vertical="top")

# The characters that make a spreadsheet read text as a formula.
_TRIGGER = r"[=+\-@\t\r]"
_TRIGGERED = re.compile(_TRIGGER)
_NEEDS_QUOTE = re.compile("'*" + _TRIGGER)  # what the writer quotes
_QUOTED = re.compile("'+" + _TRIGGER)  # what the import unquotes
_AS_IS = (bool, int, float, Decimal, dt.date, dt.time, dt.timedelta)


def neutralise(text: str) -> str:
    """``text`` as it is stored in a cell: with one more leading apostrophe when it starts with
    a formula trigger (after any apostrophes it already has)."""
    return "'" + text if _NEEDS_QUOTE.match(text) else text


def unquote(value: object) -> object:
    """The text a cell written by ``neutralise`` held: its first apostrophe removed when
    apostrophes and then a formula trigger start it. Anything else is returned unchanged."""
    if isinstance(value, str) and _QUOTED.match(value):
        return value[1:]
    return value


def cell_value(value: object) -> object:
    """A value openpyxl can store: numbers, dates and booleans as they are; aware datetimes in
    local time (Excel has no time zones); anything else as text without the control characters
    an .xlsx cannot hold, neutralised."""
    if value is None:
        return None
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, _AS_IS):
        return value
    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


@dataclass(frozen=True)
class Column:
    """A column of a table: its header, width, number format and whether its text wraps."""

    header: str
    width: float | None = None
    number_format: str | None = None
    wrap: bool = False


class Sheet:
    """One worksheet written row by row. ``worksheet`` is openpyxl's, for layout only (freeze
    panes, page setup, data validations): values go through ``row`` and ``cell``."""

    def __init__(self, worksheet: Worksheet, columns: Sequence[Column] = ()) -> None:
        self.worksheet = worksheet
        self.columns: list[Column] = list(columns)
        self.last_row = 0
        self.header_row: int | None = None

    def cell(self, row: int, column: int, value: object) -> Cell:
        cell = self.worksheet.cell(row=row, column=column, value=cell_value(value))
        self.last_row = max(self.last_row, row)
        return cell

    def heading(
        self,
        text: object,
        *,
        span: int | None = None,
        font: Font = TITLE_FONT,
        alignment: Alignment | None = None,
    ) -> int:
        """A line of text over ``span`` columns (by default the table's width), merged."""
        row = self.last_row + 1
        cell = self.cell(row, 1, text)
        width = span if span is not None else max(len(self.columns), 1)
        if width > 1:
            self.worksheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        cell.font = font
        if alignment is not None:
            cell.alignment = alignment
        return row

    def header(
        self,
        columns: Sequence[Column] | None = None,
        *,
        font: Font = HEADER_FONT,
        fill: PatternFill | None = None,
        alignment: Alignment | None = CENTRED,
        border: Border | None = None,
    ) -> int:
        """The header row of ``columns`` (which then format the rows below), with their widths."""
        if columns is not None:
            self.columns = list(columns)
        row = self.last_row + 1
        for index, column in enumerate(self.columns, start=1):
            cell = self.cell(row, index, column.header)
            cell.font = font
            if fill is not None:
                cell.fill = fill
            if alignment is not None:
                cell.alignment = alignment
            if border is not None:
                cell.border = border
            if column.width is not None:
                self.worksheet.column_dimensions[get_column_letter(index)].width = column.width
        self.header_row = row
        return row

    def row(
        self,
        values: Iterable[object],
        *,
        font: Font | None = None,
        alignment: Alignment | None = None,
        border: Border | None = None,
    ) -> int:
        """A row of values under the header, formatted as its columns say."""
        row = self.last_row + 1
        for index, value in enumerate(values, start=1):
            cell = self.cell(row, index, value)
            if font is not None:
                cell.font = font
            if alignment is not None:
                cell.alignment = alignment
            if border is not None:
                cell.border = border
        self.last_row = row  # an empty row still takes its line
        self.format_rows(row, row)
        return row

    def rows(self, values: Iterable[Iterable[object]]) -> int:
        """Rows of values; the number written."""
        count = 0
        for row in values:
            self.row(row)
            count += 1
        return count

    def blank(self) -> int:
        self.last_row += 1
        return self.last_row

    def format_rows(self, first: int, last: int) -> None:
        """Give rows ``first``..``last`` their columns' number formats and wrapping, written or
        not (a template's empty rows too)."""
        for index, column in enumerate(self.columns, start=1):
            if column.number_format is None and not column.wrap:
                continue
            for row in range(first, last + 1):
                cell = self.worksheet.cell(row=row, column=index)
                if column.number_format is not None:
                    cell.number_format = column.number_format
                if column.wrap:
                    cell.alignment = WRAPPED

    def widths(self, sizes: Sequence[float], *, first: int = 1) -> None:
        for index, size in enumerate(sizes, start=first):
            self.worksheet.column_dimensions[get_column_letter(index)].width = size

    def freeze(self, cell: str) -> None:
        self.worksheet.freeze_panes = cell

    def filter(self) -> None:
        """An auto-filter over the header row and the rows written below it."""
        top = self.header_row or 1
        last = get_column_letter(max(len(self.columns), 1))
        self.worksheet.auto_filter.ref = f"A{top}:{last}{max(self.last_row, top)}"


class Spreadsheet:
    """A workbook of ``Sheet``s, saved with every text cell neutralised."""

    def __init__(self) -> None:
        self.workbook = openpyxl.Workbook()
        self._sheets: list[Sheet] = []

    def sheet(self, title: str, columns: Sequence[Column] = ()) -> Sheet:
        """A new sheet (the first one takes the place of openpyxl's default sheet); Excel allows
        31 characters in a sheet's name."""
        if self._sheets:
            worksheet = self.workbook.create_sheet(str(title)[:31])
        else:
            worksheet = self.workbook.active
            worksheet.title = str(title)[:31]
        sheet = Sheet(worksheet, columns)
        self._sheets.append(sheet)
        return sheet

    def neutralise_cells(self) -> None:
        """The safety net for text that reached a sheet through openpyxl directly: any cell
        openpyxl took for a formula, or whose text starts with a trigger, is made quoted text.
        (Cells written through ``Sheet`` already are, and are left alone: this is idempotent.)"""
        for worksheet in self.workbook.worksheets:
            for line in worksheet.iter_rows():
                for cell in line:
                    if isinstance(cell.value, str) and (
                        cell.data_type == "f" or _TRIGGERED.match(cell.value)
                    ):
                        cell.value = "'" + cell.value
                        cell.data_type = "s"

    def content(self) -> bytes:
        self.neutralise_cells()
        buffer = BytesIO()
        self.workbook.save(buffer)
        return buffer.getvalue()

    def response(self, filename: str) -> HttpResponse:
        return attachment(self.content(), filename, XLSX)


def attachment(content: bytes, filename: str, content_type: str) -> HttpResponse:
    """A download of ``content`` saved as ``filename`` (Chinese names included: RFC 6266's
    ``filename*=utf-8''…``)."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
