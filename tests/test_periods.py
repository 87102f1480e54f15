"""The calendar periods module: tiling, navigation and keys, checked over many dates."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from tracker import periods
from tracker.periods import PeriodKind

# Inside the plausible window (tracker.dates); the first week of 2000 starts on 3 January.
dates = st.dates(min_value=dt.date(2000, 1, 3), max_value=dt.date(2090, 12, 31))
kinds = st.sampled_from(list(PeriodKind))

# Every kind nests inside the next coarser one (weeks nest in nothing but themselves).
NESTING = [
    (PeriodKind.DEKAD, PeriodKind.MONTH),
    (PeriodKind.HALF_MONTH, PeriodKind.MONTH),
    (PeriodKind.MONTH, PeriodKind.QUARTER),
    (PeriodKind.QUARTER, PeriodKind.HALF_YEAR),
    (PeriodKind.HALF_YEAR, PeriodKind.YEAR),
]


@given(kinds, dates)
def test_containing_contains_the_day(kind, day):
    period = periods.containing(kind, day)
    assert period.kind == kind
    assert period.start <= day <= period.end
    assert period.contains(day)


@given(kinds, dates)
def test_next_and_previous_tile_the_calendar(kind, day):
    period = periods.containing(kind, day)
    following, preceding = period.next(), period.previous()
    assert following.start == period.end + dt.timedelta(days=1)
    assert preceding.end == period.start - dt.timedelta(days=1)
    assert following.previous() == period
    assert preceding.next() == period


@given(kinds, dates)
def test_key_round_trips(kind, day):
    period = periods.containing(kind, day)
    assert periods.parse(period.key) == period


@given(kinds, dates, st.integers(min_value=0, max_value=400))
def test_between_covers_the_range_without_gaps(kind, first, length):
    last = first + dt.timedelta(days=length)
    result = periods.between(kind, first, last)
    assert result[0].contains(first)
    assert result[-1].contains(last)
    for earlier, later in itertools.pairwise(result):
        assert later.start == earlier.end + dt.timedelta(days=1)
    assert len({p.key for p in result}) == len(result)


@given(dates)
def test_finer_periods_nest_in_coarser_ones(day):
    for fine, coarse in NESTING:
        inner, outer = periods.containing(fine, day), periods.containing(coarse, day)
        assert outer.start <= inner.start and inner.end <= outer.end


@given(kinds, dates)
def test_period_lengths_are_those_of_the_calendar(kind, day):
    days = periods.containing(kind, day).days
    expected = {
        PeriodKind.WEEK: {7},
        PeriodKind.DEKAD: {8, 9, 10, 11},
        PeriodKind.HALF_MONTH: {13, 14, 15, 16},
        PeriodKind.MONTH: {28, 29, 30, 31},
        PeriodKind.QUARTER: {90, 91, 92},
        PeriodKind.HALF_YEAR: {181, 182, 184},
        PeriodKind.YEAR: {365, 366},
    }[kind]
    assert days in expected


def test_between_is_empty_for_a_reversed_range():
    assert periods.between("month", dt.date(2026, 5, 1), dt.date(2026, 4, 30)) == []


@pytest.mark.parametrize(
    ("kind", "day", "key", "start", "end"),
    [
        ("week", dt.date(2026, 1, 1), "2026-W01", dt.date(2025, 12, 29), dt.date(2026, 1, 4)),
        ("week", dt.date(2027, 1, 1), "2026-W53", dt.date(2026, 12, 28), dt.date(2027, 1, 3)),
        ("dekad", dt.date(2026, 2, 28), "2026-02-D3", dt.date(2026, 2, 21), dt.date(2026, 2, 28)),
        (
            "dekad",
            dt.date(2026, 11, 20),
            "2026-11-D2",
            dt.date(2026, 11, 11),
            dt.date(2026, 11, 20),
        ),
        (
            "half_month",
            dt.date(2024, 2, 16),
            "2024-02-H2",
            dt.date(2024, 2, 16),
            dt.date(2024, 2, 29),
        ),
        ("month", dt.date(2026, 11, 21), "2026-11", dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        ("quarter", dt.date(2026, 11, 21), "2026-Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        ("half_year", dt.date(2026, 6, 30), "2026-H1", dt.date(2026, 1, 1), dt.date(2026, 6, 30)),
        ("year", dt.date(2026, 11, 21), "2026", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ],
)
def test_known_periods(kind, day, key, start, end):
    period = periods.containing(kind, day)
    assert (period.key, period.start, period.end) == (key, start, end)


@pytest.mark.parametrize(
    "key",
    [
        "2026-13",
        "2026-W54",
        "2025-W53",
        "2026-02-D4",
        "2026-Q5",
        "2026-H3",
        "26",
        "2026-1",
        "",
        "2026-11-H0",
    ],
)
def test_parse_refuses_what_names_no_period(key):
    with translation.override("zh-hans"), pytest.raises(ValueError, match="不是有效的期间"):
        periods.parse(key)


@pytest.mark.parametrize("key", ["0000", "0001-01", "1999-12", "1999-W52", "2101-Q1", "9999"])
def test_parse_refuses_periods_outside_the_plausible_years(key):
    with (
        translation.override("zh-hans"),
        pytest.raises(ValueError, match="不在 2000 年至 2100 年之间"),
    ):
        periods.parse(key)


@pytest.mark.parametrize(
    ("kind", "day", "label"),
    [
        ("dekad", dt.date(2026, 11, 15), "2026年11月中旬"),
        ("half_month", dt.date(2026, 11, 1), "2026年11月上半月"),
        ("month", dt.date(2026, 11, 1), "2026年11月"),
        ("quarter", dt.date(2026, 11, 1), "2026年第4季度"),
        ("half_year", dt.date(2026, 1, 1), "2026年上半年"),
        ("year", dt.date(2026, 1, 1), "2026年"),
        ("week", dt.date(2026, 11, 21), "2026年第47周"),
    ],
)
def test_labels_read_as_a_county_clerk_writes_them(kind, day, label):
    with translation.override("zh-hans"):
        assert periods.containing(kind, day).label == label


def test_elapsed_share_of_year():
    assert periods.elapsed_share_of_year(dt.date(2026, 12, 31)) == 1
    assert periods.elapsed_share_of_year(dt.date(2026, 1, 1)) == pytest.approx(1 / 365)
    assert periods.elapsed_share_of_year(dt.date(2024, 7, 1)) == pytest.approx(183 / 366)
