"""Calendar periods: the cadences on which reports are written and units are ranked.

Every period is a closed date range ``[start, end]`` of one kind. Periods of one kind tile the
calendar without gaps or overlaps, so ``containing``/``next``/``previous``/``between`` are exact.

Keys (stable, stored in the database and used in URLs):
    week        2026-W47     ISO week, Monday to Sunday (its ISO year may differ at New Year)
    dekad (旬)   2026-11-D1   1st–10th, D2 11th–20th, D3 21st–end of month
    half_month  2026-11-H1   1st–15th, H2 16th–end of month
    month       2026-11
    quarter     2026-Q4
    half_year   2026-H2
    year        2026
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tracker import dates


class PeriodKind(StrEnum):
    WEEK = "week"
    DEKAD = "dekad"
    HALF_MONTH = "half_month"
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"


PERIOD_KIND_LABELS = {
    PeriodKind.WEEK: gettext_lazy("week"),
    PeriodKind.DEKAD: gettext_lazy("dekad (ten days)"),
    PeriodKind.HALF_MONTH: gettext_lazy("half month"),
    PeriodKind.MONTH: gettext_lazy("month"),
    PeriodKind.QUARTER: gettext_lazy("quarter"),
    PeriodKind.HALF_YEAR: gettext_lazy("half year"),
    PeriodKind.YEAR: gettext_lazy("year"),
}
PERIOD_KIND_CHOICES = [(kind.value, label) for kind, label in PERIOD_KIND_LABELS.items()]

_ONE_DAY = dt.timedelta(days=1)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date
    kind: PeriodKind

    @property
    def key(self) -> str:
        s = self.start
        match self.kind:
            case PeriodKind.WEEK:
                iso = s.isocalendar()
                return f"{iso.year}-W{iso.week:02d}"
            case PeriodKind.DEKAD:
                return f"{s.year}-{s.month:02d}-D{min(s.day // 10 + 1, 3)}"
            case PeriodKind.HALF_MONTH:
                return f"{s.year}-{s.month:02d}-H{1 if s.day == 1 else 2}"
            case PeriodKind.MONTH:
                return f"{s.year}-{s.month:02d}"
            case PeriodKind.QUARTER:
                return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
            case PeriodKind.HALF_YEAR:
                return f"{s.year}-H{1 if s.month == 1 else 2}"
            case PeriodKind.YEAR:
                return f"{s.year}"
        raise AssertionError(self.kind)  # pragma: no cover

    @property
    def label(self) -> str:
        """The name a county clerk reads, e.g. 2026年11月中旬."""
        s = self.start
        match self.kind:
            case PeriodKind.WEEK:
                iso = s.isocalendar()
                return _("%(year)d week %(week)d") % {"year": iso.year, "week": iso.week}
            case PeriodKind.DEKAD:
                part = [_("first dekad"), _("second dekad"), _("last dekad")][min(s.day // 10, 2)]
                return _("%(year)d-%(month)d %(part)s") % {
                    "year": s.year,
                    "month": s.month,
                    "part": part,
                }
            case PeriodKind.HALF_MONTH:
                part = _("first half") if s.day == 1 else _("second half")
                return _("%(year)d-%(month)d %(part)s") % {
                    "year": s.year,
                    "month": s.month,
                    "part": part,
                }
            case PeriodKind.MONTH:
                return _("%(year)d-%(month)d") % {"year": s.year, "month": s.month}
            case PeriodKind.QUARTER:
                return _("%(year)d Q%(quarter)d") % {
                    "year": s.year,
                    "quarter": (s.month - 1) // 3 + 1,
                }
            case PeriodKind.HALF_YEAR:
                if s.month == 1:
                    return _("%(year)d first half-year") % {"year": s.year}
                return _("%(year)d second half-year") % {"year": s.year}
            case PeriodKind.YEAR:
                return _("year %(year)d") % {"year": s.year}
        raise AssertionError(self.kind)  # pragma: no cover

    def __str__(self) -> str:
        return self.key

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def next(self) -> Period:
        return containing(self.kind, self.end + _ONE_DAY)

    def previous(self) -> Period:
        return containing(self.kind, self.start - _ONE_DAY)


def containing(kind: PeriodKind | str, day: dt.date) -> Period:
    """The period of ``kind`` that contains ``day``."""
    kind = PeriodKind(kind)
    y, m, d = day.year, day.month, day.day
    match kind:
        case PeriodKind.WEEK:
            start = day - dt.timedelta(days=day.weekday())
            return Period(start, start + dt.timedelta(days=6), kind)
        case PeriodKind.DEKAD:
            if d <= 10:
                return Period(dt.date(y, m, 1), dt.date(y, m, 10), kind)
            if d <= 20:
                return Period(dt.date(y, m, 11), dt.date(y, m, 20), kind)
            return Period(dt.date(y, m, 21), _month_end(y, m), kind)
        case PeriodKind.HALF_MONTH:
            if d <= 15:
                return Period(dt.date(y, m, 1), dt.date(y, m, 15), kind)
            return Period(dt.date(y, m, 16), _month_end(y, m), kind)
        case PeriodKind.MONTH:
            return Period(dt.date(y, m, 1), _month_end(y, m), kind)
        case PeriodKind.QUARTER:
            first = (m - 1) // 3 * 3 + 1
            return Period(dt.date(y, first, 1), _month_end(y, first + 2), kind)
        case PeriodKind.HALF_YEAR:
            if m <= 6:
                return Period(dt.date(y, 1, 1), dt.date(y, 6, 30), kind)
            return Period(dt.date(y, 7, 1), dt.date(y, 12, 31), kind)
        case PeriodKind.YEAR:
            return Period(dt.date(y, 1, 1), dt.date(y, 12, 31), kind)
    raise AssertionError(kind)  # pragma: no cover


def between(kind: PeriodKind | str, first_day: dt.date, last_day: dt.date) -> list[Period]:
    """Every period of ``kind`` that overlaps ``[first_day, last_day]``, in order."""
    return list(iter_between(kind, first_day, last_day))


def iter_between(kind: PeriodKind | str, first_day: dt.date, last_day: dt.date) -> Iterator[Period]:
    if last_day < first_day:
        return
    period = containing(kind, first_day)
    while period.start <= last_day:
        yield period
        period = period.next()


_KEY_PATTERNS: list[tuple[PeriodKind, re.Pattern[str]]] = [
    (PeriodKind.WEEK, re.compile(r"^(\d{4})-W(\d{2})$")),
    (PeriodKind.DEKAD, re.compile(r"^(\d{4})-(\d{2})-D([123])$")),
    (PeriodKind.HALF_MONTH, re.compile(r"^(\d{4})-(\d{2})-H([12])$")),
    (PeriodKind.MONTH, re.compile(r"^(\d{4})-(\d{2})$")),
    (PeriodKind.QUARTER, re.compile(r"^(\d{4})-Q([1-4])$")),
    (PeriodKind.HALF_YEAR, re.compile(r"^(\d{4})-H([12])$")),
    (PeriodKind.YEAR, re.compile(r"^(\d{4})$")),
]


def parse(key: str) -> Period:
    """The period named by ``key``; ValueError (with a Chinese message) when it names none."""
    for kind, pattern in _KEY_PATTERNS:
        match = pattern.match(key.strip())
        if not match:
            continue
        numbers = [int(group) for group in match.groups()]
        if not dates.EARLIEST_DATE.year <= numbers[0] <= dates.LATEST_DATE.year:
            raise ValueError(
                _("“%(key)s” lies outside the years %(earliest)d to %(latest)d.")
                % {
                    "key": key,
                    "earliest": dates.EARLIEST_DATE.year,
                    "latest": dates.LATEST_DATE.year,
                }
            )
        try:
            return _from_numbers(kind, numbers)
        except ValueError:
            break
    raise ValueError(_("“%(key)s” is not a valid period.") % {"key": key})


def _from_numbers(kind: PeriodKind, numbers: list[int]) -> Period:
    year = numbers[0]
    if year < 1:
        raise ValueError(year)
    match kind:
        case PeriodKind.WEEK:
            return containing(kind, dt.date.fromisocalendar(year, numbers[1], 1))
        case PeriodKind.DEKAD:
            return containing(kind, dt.date(year, numbers[1], (numbers[2] - 1) * 10 + 1))
        case PeriodKind.HALF_MONTH:
            return containing(kind, dt.date(year, numbers[1], 1 if numbers[2] == 1 else 16))
        case PeriodKind.MONTH:
            return containing(kind, dt.date(year, numbers[1], 1))
        case PeriodKind.QUARTER:
            return containing(kind, dt.date(year, (numbers[1] - 1) * 3 + 1, 1))
        case PeriodKind.HALF_YEAR:
            return containing(kind, dt.date(year, 1 if numbers[1] == 1 else 7, 1))
        case PeriodKind.YEAR:
            return containing(kind, dt.date(year, 1, 1))
    raise AssertionError(kind)  # pragma: no cover


def elapsed_share_of_year(day: dt.date) -> float:
    """序时进度: the share of ``day``'s year that has elapsed by the end of ``day`` (0 < x ≤ 1)."""
    year = containing(PeriodKind.YEAR, day)
    return ((day - year.start).days + 1) / year.days
