"""The ranking engine: metrics over fixed dates, scoring, ties, exemptions, snapshots, the daily
job's catch-up, idempotency, concurrency and publishing."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import F

from projects import services
from projects.models import Project, Role, Stage
from supervision import rankings
from supervision.metrics import Facts, reporting_rounds
from supervision.models import (
    RankingEntry,
    RankingExemption,
    RankingScheme,
    RankingSnapshot,
    SchemeMetric,
)
from tests import factories
from tracker import periods
from tracker.celery import app

TZ = ZoneInfo("Asia/Shanghai")


def at(day: str, hour: int = 10):
    return time_machine.travel(
        dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=TZ), tick=False
    )


def P(key: str) -> periods.Period:
    return periods.parse(key)


# --- pure scoring ------------------------------------------------------------------------------


def test_equal_scores_share_a_rank_and_the_next_is_skipped():
    scores = {1: Decimal("90"), 2: Decimal("80"), 3: Decimal("80"), 4: Decimal("70")}
    assert rankings.competition_ranks(scores) == {1: 1, 2: 2, 3: 2, 4: 4}
    assert rankings.competition_ranks({}) == {}


def test_scaling_is_direction_aware():
    higher = rankings.scale({1: Decimal(50), 2: Decimal(10), 3: None}, higher_is_better=True)
    assert higher == {1: Decimal(100), 2: Decimal(20)}  # share of the best; no value, no score
    lower = rankings.scale({1: Decimal(0), 2: Decimal(2), 3: Decimal(1)}, higher_is_better=False)
    assert lower == {1: Decimal(100), 2: Decimal(0), 3: Decimal(50)}
    negative = rankings.scale(
        {1: Decimal(-10), 2: Decimal(5), 3: Decimal(0)}, higher_is_better=True
    )
    assert negative == {1: Decimal(0), 2: Decimal(100), 3: Decimal("66.67")}
    assert rankings.scale({1: Decimal(0), 2: Decimal(0)}, higher_is_better=True) == {
        1: Decimal(100),
        2: Decimal(100),
    }


def test_top_and_bottom_marks_include_ties_and_never_overlap():
    ranks = {1: 1, 2: 2, 3: 3, 4: 4, 5: 4, 6: 6}
    assert rankings.marks(ranks, 2, 2) == ({1, 2}, {4, 5, 6})
    assert rankings.marks({1: 1, 2: 2}, 3, 3) == ({1, 2}, set())
    assert rankings.marks({}, 3, 3) == (set(), set())
    # Everybody level (all reported on time): nobody at the top or the bottom.
    assert rankings.marks({1: 1, 2: 1, 3: 1}, 3, 3) == (set(), set())
    assert rankings.marks({1: 1}, 3, 3) == (set(), set())


@pytest.mark.parametrize(
    ("key", "rounds"),
    [
        ("2026-10", ["2026-09"]),  # the September reports are due on 5 October
        ("2026-10-D1", ["2026-09"]),
        ("2026-10-D2", ["2026-09"]),  # no deadline inside: the last round due
        ("2026-Q4", ["2026-09", "2026-10", "2026-11"]),  # deadlines 5 Oct, 5 Nov, 5 Dec
        ("2026-Q3", ["2026-06", "2026-07", "2026-08"]),
        ("2026-01", ["2025-12"]),  # across the new year
        ("2026", ["2025-12", *[f"2026-{m:02d}" for m in range(1, 12)]]),
    ],
)
def test_reporting_rounds_at_period_boundaries(settings, key, rounds):
    settings.TRACKER_REPORT_CADENCE = "month"
    settings.TRACKER_REPORT_DEADLINE_DAYS = 5
    assert [r.key for r in reporting_rounds(P(key))] == rounds


def test_an_open_period_judges_only_the_deadlines_passed(settings):
    settings.TRACKER_REPORT_CADENCE = "month"
    settings.TRACKER_REPORT_DEADLINE_DAYS = 5
    assert [r.key for r in reporting_rounds(P("2026-Q4"), dt.date(2026, 11, 21))] == [
        "2026-09",
        "2026-10",
    ]
    # On the deadline day itself the round is not yet late.
    assert [r.key for r in reporting_rounds(P("2026-11"), dt.date(2026, 11, 5))] == ["2026-09"]
    assert [r.key for r in reporting_rounds(P("2026-11"), dt.date(2026, 11, 6))] == ["2026-10"]


# --- a county with three departments ---------------------------------------------------------


@pytest.fixture
def county_world(today, county, unit_a, unit_b, reporter_a, reporter_b, supervisor, settings):
    settings.TRACKER_REPORT_CADENCE = "month"
    settings.TRACKER_REPORT_DEADLINE_DAYS = 5
    unit_c = factories.UnitFactory(name="教育局", kind="department", parent=county)
    township = factories.UnitFactory(name="龙河镇", kind="township", parent=county)
    a = factories.create_project(
        actor=reporter_a, lead_unit=unit_a, name="公路", stage_date=dt.date(2026, 1, 5)
    )
    b = factories.create_project(
        actor=reporter_b, lead_unit=unit_b, name="水库", stage_date=dt.date(2026, 1, 5)
    )
    for project, actor in ((a, reporter_a), (b, reporter_b)):
        services.year_plan_set(
            project=project, year=2026, actor=actor, planned_investment=Decimal(1000)
        )
    report = services.report_save(
        project=a, period=P("2026-09"), actor=reporter_a, investment=Decimal(300)
    )
    with at("2026-10-03"):
        services.report_submit(report=report, actor=reporter_a)  # on time (deadline 5 Oct)
    report = services.report_save(
        project=a, period=P("2026-10"), actor=reporter_a, investment=Decimal(200)
    )
    with at("2026-11-08"):
        services.report_submit(report=report, actor=reporter_a)  # late (deadline 5 Nov)
    report = services.report_save(
        project=b, period=P("2026-10"), actor=reporter_b, investment=Decimal(100)
    )
    with at("2026-11-04"):
        services.report_submit(report=report, actor=reporter_b)  # on time
    draft = services.report_save(  # a draft never counts
        project=b, period=P("2026-08"), actor=reporter_b, investment=Decimal(999)
    )
    assert draft.status == "draft"
    m = factories.create_milestone(project=a, actor=reporter_a, due_date=dt.date(2026, 6, 30))
    services.milestone_complete(milestone=m, actor=reporter_a, done_date=dt.date(2026, 6, 20))
    m = factories.create_milestone(project=b, actor=reporter_b, due_date=dt.date(2026, 8, 31))
    services.milestone_complete(milestone=m, actor=reporter_b, done_date=dt.date(2026, 9, 10))
    services.project_set_red_card(project=b, actor=supervisor, red_card=True, reason="进度滞后")
    scheme = RankingScheme.objects.create(
        name="县直部门月度综合排名",
        parent_unit=county,
        child_kinds=["department"],
        cadence="month",
        top_count=1,
        bottom_count=1,
        starts_on=dt.date(2026, 7, 1),
    )
    for metric, weight in [
        ("investment_rate", 2),
        ("milestone_rate", 1),
        ("report_timeliness", 1),
        ("red_cards", 1),
    ]:
        SchemeMetric.objects.create(scheme=scheme, metric=metric, weight=weight)
    return {"scheme": scheme, "a": unit_a, "b": unit_b, "c": unit_c, "township": township}


def entries(snapshot) -> dict[str, RankingEntry]:
    return {e.unit.name: e for e in snapshot.entries.select_related("unit")}


def test_monthly_composite_ranking(county_world, today):
    snapshot = rankings.ranking_compute(scheme=county_world["scheme"], period=P("2026-10"))
    assert (snapshot.status, snapshot.is_provisional) == ("draft", False)
    rows = entries(snapshot)
    assert set(rows) == {"交通运输局", "水利局", "教育局"}  # the township is not a department
    a, b, c = rows["交通运输局"], rows["水利局"], rows["教育局"]
    assert a.values == {
        "investment_rate": "50.00",  # (300 + 200) ÷ 1000
        "milestone_rate": "100.00",
        "report_timeliness": "100.00",  # September's report, due 5 October, sent 3 October
        "red_cards": "0.00",
    }
    assert b.values == {
        "investment_rate": "10.00",  # the August draft does not count
        "milestone_rate": "0.00",  # done ten days late
        "report_timeliness": "0.00",  # owed September's report, never sent
        "red_cards": "1.00",
    }
    assert c.values == dict.fromkeys(a.values)  # a unit with no projects has nothing to measure
    assert b.scores == {
        "investment_rate": "20.00",
        "milestone_rate": "0.00",
        "report_timeliness": "0.00",
        "red_cards": "0.00",
    }
    assert (a.score, a.rank, a.is_top, a.is_bottom) == (Decimal("100.00"), 1, True, False)
    assert (b.score, b.rank, b.is_top, b.is_bottom) == (Decimal("8.00"), 2, False, True)
    assert (c.score, c.rank, c.is_top, c.is_bottom) == (None, None, False, False)
    assert [m["key"] for m in snapshot.metrics] == [
        "investment_rate",
        "milestone_rate",
        "report_timeliness",
        "red_cards",
    ]


def test_period_boundaries_change_what_counts(county_world, today):
    scheme = county_world["scheme"]
    scheme.cadence = "dekad"
    scheme.save()
    SchemeMetric.objects.filter(scheme=scheme).exclude(metric="investment_rate").delete()
    # 1–20 October: the October report (period ending 31 October) is not in yet.
    d2 = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10-D2")))
    assert d2["交通运输局"].values == {"investment_rate": "30.00"}
    d3 = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10-D3")))
    assert d3["交通运输局"].values == {"investment_rate": "50.00"}
    scheme.cadence = "quarter"
    scheme.save()
    q3 = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-Q3")))
    assert q3["交通运输局"].values == {"investment_rate": "30.00"}
    assert q3["水利局"].values == {"investment_rate": "0.00"}
    scheme.cadence = "year"
    scheme.save()
    year = rankings.ranking_compute(scheme=scheme, period=P("2026"))
    assert year.is_provisional  # the year is still open on 21 November
    with pytest.raises(ValidationError):
        rankings.ranking_compute(scheme=scheme, period=P("2027"))  # not begun
    with pytest.raises(ValidationError):
        rankings.ranking_compute(scheme=scheme, period=P("2026-10"))  # not the cadence


def test_schedule_gap_subtracts_the_elapsed_share(county_world, today):
    scheme = county_world["scheme"]
    SchemeMetric.objects.filter(scheme=scheme).delete()
    SchemeMetric.objects.create(scheme=scheme, metric="schedule_gap", weight=1)
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10")))
    # 31 October is day 304 of 365: 83.29 % of the year has elapsed.
    assert rows["交通运输局"].values == {"schedule_gap": "-33.29"}
    assert rows["水利局"].values == {"schedule_gap": "-73.29"}
    assert rows["交通运输局"].scores == {"schedule_gap": "100.00"}
    assert rows["水利局"].scores == {"schedule_gap": "0.00"}


def test_start_rate_and_targets(county_world, today, unit_a, unit_b, reporter_a, supervisor):
    scheme = county_world["scheme"]
    SchemeMetric.objects.filter(scheme=scheme).delete()
    SchemeMetric.objects.create(scheme=scheme, metric="start_rate", weight=1)
    SchemeMetric.objects.create(scheme=scheme, metric="target_funding", weight=1)
    for name, start, begun in [("甲", "2026-03-01", "2026-03-10"), ("乙", "2026-09-01", None)]:
        project = factories.create_project(
            actor=reporter_a, lead_unit=unit_a, name=name, stage_date=dt.date(2026, 1, 5)
        )
        services.year_plan_set(
            project=project,
            year=2026,
            actor=reporter_a,
            planned_investment=Decimal(10),
            planned_start=dt.date.fromisoformat(start),
        )
        if begun:
            services.project_change_stage(
                project=project,
                to_stage=Stage.UNDER_CONSTRUCTION,
                changed_on=dt.date.fromisoformat(begun),
                actor=reporter_a,
            )
    with at("2026-02-10"):
        target = services.target_set(
            actor=supervisor, unit=unit_a, year=2026, metric="funding", target_value=Decimal(400)
        )
        services.target_set(
            actor=supervisor, unit=unit_b, year=2026, metric="funding", target_value=Decimal(100)
        )
    with at("2026-10-31", 23):  # the last hour of October (Asia/Shanghai)
        target = services.target_record_actual(
            target=target, actual_value=Decimal(100), actor=reporter_a
        )
    with at("2026-11-02"):  # reported after October: it counts from November on
        services.target_record_actual(target=target, actual_value=Decimal(300), actor=reporter_a)
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10")))
    assert rows["交通运输局"].values == {"start_rate": "50.00", "target_funding": "25.00"}
    # 水利局 has no project due to start (no value) and has not broken zero on its target.
    assert rows["水利局"].values == {"start_rate": None, "target_funding": "0.00"}
    november = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-11")))
    assert november["交通运输局"].values["target_funding"] == "75.00"
    # In September the targets were set but nothing was achieved; in January there were none.
    september = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-09")))
    assert september["交通运输局"].values["target_funding"] == "0.00"
    scheme.starts_on = dt.date(2026, 1, 1)
    scheme.save()
    january = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-01")))
    assert january["交通运输局"].values["target_funding"] is None
    # Before 1 September only 甲 was due to start.
    scheme.cadence = "quarter"
    scheme.save()
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-Q2")))
    assert rows["交通运输局"].values["start_rate"] == "100.00"


def test_co_units_count_with_the_scheme_weight(county_world, today, unit_a, unit_b, reporter_a):
    scheme = county_world["scheme"]
    SchemeMetric.objects.filter(scheme=scheme).delete()
    SchemeMetric.objects.create(scheme=scheme, metric="red_cards", weight=1)
    services.project_update(
        project=unit_b.led_projects.get(),
        actor=factories.member(unit_b, Role.REPORTER, username="b2"),
        cooperating_units=[unit_a],
    )
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10")))
    assert rows["交通运输局"].values == {"red_cards": "0.00"}
    scheme.co_unit_weight = Decimal("0.5")
    scheme.save()
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10")))
    assert rows["交通运输局"].values == {"red_cards": "0.50"}
    assert rows["水利局"].values == {"red_cards": "1.00"}


def test_ties_share_a_rank(county_world, today):
    scheme = county_world["scheme"]
    SchemeMetric.objects.filter(scheme=scheme).delete()
    SchemeMetric.objects.create(scheme=scheme, metric="red_cards", weight=1)
    # 交通运输局 and 教育局 both have no red card; 水利局 has one.
    reporter_c = factories.member(county_world["c"], Role.REPORTER, username="reporter_c")
    factories.create_project(actor=reporter_c, lead_unit=county_world["c"], name="学校")
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10")))
    assert (rows["交通运输局"].rank, rows["教育局"].rank, rows["水利局"].rank) == (1, 1, 3)
    assert rows["交通运输局"].is_top and rows["教育局"].is_top
    assert rows["水利局"].is_bottom


def test_an_exempt_unit_is_listed_without_rank_and_not_scaled_against(county_world, today):
    scheme = county_world["scheme"]
    RankingExemption.objects.create(
        scheme=scheme, unit=county_world["a"], period_key="2026-10", reason="不可抗力（汛期停工）"
    )
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10")))
    a, b = rows["交通运输局"], rows["水利局"]
    assert (a.rank, a.score, a.exempt_reason) == (None, None, "不可抗力（汛期停工）")
    assert a.values["investment_rate"] == "50.00"  # still shown
    assert (b.rank, b.score) == (1, Decimal("100.00"))  # best of those ranked
    # The exemption is for October only.
    november = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-11")))
    assert november["交通运输局"].rank == 1


def test_movement_against_the_previous_period(county_world, today):
    scheme = county_world["scheme"]
    SchemeMetric.objects.filter(scheme=scheme).delete()
    SchemeMetric.objects.create(scheme=scheme, metric="investment_rate", weight=1)
    september = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-09")))
    assert (september["交通运输局"].rank, september["水利局"].rank) == (1, 2)
    assert september["教育局"].rank is None
    # 教育局 registers a school project and reports 90 % of its plan in October.
    reporter_c = factories.member(county_world["c"], Role.REPORTER, username="reporter_c")
    school = factories.create_project(
        actor=reporter_c, lead_unit=county_world["c"], name="学校", stage_date=dt.date(2026, 1, 5)
    )
    services.year_plan_set(
        project=school, year=2026, actor=reporter_c, planned_investment=Decimal(100)
    )
    report = services.report_save(
        project=school, period=P("2026-10"), actor=reporter_c, investment=Decimal(90)
    )
    services.report_submit(report=report, actor=reporter_c)
    october = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10")))
    ranks = {name: (e.rank, e.previous_rank, e.movement) for name, e in october.items()}
    assert ranks == {"教育局": (1, None, None), "交通运输局": (2, 1, -1), "水利局": (3, 2, -1)}


def snapshot_rows():
    return (
        sorted(RankingSnapshot.objects.values_list()),
        sorted(RankingEntry.objects.values_list()),
    )


def test_computing_twice_writes_nothing_new(county_world, today):
    scheme = county_world["scheme"]
    rankings.ranking_compute(scheme=scheme, period=P("2026-10"))
    before = snapshot_rows()
    with at("2026-11-22"):
        rankings.ranking_compute(scheme=scheme, period=P("2026-10"))
    assert snapshot_rows() == before  # same rows, same ids, same computed_at


@pytest.fixture
def eager_celery():
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def test_daily_job_catches_up_after_missed_days(county_world, eager_celery):
    from supervision.tasks import compute_due_rankings

    scheme = county_world["scheme"]  # starts on 1 July
    with at("2026-09-15"):
        assert compute_due_rankings.apply(kwargs={"today": "2026-09-15"}).get() == 3
    snaps = dict(RankingSnapshot.objects.values_list("period_key", "is_provisional"))
    assert snaps == {"2026-07": False, "2026-08": False, "2026-09": True}
    # The job did not run for two months; the next run fills the gap. July's draft ended more
    # than TRACKER_RANKING_REFRESH_DAYS (92) ago and is left as it is; August's is refreshed.
    assert compute_due_rankings.apply(kwargs={"today": "2026-11-21"}).get() == 4
    snaps = dict(RankingSnapshot.objects.values_list("period_key", "is_provisional"))
    assert snaps == {
        "2026-07": False,
        "2026-08": False,
        "2026-09": False,  # recomputed now that it is closed
        "2026-10": False,
        "2026-11": True,  # the open month, for leaders to watch
    }
    before = snapshot_rows()
    # Run again: the recent drafts and the open month are recomputed, and nothing changes.
    assert compute_due_rankings.apply(kwargs={"today": "2026-11-21"}).get() == 4
    assert snapshot_rows() == before
    assert RankingEntry.objects.filter(snapshot__scheme=scheme).count() == 5 * 3
    # Published rankings are never recomputed: only the open month is left to compute.
    RankingSnapshot.objects.exclude(period_key="2026-11").update(
        status="published", published_at=F("computed_at")
    )
    assert compute_due_rankings.apply(kwargs={"today": "2026-11-21"}).get() == 1


def test_a_closed_draft_follows_late_reports_until_published(
    county_world, eager_celery, supervisor, reporter_b
):
    """October's draft is first computed on 1 November, before October's reports are due (5
    November); the nightly refresh brings later corrections in, and publishing stops it."""
    from supervision.tasks import compute_due_rankings

    water = county_world["b"].led_projects.get()
    october = P("2026-10")
    with at("2026-11-01", 1):
        compute_due_rankings.apply(kwargs={"today": "2026-11-01"}).get()
    draft = RankingSnapshot.objects.get(period_key="2026-10")
    assert not draft.is_provisional
    assert entries(draft)["水利局"].values["investment_rate"] == "10.00"  # 100 ÷ 1000
    computed_at = draft.computed_at
    # The water bureau's October report (100, sent 4 November) is corrected on 9 November.
    with at("2026-11-09"):
        report = water.reports.get(period_start=october.start)
        services.report_return(report=report, actor=supervisor, reason="数据有误")
        services.report_save(
            project=water, period=october, actor=reporter_b, investment=Decimal(500)
        )
        report = water.reports.get(period_start=october.start)
        services.report_submit(report=report, actor=reporter_b)
    with at("2026-11-10", 1):
        compute_due_rankings.apply(kwargs={"today": "2026-11-10"}).get()
    draft.refresh_from_db()
    assert entries(draft)["水利局"].values["investment_rate"] == "50.00"  # 500 ÷ 1000
    assert draft.computed_at > computed_at
    with at("2026-11-12"):
        rankings.ranking_publish(snapshot=draft, actor=supervisor)
    frozen = snapshot_rows()
    # A later correction leaves the published October as it was (November's draft moves).
    with at("2026-11-13"):
        services.report_return(
            report=water.reports.get(period_start=october.start),
            actor=supervisor,
            reason="再次核对",
        )
    with at("2026-11-14", 1):
        compute_due_rankings.apply(kwargs={"today": "2026-11-14"}).get()
    draft.refresh_from_db()
    assert entries(draft)["水利局"].values["investment_rate"] == "50.00"
    assert [row for row in snapshot_rows()[1] if row[1] == draft.pk] == [
        row for row in frozen[1] if row[1] == draft.pk
    ]


def test_the_refresh_window_is_a_setting(county_world, settings):
    scheme = county_world["scheme"]  # starts on 1 July
    rankings.ranking_compute(scheme=scheme, period=P("2026-07"), today=dt.date(2026, 8, 2))
    settings.TRACKER_RANKING_REFRESH_DAYS = 0
    closed, current = rankings.due_periods(scheme, dt.date(2026, 8, 2))
    assert ([p.key for p in closed], current.key) == ([], "2026-08")
    settings.TRACKER_RANKING_REFRESH_DAYS = 5
    closed, current = rankings.due_periods(scheme, dt.date(2026, 8, 2))
    assert [p.key for p in closed] == ["2026-07"]
    closed, current = rankings.due_periods(scheme, dt.date(2026, 8, 6))
    assert [p.key for p in closed] == []


def test_publishing_freezes_the_snapshot(county_world, today, supervisor, reporter_a, leader):
    scheme = county_world["scheme"]
    snapshot = rankings.ranking_compute(scheme=scheme, period=P("2026-10"))
    for actor in (reporter_a, leader):
        with pytest.raises(PermissionDenied):
            rankings.ranking_publish(snapshot=snapshot, actor=actor)
    rankings.ranking_publish(snapshot=snapshot, actor=supervisor)
    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.published_by) == ("published", supervisor)
    frozen = snapshot_rows()
    # A correction after publication: the published ranking stays as it was.
    services.project_set_red_card(
        project=county_world["b"].led_projects.get(), actor=supervisor, red_card=False
    )
    rankings.ranking_compute(scheme=scheme, period=P("2026-10"))
    assert snapshot_rows() == frozen
    with pytest.raises(ValidationError):
        rankings.ranking_publish(snapshot=snapshot, actor=supervisor)
    # The next period shows the corrected data.
    november = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-11")))
    assert november["水利局"].values["red_cards"] == "0.00"
    # An open period cannot be published.
    with pytest.raises(ValidationError):
        rankings.ranking_publish(
            snapshot=RankingSnapshot.objects.get(period_key="2026-11"), actor=supervisor
        )


def test_a_provisional_draft_is_brought_up_to_date_when_published(
    county_world, supervisor, reporter_b
):
    scheme = county_world["scheme"]
    with at("2026-10-20"):
        snapshot = rankings.ranking_compute(scheme=scheme, period=P("2026-10"))
    assert snapshot.is_provisional
    with at("2026-11-21"):
        rankings.ranking_publish(snapshot=snapshot, actor=supervisor)
    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.is_provisional) == ("published", False)


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_leave_one_snapshot(county_world):
    scheme = county_world["scheme"]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run():
        try:
            barrier.wait()
            rankings.ranking_compute(
                scheme=scheme, period=P("2026-10"), today=dt.date(2026, 11, 21)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert RankingSnapshot.objects.count() == 1
    assert RankingEntry.objects.count() == 3


def test_facts_are_shared_between_schemes(county_world, today, county):
    scheme = county_world["scheme"]
    twin = RankingScheme.objects.create(
        name="副本",
        parent_unit=county,
        child_kinds=["department", "township"],
        cadence="month",
        starts_on=dt.date(2026, 1, 1),
    )
    for metric in scheme.metrics.all():
        SchemeMetric.objects.create(scheme=twin, metric=metric.metric, weight=metric.weight)
    facts = Facts()
    rankings.ranking_compute(scheme=scheme, period=P("2026-10"), facts=facts)
    ran = facts.queries
    rankings.ranking_compute(scheme=twin, period=P("2026-10"), facts=facts)
    assert facts.queries == ran  # the second scheme asked nothing new of the database
    assert RankingEntry.objects.filter(snapshot__scheme=twin).count() == 4


def test_co_units_count_in_investment_and_timeliness(county_world, today, unit_a, unit_b):
    scheme = county_world["scheme"]
    SchemeMetric.objects.filter(scheme=scheme).exclude(
        metric__in=["investment_rate", "report_timeliness"]
    ).delete()
    services.project_update(
        project=unit_b.led_projects.get(),
        actor=factories.member(unit_b, Role.REPORTER, username="b2"),
        cooperating_units=[unit_a],
    )
    scheme.co_unit_weight = Decimal("0.5")
    scheme.save()
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10")))
    assert rows["交通运输局"].values == {
        "investment_rate": "36.67",  # (500 + 0.5 × 100) ÷ (1000 + 0.5 × 1000)
        "report_timeliness": "66.67",  # on time 1 of 1 + 0.5 × (0 of 1)
    }
    assert rows["水利局"].values == {"investment_rate": "10.00", "report_timeliness": "0.00"}


def test_a_report_not_owed_still_counts(county_world, today):
    """A project registered after the round's end that reported anyway: due and on time."""
    scheme = county_world["scheme"]
    SchemeMetric.objects.filter(scheme=scheme).exclude(metric="report_timeliness").delete()
    reporter_c = factories.member(county_world["c"], Role.REPORTER, username="reporter_c")
    school = factories.create_project(
        actor=reporter_c, lead_unit=county_world["c"], name="学校", stage_date=dt.date(2026, 10, 2)
    )
    report = services.report_save(
        project=school, period=P("2026-09"), actor=reporter_c, investment=Decimal(5)
    )
    with at("2026-10-04"):
        services.report_submit(report=report, actor=reporter_c)
    late_joiner = factories.create_project(
        actor=reporter_c,
        lead_unit=county_world["c"],
        name="幼儿园",
        stage_date=dt.date(2026, 10, 3),
    )
    assert late_joiner.pk  # registered after September: owes nothing for September
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10")))
    assert rows["教育局"].values == {"report_timeliness": "100.00"}


def test_red_lights_from_the_alert_scan_count_against_a_unit(county_world, today):
    from supervision.alerts import scan_alerts

    scheme = county_world["scheme"]
    SchemeMetric.objects.filter(scheme=scheme).delete()
    SchemeMetric.objects.create(scheme=scheme, metric="red_lights", weight=1)
    scan_alerts(today=today)  # 水利局's project is under a red card: red
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-11")))
    assert rows["水利局"].values == {"red_lights": "1.00"}
    assert rows["水利局"].rank == 2
    assert rows["教育局"].values == {"red_lights": None}  # no project


def test_issue_close_rate_is_closed_in_time_over_due(county_world, today, supervisor):
    """问题销号率 = issues closed by their deadline ÷ issues due, as of the period end (or today
    while the period is open); closing ahead of the deadline counts at once."""
    from supervision.issues import services as ledger
    from supervision.models import Issue

    scheme = county_world["scheme"]
    SchemeMetric.objects.filter(scheme=scheme).delete()
    SchemeMetric.objects.create(scheme=scheme, metric="issue_close_rate", weight=1)
    unit_a, unit_b = county_world["a"], county_world["b"]

    def issue(unit, title, deadline, closed=None, status=None):
        raised = ledger.issue_raise(
            actor=supervisor,
            title=title,
            source="upper",
            category="other",
            unit=unit,
            deadline=today + dt.timedelta(days=5),
        )
        changes = {"deadline": dt.date.fromisoformat(deadline), "raised_on": dt.date(2026, 9, 1)}
        if closed:  # 07:30 in the county, still the day before in UTC
            moment = dt.datetime.fromisoformat(closed).replace(hour=7, minute=30, tzinfo=TZ)
            changes.update(status="closed", closed_at=moment)
        if status:
            changes["status"] = status
        Issue.objects.filter(pk=raised.pk).update(**changes)

    issue(unit_a, "按期销号", "2026-11-10", closed="2026-11-10")
    issue(unit_a, "逾期销号", "2026-11-10", closed="2026-11-11")  # a day late in the county
    issue(unit_a, "提前销号", "2026-12-20", closed="2026-11-18")
    issue(unit_a, "未到期", "2026-12-20")  # not due yet: not counted
    issue(unit_a, "未受理", "2026-11-01", status="pending")  # not accepted: not the unit's
    issue(unit_b, "逾期未改", "2026-11-01")
    issue(unit_b, "十二月才销号", "2026-11-05", closed="2026-12-02")
    issue(unit_b, "十月逾期销号", "2026-10-15", closed="2026-10-20")
    # November is open on 21 November: judged as of today.
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-11")))
    assert rows["交通运输局"].values == {"issue_close_rate": "66.67"}  # 2 of 3
    assert rows["水利局"].values == {"issue_close_rate": "0.00"}  # 0 of 3
    assert rows["教育局"].values == {"issue_close_rate": None}  # nothing due
    assert rows["交通运输局"].rank == 1 and rows["水利局"].rank == 2
    # October: only the issue due on 15 October was due, closed five days late.
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-10")))
    assert rows["交通运输局"].values == {"issue_close_rate": None}
    assert rows["水利局"].values == {"issue_close_rate": "0.00"}


def test_inspection_score_averages_the_periods_appraisals(county_world, today, supervisor):
    from supervision.models import Inspection, InspectionScore

    scheme = county_world["scheme"]
    SchemeMetric.objects.filter(scheme=scheme).delete()
    SchemeMetric.objects.create(scheme=scheme, metric="inspection_score", weight=1)
    a = Project.objects.get(name="公路")
    b = Project.objects.get(name="水库")
    second = factories.create_project(
        actor=supervisor, lead_unit=county_world["a"], name="二号公路"
    )
    in_period = Inspection.objects.create(
        title="11月现场观摩",
        kind="site_visit",
        held_on=dt.date(2026, 11, 10),
        unit=supervisor.memberships.get().unit,
        inspectors="督查室",
    )
    before = Inspection.objects.create(
        title="10月现场观摩",
        kind="site_visit",
        held_on=dt.date(2026, 10, 10),
        unit=supervisor.memberships.get().unit,
        inspectors="督查室",
    )
    InspectionScore.objects.create(inspection=in_period, project=a, score=Decimal("90"))
    InspectionScore.objects.create(inspection=in_period, project=second, score=Decimal("85"))
    InspectionScore.objects.create(inspection=in_period, project=b, score=Decimal("70"))
    InspectionScore.objects.create(inspection=before, project=b, score=Decimal("100"))
    rows = entries(rankings.ranking_compute(scheme=scheme, period=P("2026-11")))
    assert rows["交通运输局"].values == {"inspection_score": "87.50"}
    assert rows["水利局"].values == {"inspection_score": "70.00"}
    assert rows["教育局"].values == {"inspection_score": None}
