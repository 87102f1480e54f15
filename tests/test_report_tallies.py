"""Report tallies (projects.tallies): kept exact by every change that moves them, read by the
rankings, batched in bulk writes, safe under concurrent writers, and rebuilt by a command."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from projects import services, tallies
from projects.models import ReportTally, StageChange
from supervision import rankings
from supervision.models import RankingScheme, SchemeMetric
from tests import factories
from tracker import periods

TZ = ZoneInfo("Asia/Shanghai")


def at(day: str):
    return time_machine.travel(
        dt.datetime.fromisoformat(day).replace(hour=10, tzinfo=TZ), tick=False
    )


def P(key: str) -> periods.Period:
    return periods.parse(key)


def tally(unit, key: str) -> tuple | None:
    return (
        ReportTally.objects.filter(unit=unit, period_key=key)
        .values_list("investment", "on_time", "unowed")
        .first()
    )


@pytest.fixture
def monthly(settings):
    settings.TRACKER_REPORT_CADENCE = "month"
    settings.TRACKER_REPORT_DEADLINE_DAYS = 5


def test_tallies_follow_reports_projects_and_registrations(
    monthly, today, county, unit_a, unit_b, reporter_a, head_a, supervisor
):
    road = factories.create_project(
        actor=reporter_a, lead_unit=unit_a, name="公路", stage_date=dt.date(2026, 1, 5)
    )
    draft = services.report_save(
        project=road, period=P("2026-09"), actor=reporter_a, investment=Decimal(300)
    )
    assert tally(unit_a, "2026-09") == (Decimal(0), 0, 0)  # a draft counts for nothing
    with at("2026-10-03"):
        report = services.report_submit(report=draft, actor=reporter_a)  # deadline 5 October
    assert tally(unit_a, "2026-09") == (Decimal(300), 1, 0)

    returned = services.report_return(report=report, actor=head_a, reason="数据有误")
    assert tally(unit_a, "2026-09") == (Decimal(0), 1, 0)  # timeliness keeps the first submission
    services.report_save(
        project=road, period=P("2026-09"), actor=reporter_a, investment=Decimal(250)
    )
    with at("2026-10-09"):
        report = services.report_submit(report=returned, actor=reporter_a)
    services.report_approve(report=report, actor=head_a)
    assert tally(unit_a, "2026-09") == (Decimal(250), 1, 0)

    late = services.report_save(
        project=road, period=P("2026-10"), actor=reporter_a, investment=Decimal(100)
    )
    with at("2026-11-08"):
        services.report_submit(report=late, actor=reporter_a)
    assert tally(unit_a, "2026-10") == (Decimal(100), 0, 0)

    # Operating projects owe no report: theirs count as reports not owed.
    services.project_change_stage(
        project=road, to_stage="operating", changed_on=dt.date(2026, 11, 1), actor=supervisor
    )
    assert tally(unit_a, "2026-09") == (Decimal(250), 1, 1)

    # A project that becomes a bundle owes nothing either.
    services.project_change_stage(
        project=road,
        to_stage="under_construction",
        changed_on=dt.date(2026, 11, 2),
        actor=supervisor,
    )
    assert tally(unit_a, "2026-09") == (Decimal(250), 1, 0)
    part = factories.create_project(
        actor=reporter_a, lead_unit=unit_a, name="公路一标段", parent=road
    )
    assert tally(unit_a, "2026-09") == (Decimal(250), 1, 1)
    services.project_update(project=part, actor=reporter_a, parent=None)
    assert tally(unit_a, "2026-09") == (Decimal(250), 1, 0)

    # A registration dated after the period: the report was not owed.
    registration = StageChange.objects.get(project=road, from_stage="")
    registration.changed_on = dt.date(2026, 10, 2)
    registration.save()
    assert tally(unit_a, "2026-09") == (Decimal(250), 1, 1)
    assert tally(unit_a, "2026-10") == (Decimal(100), 0, 0)

    # Another lead unit takes the project over: its figures move.
    services.project_update(project=road, actor=supervisor, lead_unit=unit_b)
    assert tally(unit_a, "2026-09") is None
    assert tally(unit_b, "2026-10") == (Decimal(100), 0, 0)

    late.delete()
    assert tally(unit_b, "2026-10") is None
    assert tallies.differences() == set()
    road.delete()
    assert not ReportTally.objects.exists()


def test_rankings_read_the_tallies_and_the_command_rebuilds_them(
    monthly, today, county, unit_a, unit_b, reporter_a, reporter_b
):
    for unit, actor, amount in ((unit_a, reporter_a, 600), (unit_b, reporter_b, 300)):
        project = factories.create_project(
            actor=actor, lead_unit=unit, stage_date=dt.date(2026, 1, 5)
        )
        services.year_plan_set(
            project=project, year=2026, actor=actor, planned_investment=Decimal(1000)
        )
        report = services.report_save(
            project=project, period=P("2026-09"), actor=actor, investment=Decimal(amount)
        )
        with at("2026-10-03"):
            services.report_submit(report=report, actor=actor)
    scheme = RankingScheme.objects.create(
        name="投资排名",
        parent_unit=county,
        child_kinds=["department"],
        cadence="month",
        starts_on=dt.date(2026, 1, 1),
    )
    SchemeMetric.objects.create(scheme=scheme, metric="investment_rate", weight=1)

    def values() -> dict[str, str]:
        snapshot = rankings.ranking_compute(scheme=scheme, period=P("2026-09"))
        return {e.unit.name: e.values["investment_rate"] for e in snapshot.entries.all()}

    assert values() == {"交通运输局": "60.00", "水利局": "30.00"}
    # Written behind the application's back (as a bulk load or a repair in SQL would):
    ReportTally.objects.filter(unit=unit_b).update(investment=Decimal(900))
    assert values() == {"交通运输局": "60.00", "水利局": "90.00"}  # the ranking reads the tally
    with pytest.raises(CommandError, match="有 1 条填报汇总"):
        call_command("rebuild_report_tallies", "--check")
    call_command("rebuild_report_tallies")
    call_command("rebuild_report_tallies", "--check")
    assert values() == {"交通运输局": "60.00", "水利局": "30.00"}


def test_a_bulk_write_refreshes_once_at_its_end_or_not_at_all(monthly, today, unit_a, reporter_a):
    projects = [
        factories.create_project(actor=reporter_a, lead_unit=unit_a, name=f"项目{n}")
        for n in range(3)
    ]
    with tallies.deferred():
        for project in projects:
            services.report_save(
                project=project, period=P("2026-10"), actor=reporter_a, investment=Decimal(10)
            )
        assert not ReportTally.objects.exists()  # noted, not yet refreshed
    # Drafts count no investment; registered today, the projects did not owe October's report.
    assert tally(unit_a, "2026-10") == (Decimal(0), 0, 3)
    assert tallies.differences() == set()

    class Refused(Exception):
        pass

    with pytest.raises(Refused), tallies.deferred():
        services.report_save(
            project=projects[0], period=P("2026-11"), actor=reporter_a, investment=Decimal(5)
        )
        raise Refused
    assert tally(unit_a, "2026-11") is None  # the whole block rolled back, tallies included
    assert not projects[0].reports.filter(period_key="2026-11").exists()


@pytest.mark.django_db(transaction=True)
def test_two_writers_of_one_unit_and_period_are_both_counted(monthly, today, unit_a, reporter_a):
    """Each writer's refresh waits for the other's to commit, so neither count is lost."""
    projects = [  # registered after October: their October reports are counted as not owed
        factories.create_project(
            actor=reporter_a, lead_unit=unit_a, name=f"项目{n}", stage_date=dt.date(2026, 11, 2)
        )
        for n in range(2)
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(project, amount):
        try:
            barrier.wait()
            services.report_save(
                project=project, period=P("2026-10"), actor=reporter_a, investment=Decimal(amount)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=write, args=(project, amount))
        for project, amount in zip(projects, (10, 20), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert tally(unit_a, "2026-10") == (Decimal(0), 0, 2)
    for report in projects[0].reports.all() | projects[1].reports.all():
        with at("2026-11-03"):
            services.report_submit(report=report, actor=reporter_a)
    assert tally(unit_a, "2026-10") == (Decimal(30), 2, 2)
    assert tallies.differences() == set()
