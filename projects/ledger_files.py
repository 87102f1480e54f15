"""Opening an uploaded ledger safely, or saying clearly why not.

Checked before openpyxl reads a byte of XML: the size (``TRACKER_LEDGER_MAX_BYTES``), that the
file is an .xlsx (a zip with a workbook), not a password-protected one (an OLE2 container holding
an ``EncryptedPackage``), not an old .xls, not macro-enabled (``vbaProject.bin``), and that it
does not inflate beyond ``TRACKER_LEDGER_MAX_UNCOMPRESSED`` (a zip bomb). The workbook is then
read in openpyxl's read-only (streaming) mode, never more than ``TRACKER_LEDGER_MAX_ROWS``
rows, and a cell holding a formula where a value is needed is refused.

Text the platform's own exports had to quote (``'=…``, ``'-…``: see ``tracker.spreadsheets``)
is read without that one added apostrophe, so that an exported ledger imports unchanged.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from projects import ledger_parse as lp
from tracker.spreadsheets import unquote

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
HEADER_SCAN_ROWS = 15
# So many empty rows in a row end the data: sheets formatted down to row 1,048,576 are common.
EMPTY_RUN_LIMIT = 200


class LedgerFileError(Exception):
    """The file cannot be imported at all; the message tells the user why, in Chinese."""


def max_bytes() -> int:
    return settings.TRACKER_LEDGER_MAX_BYTES


def max_rows() -> int:
    return settings.TRACKER_LEDGER_MAX_ROWS


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


def check_file(data: bytes, filename: str = "") -> None:
    """Raise ``LedgerFileError`` unless ``data`` is an .xlsx we are willing to open."""
    if len(data) > max_bytes():
        raise LedgerFileError(
            _("The file is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": _megabytes(len(data)), "limit": _megabytes(max_bytes())}
        )
    if not data:
        raise LedgerFileError(_("The file is empty."))
    lowered = filename.lower()
    if lowered.endswith((".xlsm", ".xltm", ".xlsb")):
        raise LedgerFileError(
            _("Files with macros (.xlsm) are refused: save the workbook as .xlsx without macros.")
        )
    if data.startswith(OLE2_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise LedgerFileError(
                _(
                    "The file is protected by a password. Open it in Excel, remove the password "
                    "(File → Info → Protect Workbook) and upload it again."
                )
            )
        raise LedgerFileError(
            _("This is an old Excel file (.xls). Open it in Excel, save it as .xlsx and try again.")
        )
    if not data.startswith(ZIP_MAGIC):
        raise LedgerFileError(_("This is not an Excel file (.xlsx)."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise LedgerFileError(_("The file is damaged or not an Excel file (.xlsx).")) from None
    names = {member.filename for member in members}
    if "xl/workbook.xml" not in names:
        raise LedgerFileError(_("This is not an Excel file (.xlsx)."))
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise LedgerFileError(
            _("Files with macros (.xlsm) are refused: save the workbook as .xlsx without macros.")
        )
    inflated = sum(member.file_size for member in members)
    if inflated > settings.TRACKER_LEDGER_MAX_UNCOMPRESSED:
        raise LedgerFileError(
            _("The workbook unpacks to %(size)s MB, more than the %(limit)s MB allowed.")
            % {
                "size": _megabytes(inflated),
                "limit": _megabytes(settings.TRACKER_LEDGER_MAX_UNCOMPRESSED),
            }
        )


@dataclass
class Sheet:
    """The data rows of the sheet that holds the ledger, with the column layout found."""

    title: str
    layout: lp.Layout
    rows: list[tuple[int, tuple]]  # (1-based row number, cell values)
    skipped: int  # section headings and total lines left out


def read_sheet(
    data: bytes,
    *,
    aliases: dict[str, tuple[str, ...]],
    required: tuple[str, ...],
    value_columns: tuple[str, ...],
) -> Sheet:
    """The first sheet whose header names the ``required`` columns, read as values."""
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds on broken files
        raise LedgerFileError(_("The file is damaged or not an Excel file (.xlsx).")) from None
    try:
        for worksheet in workbook.worksheets:
            if getattr(worksheet, "sheet_state", "visible") != "visible":
                continue
            sheet = _read_worksheet(worksheet, aliases, required, value_columns)
            if sheet is not None:
                return sheet
    except LedgerFileError:
        raise
    except Exception:
        raise LedgerFileError(_("The file is damaged or not an Excel file (.xlsx).")) from None
    finally:
        workbook.close()
    raise LedgerFileError(
        _("No sheet has the header row of this ledger (it needs at least: %(columns)s).")
        % {"columns": "、".join(aliases[name][0] for name in required)}
    )


def _read_worksheet(worksheet, aliases, required, value_columns) -> Sheet | None:
    # The stored dimension is often wrong (files written by other programs): read every row.
    worksheet.reset_dimensions()
    iterator = worksheet.iter_rows(values_only=True)
    head: list[tuple] = []
    for row in iterator:
        head.append(row)
        if len(head) >= HEADER_SCAN_ROWS:
            break
    layout = lp.find_layout(head, aliases, required)
    if layout is None:
        return None
    limit = max_rows()
    rows: list[tuple[int, tuple]] = []
    formulas: list[str] = []
    skipped = 0
    empty_run = 0
    checked = [layout.columns[name] for name in value_columns if name in layout.columns]

    def take(number: int, raw: tuple) -> None:
        nonlocal skipped, empty_run
        row = tuple(unquote(cell) for cell in raw)
        if all(lp.is_blank(cell) for cell in row):
            empty_run += 1
            return
        empty_run = 0
        if lp.is_heading_or_total(row, layout.columns.get("name", 0)):
            skipped += 1
            return
        # Read as stored: a formula is "=…", text the writer quoted is "'=…".
        for col in checked:
            cell = raw[col] if col < len(raw) else None
            if isinstance(cell, str) and cell.startswith("="):
                formulas.append(f"{get_column_letter(col + 1)}{number}")
        rows.append((number, row))
        if len(rows) > limit:
            raise LedgerFileError(
                _("The sheet has more than %(limit)d rows of data; split it into smaller files.")
                % {"limit": limit}
            )

    for number, row in enumerate(head[layout.header_row :], start=layout.header_row + 1):
        take(number, row)
    for number, row in enumerate(iterator, start=len(head) + 1):
        take(number, row)
        if empty_run >= EMPTY_RUN_LIMIT:
            break
    if formulas:
        shown = "、".join(formulas[:5]) + ("…" if len(formulas) > 5 else "")
        raise LedgerFileError(
            _(
                "Cells %(cells)s hold formulas where values are needed. Copy the sheet and "
                "paste it as values (Paste Special → Values), then upload it again."
            )
            % {"cells": shown}
        )
    return Sheet(title=worksheet.title, layout=layout, rows=rows, skipped=skipped)
