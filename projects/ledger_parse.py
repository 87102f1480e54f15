"""Reading what people type into county ledgers: text, amounts, dates and header rows.

Real ledgers are messy. Full-width digits and spaces (``３５００``, ``\u3000``), amounts with their
unit written in (``1.2亿``, ``3,500``, ``3500万元``), dates in every style (``2024年3月``,
``2024.3``, ``3月底``, ``2024-03-15`` or an Excel date serial), header cells broken over two lines
or two merged rows under a title line. Everything here is pure: values in, values or a
``CellError`` (with a message in the user's language) out.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

from tracker import dates

CENT = Decimal("0.01")
TEN_THOUSAND = Decimal(10000)
# Blank in every spelling a clerk uses for "nothing here".
BLANKS = {"", "-", "--", "—", "——", "/", "\\", "无", "暂无", "空", "N/A", "n/a", "NA", "null"}


class CellError(ValueError):
    """A cell that cannot be read; the message says why, for the preview."""


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


# Full-width digits and Latin letters (０-９, Ａ-Ｚ, ａ-ｚ) → ASCII; Chinese punctuation stays.
_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF10, 0xFF1A)}
_FULL_WIDTH.update({code: code - 0xFEE0 for code in range(0xFF21, 0xFF3B)})
_FULL_WIDTH.update({code: code - 0xFEE0 for code in range(0xFF41, 0xFF5B)})


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date()
    return str(value)


def clean_text(value: object) -> str:
    """A cell as text: full-width digits, letters and spaces folded, runs of spaces collapsed,
    lines and ends stripped. Chinese punctuation (，（）：) is kept as typed."""
    if value is None:
        return ""
    text = _as_text(value).translate(_FULL_WIDTH)
    text = re.sub(r"[ \t\u00a0\u3000]+", " ", text)
    text = "\n".join(line.strip() for line in text.splitlines())
    return text.strip()


def canonical(value: object) -> str:
    """Text as compared, not as stored: every full-width form folded (NFKC), whitespace runs
    as one space. Two texts with the same canonical form are "unchanged"."""
    if value is None:
        return ""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", _as_text(value))).strip()


def same_text(a: object, b: object) -> bool:
    return canonical(a) == canonical(b)


def compact(value: object) -> str:
    """Text with no whitespace at all, every full-width form folded: how names, codes, amounts
    and headers are compared (``交 通 局``, ``ＪＴ－００１``, ``３，５００``)."""
    return re.sub(r"\s+", "", canonical(value))


def is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, int | float | Decimal | dt.date):
        return False
    return compact(value) in BLANKS


def split_names(value: object) -> list[str]:
    """``交通局、水利局``, ``张三，李四`` or one per line → the names, in order, without repeats."""
    names: list[str] = []
    for part in re.split(r"[、,，;；/\n]+", clean_text(value)):
        name = compact(part)
        if name and name not in BLANKS and name not in names:
            names.append(name)
    return names


def strip_title(name: str) -> str:
    """A leader written with a title, ``张三（副县长）`` or ``张三(副县长)``, is ``张三``."""
    return re.sub(r"[（(].*?[)）]", "", name).strip()


# ---------------------------------------------------------------------------------------------
# Amounts (万元)
# ---------------------------------------------------------------------------------------------

_AMOUNT = re.compile(
    r"^(?:约|计|共|合计)?(?P<number>[+-]?\d+(?:\.\d+)?)(?P<unit>亿元|亿|万元|万|千元|元)?$"
)
_UNIT_SCALE = {
    "亿元": TEN_THOUSAND,
    "亿": TEN_THOUSAND,
    "万元": Decimal(1),
    "万": Decimal(1),
    "千元": Decimal("0.1"),
    "元": Decimal("0.0001"),
}


def header_scale(header: str) -> Decimal:
    """The factor from a column's unit to 万元: ``总投资(亿元)`` is × 10000, ``(元)`` ÷ 10000."""
    text = compact(header)
    for unit in ("亿元", "千元", "万元"):
        if unit in text:
            return _UNIT_SCALE[unit]
    if re.search(r"[(（]元[)）]", text):
        return _UNIT_SCALE["元"]
    return Decimal(1)


def parse_amount(value: object, *, scale: Decimal = Decimal(1)) -> Decimal | None:
    """An amount in 万元 rounded to the cent, or None for a blank cell.

    A number is in the column's unit (``scale``); text may carry its own unit (``1.2亿``,
    ``3500万元``), which wins over the column's.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        amount = Decimal(str(value)) * scale
    else:
        text = compact(value)
        if text in BLANKS:
            return None
        text = text.replace(",", "").replace("，", "")
        match = _AMOUNT.match(text)
        if not match:
            raise CellError(_("“%(value)s” is not an amount.") % {"value": clean_text(value)})
        unit = match.group("unit")
        try:
            amount = Decimal(match.group("number")) * (_UNIT_SCALE[unit] if unit else scale)
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            raise CellError(
                _("“%(value)s” is not an amount.") % {"value": clean_text(value)}
            ) from None
    if not amount.is_finite():
        raise CellError(_("“%(value)s” is not an amount.") % {"value": clean_text(value)})
    if amount < 0:
        raise CellError(_("An amount cannot be negative (%(value)s).") % {"value": value})
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if amount >= Decimal("1e12"):
        raise CellError(_("The amount %(value)s is too large.") % {"value": clean_text(value)})
    return amount


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

START, END = "start", "end"
_FULL_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?(?P<part>初|上旬|中旬|下旬|中|底|末|份)?$")
_MONTH_ONLY = re.compile(r"^(\d{1,2})月(?P<part>初|上旬|中旬|下旬|中|底|末|份)?$")
_YEAR_ONLY = re.compile(r"^(\d{4})年?(?P<part>初|上半年|年中|下半年|底|末|年底|年末|内)?$")
_SERIAL_RANGE = (20000, 80000)  # 1954–2119 as Excel day numbers


def _month_day(year: int, month: int, part: str | None, role: str) -> dt.date:
    last = calendar.monthrange(year, month)[1]
    if part in ("底", "末"):
        return dt.date(year, month, last)
    if part == "初":
        return dt.date(year, month, 1 if role == START else 10)
    if part == "上旬":
        return dt.date(year, month, 1 if role == START else 10)
    if part in ("中旬", "中"):
        return dt.date(year, month, 11 if role == START else 20)
    if part == "下旬":
        return dt.date(year, month, 21 if role == START else last)
    return dt.date(year, month, 1 if role == START else last)


def _year_day(year: int, part: str | None, role: str) -> dt.date:
    if part in ("上半年",):
        return dt.date(year, 1, 1) if role == START else dt.date(year, 6, 30)
    if part in ("下半年",):
        return dt.date(year, 7, 1) if role == START else dt.date(year, 12, 31)
    if part in ("年中",):
        return dt.date(year, 6, 30) if role == END else dt.date(year, 6, 1)
    if part in ("底", "末", "年底", "年末"):
        return dt.date(year, 12, 31)
    if part == "初":
        return dt.date(year, 1, 1) if role == START else dt.date(year, 1, 31)
    return dt.date(year, 1, 1) if role == START else dt.date(year, 12, 31)


def excel_serial(number: float) -> dt.date:
    """An Excel (1900 system) day number as a date."""
    from openpyxl.utils.datetime import from_excel

    return from_excel(number).date()


def parse_date(value: object, *, year: int, role: str = START) -> dt.date | None:
    """A date, or None for a blank cell; a date outside the plausible window (tracker.dates)
    is refused like everywhere else.

    Vague dates take the first day of what they name for a start and the last for an end:
    ``2024年3月`` starts on 1 March and is done by 31 March; ``3月底`` is the 31st of March of
    ``year`` (the ledger's year); ``2024年`` starts on 1 January and ends on 31 December.
    """
    day = _date_of(value, year=year, role=role)
    if day is not None and not dates.is_plausible(day):
        raise CellError(dates.outside_window_message())
    return day


def _date_of(value: object, *, year: int, role: str) -> dt.date | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float | Decimal):
        number = float(value)
        if _SERIAL_RANGE[0] <= number <= _SERIAL_RANGE[1]:
            return excel_serial(number)
        text = format(Decimal(str(value)), "f")
    else:
        text = compact(value)
    if text in BLANKS:
        return None
    original = clean_text(value)
    try:
        return _parse_date_text(text, year=year, role=role)
    except ValueError:
        raise CellError(_("“%(value)s” is not a date.") % {"value": original}) from None


def _parse_date_text(text: str, *, year: int, role: str) -> dt.date:
    text = text.replace("号", "日")
    if match := _FULL_DATE.match(text):
        y, m, d = (int(g) for g in match.groups())
        return _checked(dt.date(y, m, d))
    if match := _COMPACT_DATE.match(text):
        y, m, d = (int(g) for g in match.groups())
        return _checked(dt.date(y, m, d))
    if match := _YEAR_MONTH.match(text):
        return _checked(_month_day(int(match[1]), int(match[2]), match["part"], role))
    if match := _MONTH_ONLY.match(text):
        return _checked(_month_day(year, int(match[1]), match["part"], role))
    if match := _YEAR_ONLY.match(text):
        return _checked(_year_day(int(match[1]), match["part"], role))
    if text in ("年底", "年末", "年内", "底"):
        return dt.date(year, 12, 31)
    if text.isdigit() and _SERIAL_RANGE[0] <= int(text) <= _SERIAL_RANGE[1]:
        return excel_serial(int(text))
    raise ValueError(text)


def _checked(day: dt.date) -> dt.date:
    if not 1950 <= day.year <= 2100:
        raise ValueError(day)
    return day


# ---------------------------------------------------------------------------------------------
# Header rows
# ---------------------------------------------------------------------------------------------


def header_key(text: object) -> str:
    """A header cell as compared with the known names: no spaces, no unit in brackets."""
    key = compact(text)
    key = re.sub(r"[(（][^)）]*[)）]", "", key)
    return key.rstrip(":：*")


@dataclass
class Layout:
    """Where a sheet's header is and which column holds which field (0-based indexes)."""

    header_row: int  # 1-based row number of the last header row
    columns: dict[str, int]
    headers: dict[str, str] = field(default_factory=dict)  # field → the header text as written
    year: int | None = None  # a year named in a header (``2026年计划投资``)

    def scale(self, name: str) -> Decimal:
        return header_scale(self.headers.get(name, ""))


def match_header(text: object, aliases: dict[str, tuple[str, ...]]) -> str | None:
    key = header_key(text)
    if not key:
        return None
    for name, names in aliases.items():
        if key in names:
            return name
    # ``2026年计划投资``, ``2026年度计划投资``
    year_free = re.sub(r"^\d{4}年度?", "", key)
    if year_free != key:
        for name, names in aliases.items():
            if year_free in names or f"年度{year_free}" in names:
                return name
    return None


def find_layout(
    rows: list[tuple], aliases: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> Layout | None:
    """The header among the first rows: the row naming the most known columns (at least the
    required ones), combined with the row below when the header spans two rows (merged cells:
    a group label above, the column names under it)."""
    best: tuple[int, int] | None = None
    for index, row in enumerate(rows):
        found = {match_header(cell, aliases) for cell in row} - {None}
        if len(found) >= 2 and (best is None or len(found) > best[1]):
            best = (index, len(found))
    if best is None:
        return None
    index = best[0]
    top = list(rows[index])
    below = list(rows[index + 1]) if index + 1 < len(rows) else []
    below_found = {match_header(cell, aliases) for cell in below} - {None}
    two_rows = bool(below_found)
    width = max(len(top), len(below) if two_rows else 0)
    columns: dict[str, int] = {}
    headers: dict[str, str] = {}
    group = ""
    for col in range(width):
        upper = clean_text(top[col]) if col < len(top) else ""
        lower = clean_text(below[col]) if two_rows and col < len(below) else ""
        if upper:
            group = upper
        label = lower or upper
        name = match_header(label, aliases)
        if name is None or name in columns:
            continue
        columns[name] = col
        # The unit may be in the group label above (``投资情况（万元）`` over ``总投资``).
        headers[name] = f"{label} {group if lower else ''}".strip()
    if not set(required) <= columns.keys():
        return None
    year = None
    if found := re.search(r"(\d{4})年", compact(headers.get("year_plan", ""))):
        year = int(found.group(1))
    return Layout(
        header_row=index + (2 if two_rows else 1), columns=columns, headers=headers, year=year
    )


_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+[、.]|[(（][一二三四五六七八九十]+[)）])")
_TOTAL = re.compile(r"^(?:合计|总计|小计|共计)")


def is_heading_or_total(row: tuple, name_col: int) -> bool:
    """A section heading (``一、交通项目（12个）``) or a total line, not a project."""
    cells = [compact(c) for c in row if not is_blank(c)]
    if not cells:
        return False
    name = compact(row[name_col]) if name_col < len(row) else ""
    if any(_TOTAL.match(c) for c in cells[:3]):
        return True
    return bool(_HEADING.match(name)) or (
        not name and any(_HEADING.match(cell) for cell in cells[:2])
    )
