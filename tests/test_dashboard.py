"""The leaders' dashboard: every figure of a known county checked exactly, the same numbers in the
page, the API and the Excel export, the drill-down lists, the chosen date, bad input, scope and a
fixed number of queries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from django.utils import timezone

from projects import services
from projects.models import Project, Stage
from supervision import rankings
from supervision.dashboard import figures as dashboard_figures
from supervision.issues import services as ledger
from supervision.models import (
    Alert,
    AlertRule,
    DashboardSnapshot,
    Issue,
    IssueStatus,
    RankingScheme,
    SchemeMetric,
)
from tests import factories
from tests.support.api import assert_error
from tests.support.files import xlsx_rows
from tests.support.pages import count_queries
from tracker import periods

TZ = ZoneInfo("Asia/Shanghai")


def at(day: str):
    return time_machine.travel(
        dt.datetime.fromisoformat(day).replace(hour=10, tzinfo=TZ), tick=False
    )


def P(key: str) -> periods.Period:
    return periods.parse(key)


def _report(project, key, amount, actor, *, submit=True, approve_by=None):
    report = services.report_save(
        project=project, period=P(key), actor=actor, investment=Decimal(amount)
    )
    if submit:
        services.report_submit(report=report, actor=actor)
        if approve_by is not None:
            report.refresh_from_db()
            services.report_approve(report=report, actor=approve_by)
    return report


def _alert(project, level, opened, resolved=None, key="milestone_overdue"):
    rule, _ = AlertRule.objects.get_or_create(
        key=key, defaults={"yellow_at": Decimal(1), "red_at": Decimal(15)}
    )
    return Alert.objects.create(
        rule=rule,
        subject=f"project:{project.pk}:{level}",
        period_key="",
        project=project,
        unit=project.lead_unit,
        level=level,
        value=Decimal(1),
        opened_at=dt.datetime.fromisoformat(opened).replace(tzinfo=TZ),
        resolved_at=dt.datetime.fromisoformat(resolved).replace(tzinfo=TZ) if resolved else None,
    )


@pytest.fixture
def world(today, county, unit_a, unit_b, reporter_a, reporter_b, supervisor, head_a, settings):
    """Five counted projects (and a cancelled one and a bundle that are not), plans, reports of
    this year and last, stage histories, lights, ledger issues and funding targets."""
    settings.TRACKER_REPORT_CADENCE = "month"
    settings.TRACKER_REPORT_DEADLINE_DAYS = 5
    t1 = factories.UnitFactory(name="龙河镇", kind="township", parent=county)
    t2 = factories.UnitFactory(name="白沙镇", kind="township", parent=county)
    jan5 = dt.date(2026, 1, 5)

    def project(actor, unit, name, **fields):
        fields.setdefault("level", "county")
        return factories.create_project(
            actor=actor, lead_unit=unit, name=name, stage_date=jan5, **fields
        )

    p1 = project(
        reporter_a,
        unit_a,
        "城区公路",
        category="transport",
        tier="tertiary",
        level="provincial",
        township=t1,
        total_investment=Decimal(12000),
    )
    p2 = project(
        reporter_a,
        unit_a,
        "引水工程",
        category="water",
        tier="primary",
        township=t2,
        total_investment=Decimal(6000),
        is_private=True,
        source="attraction",
    )
    p3 = project(
        reporter_b,
        unit_b,
        "物流园",
        category="transport",
        tier="secondary",
        total_investment=Decimal(3000),
        source="attraction",
    )
    p4 = project(
        reporter_b,
        unit_b,
        "工业厂房",
        category="industry",
        level="city",
        township=t1,
        total_investment=Decimal(20000),
    )
    cancelled = project(reporter_b, unit_b, "已取消项目", category="water")
    bundle = project(
        reporter_a, unit_a, "打捆项目", category="ecology", total_investment=Decimal(50000)
    )
    p7 = project(
        reporter_a,
        unit_a,
        "生态修复",
        category="ecology",
        township=t2,
        total_investment=Decimal(2000),
        parent=bundle,
    )
    stage = services.project_change_stage
    stage(
        project=p1,
        to_stage=Stage.UNDER_CONSTRUCTION,
        changed_on=dt.date(2026, 3, 1),
        actor=reporter_a,
    )
    stage(project=p2, to_stage=Stage.SIGNED, changed_on=dt.date(2026, 2, 1), actor=reporter_a)
    stage(
        project=p2,
        to_stage=Stage.UNDER_CONSTRUCTION,
        changed_on=dt.date(2026, 4, 2),
        actor=reporter_a,
    )
    stage(project=p2, to_stage=Stage.OPERATING, changed_on=dt.date(2026, 10, 1), actor=reporter_a)
    stage(project=p3, to_stage=Stage.SIGNED, changed_on=dt.date(2026, 3, 1), actor=reporter_b)
    stage(
        project=p3,
        to_stage=Stage.UNDER_CONSTRUCTION,
        changed_on=dt.date(2026, 3, 11),
        actor=reporter_b,
    )
    stage(
        project=cancelled,
        to_stage=Stage.CANCELLED,
        changed_on=dt.date(2026, 5, 1),
        actor=reporter_b,
    )
    for p, actor, amount in (
        (p1, reporter_a, 1000),
        (p2, reporter_a, 500),
        (p3, reporter_b, 800),
        (bundle, reporter_a, 9000),
        (cancelled, reporter_b, 700),
    ):
        services.year_plan_set(
            project=p, year=2026, actor=actor, planned_investment=Decimal(amount)
        )
    _report(p1, "2026-09", 300, reporter_a)
    _report(p1, "2026-10", 200, reporter_a, approve_by=head_a)
    _report(p1, "2025-10", 150, reporter_a)
    _report(p1, "2025-11", 80, reporter_a)  # after the same day last year: not counted
    _report(p2, "2026-10", 100, reporter_a)
    _report(p2, "2026-08", 999, reporter_a, submit=False)  # a draft never counts
    _report(p2, "2026-11", 50, reporter_a)  # the period has not ended: not counted
    _report(cancelled, "2026-03", 40, reporter_b)
    _alert(p1, "red", "2026-11-01T09:00")
    _alert(p2, "yellow", "2026-11-02T09:00")
    _alert(p2, "red", "2026-11-03T09:00", resolved="2026-11-15T09:00")
    _alert(p3, "yellow", "2026-10-01T09:00", resolved="2026-11-10T09:00")
    # The lights the alert scan writes on the projects for today.
    Project.objects.filter(pk=p1.pk).update(light="red")
    Project.objects.filter(pk=p2.pk).update(light="yellow")

    def issue(unit, title, deadline, **changes):
        made = ledger.issue_raise(
            actor=supervisor,
            title=title,
            source="upper",
            category="construction",
            unit=unit,
            deadline=dt.date(2026, 12, 31),
        )
        Issue.objects.filter(pk=made.pk).update(deadline=deadline, **changes)
        return made

    issue(unit_a, "进度滞后", dt.date(2026, 11, 1), status=IssueStatus.OPEN, level=2)
    issue(unit_b, "手续未办", dt.date(2026, 11, 10), status=IssueStatus.IN_PROGRESS)
    issue(unit_b, "尚未到期", dt.date(2026, 12, 1), status=IssueStatus.OPEN)
    issue(
        unit_a,
        "已销号",
        dt.date(2026, 10, 1),
        status=IssueStatus.CLOSED,
        level=3,
        closed_at=timezone.now(),
    )
    services.target_set(
        actor=supervisor, unit=unit_a, year=2026, metric="funding", target_value=Decimal(1000)
    )
    services.target_set(
        actor=supervisor, unit=unit_b, year=2026, metric="funding", target_value=Decimal(500)
    )
    target = services.target_set(
        actor=supervisor, unit=unit_a, year=2026, metric="projects_started", target_value=Decimal(2)
    )
    services.target_record_actual(target=target, actual_value=Decimal(1), actor=reporter_a)
    funding_a = unit_a.targets.get(metric="funding")
    services.target_record_actual(target=funding_a, actual_value=Decimal(400), actor=reporter_a)
    return {"t1": t1, "t2": t2, "p1": p1, "p2": p2, "p3": p3, "p4": p4, "p7": p7}


def test_every_figure_of_a_known_county(world, county, unit_a, unit_b, today):
    data = dashboard_figures.compute(today)[county.pk]
    assert data["through"] == dt.date(2026, 10, 31)
    assert data["projects"] == {"count": 5, "total_investment": Decimal("43000.00")}
    assert data["investment"] == {
        "plan": Decimal("2300.00"),
        "ytd": Decimal("600.00"),
        "ytd_share": Decimal("26.1"),
        "elapsed_share": Decimal("83.3"),  # 304 of 365 days
        "gap": Decimal("-57.2"),
        "last_year_ytd": Decimal("150.00"),
        "growth": Decimal("300.0"),
    }
    assert data["progress"] == {
        "started": 3,
        "not_started": 2,
        "completed": 1,
        "started_share": Decimal("60.0"),
        "completed_share": Decimal("20.0"),
    }
    categories = {row["key"]: row for row in data["by_category"]}
    assert categories["transport"] == {
        "key": "transport",
        "count": 2,
        "share": Decimal("40.0"),
        "total_investment": Decimal("15000.00"),
        "plan": Decimal("1800.00"),
        "ytd": Decimal("500.00"),
    }
    assert categories["water"]["count"] == 1 and categories["water"]["ytd"] == Decimal("100.00")
    assert categories["industry"]["plan"] == Decimal("0.00")
    assert set(categories) == {"transport", "water", "industry", "ecology"}
    assert {r["key"]: r["count"] for r in data["by_tier"]} == {
        "primary": 1,
        "secondary": 1,
        "tertiary": 1,
        "": 2,
    }
    assert {r["key"]: (r["count"], r["share"]) for r in data["by_level"]} == {
        "provincial": (1, Decimal("20.0")),
        "city": (1, Decimal("20.0")),
        "county": (3, Decimal("60.0")),
    }
    townships = {r["name"]: r for r in data["by_township"]}
    assert townships["龙河镇"]["count"] == 2
    assert townships["龙河镇"]["total_investment"] == Decimal("32000.00")
    assert townships["龙河镇"]["plan"] == Decimal("1000.00")
    assert townships["龙河镇"]["ytd"] == Decimal("500.00")
    assert townships["白沙镇"]["count"] == 2 and townships["白沙镇"]["ytd"] == Decimal("100.00")
    assert data["without_township"] == 1
    assert data["size"] == {
        "over_100m": {
            "count": 2,
            "share": Decimal("40.0"),
            "total_investment": Decimal("32000.00"),
        },
        "over_50m": {"count": 3, "share": Decimal("60.0"), "total_investment": Decimal("38000.00")},
    }
    assert data["private"] == {
        "count": 1,
        "total_investment": Decimal("6000.00"),
        "share": Decimal("14.0"),  # of total investment: 6000 / 43000
    }
    assert data["funnel"] == {
        "signed": 2,
        "started": 2,
        "producing": 1,
        "start_rate": Decimal("100.0"),
        "produce_rate": Decimal("50.0"),
        "median_days_to_start": Decimal("35.0"),  # 60 and 10 days
        "median_days_to_produce": Decimal("182"),
    }
    assert data["funding"]["target"] == Decimal("1500.00")
    assert data["funding"]["actual"] == Decimal("400.00")
    assert data["funding"]["rate"] == Decimal("26.7")
    assert [
        (r["name"], r["target"], r["actual"], r["rate"]) for r in data["funding"]["by_unit"]
    ] == [
        ("交通运输局", Decimal("1000.00"), Decimal("400.00"), Decimal("40.0")),
        ("水利局", Decimal("500.00"), Decimal("0.00"), Decimal("0.0")),
    ]
    assert data["targets_at_zero"] == [{"id": unit_b.pk, "name": "水利局", "metric": "funding"}]
    assert data["lights"] == {"red": 1, "yellow": 1, "green": 3}
    assert data["issues"]["overdue"] == 2
    assert {r["level"]: r["count"] for r in data["issues"]["by_level"]} == {
        0: 1,
        1: 0,
        2: 1,
        3: 0,
        4: 0,
        5: 0,
    }
    assert [m["month"] for m in data["monthly"]] == list(range(1, 11))
    assert data["monthly"][8]["ytd"] == Decimal("300.00")  # September, cumulative
    assert data["monthly"][9]["ytd"] == Decimal("600.00")
    assert data["monthly"][9]["last_year"] == Decimal("150.00")
    assert data["monthly"][9]["schedule"] == Decimal("1915.62")  # 2300 × 304/365
    # A department's scope is its own projects.
    a = dashboard_figures.compute(today)[unit_a.pk]
    assert a["projects"]["count"] == 3
    assert a["investment"]["ytd"] == Decimal("600.00")
    assert a["issues"]["overdue"] == 1
    # No report at all last year: no figure to compare with, rather than a zero.
    b = dashboard_figures.compute(today)[unit_b.pk]
    assert b["investment"]["last_year_ytd"] is None
    assert b["investment"]["growth"] is None
    assert b["monthly"][9]["last_year"] is None


def test_an_earlier_date_sees_the_county_as_it_was(world, county):
    data = dashboard_figures.compute(dt.date(2026, 3, 5))[county.pk]
    assert data["through"] == dt.date(2026, 2, 28)
    assert data["progress"]["started"] == 1  # only the road had started on 1 March
    assert data["projects"]["count"] == 6  # the cancelled project was still live
    assert data["funnel"]["signed"] == 2  # both signed (1 February, 1 March), neither started
    assert data["funnel"]["started"] == 0
    assert data["investment"]["ytd"] == Decimal("0.00")
    assert data["lights"] == {"red": 0, "yellow": 0, "green": 6}
    mid_november = dashboard_figures.compute(dt.date(2026, 11, 12))[county.pk]
    assert mid_november["lights"] == {"red": 2, "yellow": 0, "green": 3}


def test_refresh_is_idempotent_and_the_page_reads_the_stored_row(
    world, client, leader, county, today
):
    assert dashboard_figures.refresh(today) == dashboard_figures.refresh(today)
    rows = DashboardSnapshot.objects.filter(date=today)
    assert rows.count() == rows.values("unit").distinct().count() > 0
    stored = DashboardSnapshot.objects.get(unit=county, date=today)
    # Data corrected after the nightly run shows once recomputed, not before.
    Project.objects.filter(pk=world["p4"].pk).update(total_investment=Decimal(30000))
    client.force_login(leader)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert response.context["data"]["projects"]["total_investment"] == "43000.00"
    response = client.post("/dashboard/refresh/", {"unit": county.pk, "date": today.isoformat()})
    assert response.status_code == 302
    stored.refresh_from_db()
    assert stored.data["projects"]["total_investment"] == "53000.00"


def _headline(response) -> dict[str, str]:
    return {f.key: f.value for f in response.context["headline"]}


def test_page_api_and_excel_show_the_same_numbers(world, client, leader, county, today, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    client.force_login(leader)
    page = client.get("/dashboard/", {"unit": county.pk, "date": today.isoformat()})
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("4.30亿元", "2,300万元", "600万元", "26.1%", "83.3%", "-57.2", "300.0%"):
        assert text in html, text
    api = client.get("/api/v1/dashboard/", {"unit": county.pk, "date": today.isoformat()})
    assert api.status_code == 200
    figures = api.json()["figures"]
    assert figures["investment"]["ytd_share"] == "26.1"
    assert figures["projects"] == {"count": 5, "total_investment": "43000.00"}
    xlsx = client.get("/dashboard/export.xlsx", {"unit": county.pk, "date": today.isoformat()})
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(BytesIO(xlsx.content))
    overview = {row[0]: row[1] for row in book.worksheets[0].iter_rows(min_row=5, values_only=True)}
    headline = _headline(page)
    assert len(overview) == len(headline)
    shown = [Decimal(str(v)) if v is not None else None for v in overview.values()]
    expected = [Decimal(str(v)) if v is not None else None for v in headline.values()]
    assert shown == expected
    assert Decimal(str(overview["年度计划"])) == Decimal(figures["investment"]["plan"])
    categories = {row[0]: row[1:] for row in book["分行业"].iter_rows(min_row=2, values_only=True)}
    transport = next(r for r in figures["by_category"] if r["key"] == "transport")
    assert categories["交通"][0] == transport["count"]
    assert Decimal(str(categories["交通"][1])) == Decimal(transport["share"])


def test_each_figure_links_to_the_list_behind_it(world, client, leader, county, today):
    client.force_login(leader)
    page = client.get("/dashboard/", {"unit": county.pk})
    links = {f.key: f.url for f in page.context["headline"] if f.url}
    data = page.context["data"]

    def listed(url: str) -> int:
        response = client.get(url)
        assert response.status_code == 200, url
        return response.context["page_obj"].paginator.count

    assert listed(links["projects"]) == data["projects"]["count"] == 5
    assert listed(links["started"]) == data["progress"]["started"]
    assert listed(links["not_started"]) == data["progress"]["not_started"]
    assert listed(links["completed"]) == data["progress"]["completed"]
    assert listed(links["red"]) == 1
    for row in page.context["by_category"] + page.context["by_township"] + page.context["size"]:
        assert listed(row["url"]) == row["count"], row["url"]
    for step in page.context["funnel_steps"]:
        assert listed(step["url"]) == step["count"], step["url"]
    issues = client.get(links["overdue_issues"])
    assert issues.status_code == 200
    assert issues.context["page_obj"].paginator.count == data["issues"]["overdue"]
    supervised = next(r for r in page.context["overdue"] if r["level"] == 2)
    assert client.get(supervised["url"]).context["page_obj"].paginator.count == 1


def test_bad_dates_and_units_are_refused_in_chinese(
    world, client, leader, county, unit_a, reporter_a
):
    client.force_login(leader)
    before = DashboardSnapshot.objects.count()
    response = client.get("/dashboard/", {"date": "2026-13-45"})
    assert response.status_code == 400
    assert "不是有效日期" in response.content.decode()
    response = client.get("/dashboard/", {"date": "2030-01-01"})
    assert response.status_code == 400
    assert "不能晚于今天" in response.content.decode()
    api = client.get("/api/v1/dashboard/", {"date": "yesterday"})
    assert api.status_code == 400
    assert "date" in api.json()["details"]
    # A department's reporter cannot open the county, and the API says so in JSON.
    client.force_login(reporter_a)
    assert client.get("/dashboard/", {"unit": county.pk}).status_code == 403
    assert client.get("/api/v1/dashboard/", {"unit": county.pk}).status_code == 403
    assert client.get("/api/v1/dashboard/", {"unit": "abc"}).status_code == 400
    assert client.get(f"/units/{county.pk}/").status_code == 404
    # Their own unit is the default.
    response = client.get("/dashboard/")
    assert response.status_code == 200
    assert response.context["unit"] == unit_a
    assert not DashboardSnapshot.objects.filter(date__gt=dt.date(2026, 11, 21)).exists()
    assert DashboardSnapshot.objects.count() >= before


def test_the_page_keeps_a_fixed_number_of_queries(
    world, client, leader, county, reporter_a, unit_a, today
):
    client.force_login(leader)
    dashboard_figures.refresh(today)
    few = count_queries(client, "/dashboard/")
    scorecard = count_queries(client, f"/units/{unit_a.pk}/")
    for n in range(12):
        project = factories.create_project(
            actor=reporter_a, lead_unit=unit_a, name=f"新项目{n}", category="energy"
        )
        _alert(project, "red", "2026-11-05T09:00")
    dashboard_figures.refresh(today)
    assert count_queries(client, "/dashboard/") == few <= 12
    assert count_queries(client, f"/units/{unit_a.pk}/") == scorecard <= 16


def test_latest_rankings_with_movement(world, client, leader, county, supervisor, today):
    scheme = RankingScheme.objects.create(
        name="县直部门月度排名",
        parent_unit=county,
        child_kinds=["department"],
        cadence="month",
        top_count=1,
        bottom_count=1,
        starts_on=dt.date(2026, 7, 1),
    )
    SchemeMetric.objects.create(scheme=scheme, metric="investment_rate", weight=1)
    for key in ("2026-09", "2026-10"):
        snapshot = rankings.ranking_compute(scheme=scheme, period=P(key))
        rankings.ranking_publish(snapshot=snapshot, actor=supervisor)
    client.force_login(leader)
    page = client.get("/dashboard/")
    boards = page.context["rankings"]
    assert [b["scheme"] for b in boards] == ["县直部门月度排名"]
    assert boards[0]["period"] == P("2026-10").label
    assert {e["unit"] for e in boards[0]["entries"]} == {"交通运输局", "水利局"}
    assert "县直部门月度排名" in page.content.decode()
    # Both were published today: yesterday's dashboard had none.
    early = client.get("/dashboard/", {"date": "2026-11-20"})
    assert early.context["rankings"] == []


def test_unit_scorecard(world, client, leader, unit_a, supervisor, county, today):
    client.force_login(leader)
    response = client.get(f"/units/{unit_a.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "城区公路" in html and "进度滞后" in html
    assert "已销号" not in html  # closed items are not open ledger items
    assert next(p.name for p in response.context["projects"]) == "城区公路"  # red first
    targets = {t["label"]: t for t in response.context["targets"]}
    assert len(targets) == 2
    assert any(t["rate"] == Decimal("40.0") for t in targets.values())


def test_the_nightly_task_runs_after_the_alert_scan(world, county):
    from supervision import tasks
    from tracker.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    with at("2026-11-22"):
        tasks.scan_alerts.delay()
        assert DashboardSnapshot.objects.filter(unit=county, date=timezone.localdate()).exists()
    app.conf.task_always_eager = previous


def test_one_number_in_the_dashboard_its_excel_the_api_and_the_bulletin(
    world, client, leader, county, supervisor, today
):
    from supervision.bulletins import bulletin_for

    scheme = RankingScheme.objects.create(
        name="县直部门月度排名",
        parent_unit=county,
        child_kinds=["department"],
        cadence="month",
        top_count=1,
        bottom_count=1,
        starts_on=dt.date(2026, 7, 1),
    )
    SchemeMetric.objects.create(scheme=scheme, metric="investment_rate", weight=1)
    snapshot = rankings.ranking_compute(scheme=scheme, period=P("2026-10"))
    rankings.ranking_publish(snapshot=snapshot, actor=supervisor)
    snapshot.refresh_from_db()
    bulletin = bulletin_for(snapshot)
    client.force_login(leader)
    api = client.get("/api/v1/dashboard/").json()
    figures = api["figures"]
    # Red-light projects and overdue issues: the dashboard's count is the bulletin's list.
    assert figures["lights"]["red"] == len(bulletin.red_projects) == 1
    overdue = [line for line in bulletin.issues if line.days_overdue > 0]
    assert figures["issues"]["overdue"] == len(overdue) == 2
    # The ranking: rank and score of each unit the dashboard shows, as the bulletin states them.
    stated = {row.unit: (row.rank, row.score) for row in bulletin.rows}
    (board,) = api["rankings"]
    assert board["entries"]
    for entry in board["entries"]:
        assert (entry["rank"], Decimal(entry["score"])) == stated[entry["unit"]]
    xlsx = client.get(f"/rankings/{snapshot.pk}/bulletin.xlsx")
    header_first = client.get(f"/rankings/{snapshot.pk}/bulletin/").context["ranking_header"][0]
    table, _text = xlsx_rows(xlsx.content, header_first)
    for unit, rank, score in table:
        assert (int(rank), Decimal(score)) == stated[unit]
    # The dashboard's own Excel download states the same red count and overdue issues.
    export = client.get("/dashboard/export.xlsx")
    book = openpyxl.load_workbook(BytesIO(export.content))
    overview = {row[0]: row[1] for row in book.worksheets[0].iter_rows(min_row=5, values_only=True)}
    assert overview["红灯项目"] == figures["lights"]["red"]
    assert overview["逾期问题"] == figures["issues"]["overdue"]


# --- past days: bounded --------------------------------------------------------------------------


def test_a_day_outside_the_plausible_window_is_refused(world, client, leader, today):
    client.force_login(leader)
    page = client.get("/dashboard/", {"date": "0001-01-01"})
    assert page.status_code == 400
    assert "请填写 2000-01-01 至 2100-12-31 之间的日期" in page.content.decode()
    api = client.get("/api/v1/dashboard/", {"date": "1999-12-31"})
    assert api.status_code == 400
    assert api.json()["details"]["date"] == ["请填写 2000-01-01 至 2100-12-31 之间的日期。"]
    # Only today's figures, which the page shows instead, were computed.
    assert not DashboardSnapshot.objects.exclude(date=today).exists()


def test_a_day_before_the_unit_has_data_is_refused_and_nothing_is_computed(
    world, client, leader, county, supervisor
):
    # The county's first project was registered on 5 January 2026.
    assert dashboard_figures.data_since(county) == dt.date(2026, 1, 5)
    client.force_login(leader)
    page = client.get("/dashboard/", {"unit": county.pk, "date": "2026-01-04"})
    assert page.status_code == 400
    assert "平台上示范县的数据始于2026-01-05，此前没有数据。" in page.content.decode()
    assert page.context["day"] == dt.date(2026, 11, 21)  # today's figures instead
    api = client.get("/api/v1/dashboard/", {"unit": county.pk, "date": "2001-06-01"})
    assert api.status_code == 400
    assert "2026-01-05" in api.json()["details"]["date"][0]
    assert not DashboardSnapshot.objects.filter(date__lt=dt.date(2026, 1, 5)).exists()
    # The first day itself is computed.
    first = client.get("/api/v1/dashboard/", {"unit": county.pk, "date": "2026-01-05"})
    assert first.status_code == 200
    assert first.json()["figures"]["projects"]["count"] == 6
    # A unit with no data at all: only today.
    empty = factories.UnitFactory(name="新设局", kind="department", parent=county)
    client.force_login(supervisor)
    api = client.get("/api/v1/dashboard/", {"unit": empty.pk, "date": "2026-11-20"})
    assert api.status_code == 400
    assert api.json()["details"]["date"] == ["平台尚无新设局的数据，只能查看今天的数据。"]
    assert client.get("/api/v1/dashboard/", {"unit": empty.pk}).status_code == 200


def test_cold_past_days_are_computed_a_few_times_a_minute_per_person(
    world, client, leader, supervisor, county, settings
):
    settings.TRACKER_DASHBOARD_COMPUTATIONS_PER_MINUTE = 2
    client.force_login(leader)
    for day in ("2026-10-01", "2026-10-02"):
        response = client.get("/api/v1/dashboard/", {"unit": county.pk, "date": day})
        assert response.status_code == 200, response.content
    # A third day not computed before: the budget is spent, nothing computed.
    api = client.get("/api/v1/dashboard/", {"unit": county.pk, "date": "2026-10-03"})
    error = assert_error(api, 429, "throttled")
    assert error["message"].startswith("尚未统计过的日期，每人每分钟最多统计 2 次")
    assert 1 <= int(api["Retry-After"]) == error["details"]["retry_after"] <= 60
    page = client.get("/dashboard/", {"unit": county.pk, "date": "2026-10-03"})
    assert page.status_code == 429
    assert "尚未统计过的日期" in page.content.decode()
    assert page.context["day"] == dt.date(2026, 11, 21)  # today's figures, never throttled
    export = client.get("/dashboard/export.xlsx", {"unit": county.pk, "date": "2026-10-03"})
    assert export.status_code == 429
    assert not DashboardSnapshot.objects.filter(date=dt.date(2026, 10, 3)).exists()
    # Days already computed are always shown.
    again = client.get("/api/v1/dashboard/", {"unit": county.pk, "date": "2026-10-01"})
    assert again.status_code == 200
    # The budget is each person's, and renews after the minute.
    client.force_login(supervisor)
    assert client.get("/api/v1/dashboard/", {"date": "2026-10-03"}).status_code == 200
    client.force_login(leader)
    with time_machine.travel(dt.datetime(2026, 11, 21, 10, 1, 1, tzinfo=TZ), tick=False):
        later = client.get("/api/v1/dashboard/", {"unit": county.pk, "date": "2026-10-04"})
    assert later.status_code == 200


def test_recomputing_is_budgeted_too(world, client, leader, county, today, settings):
    settings.TRACKER_DASHBOARD_COMPUTATIONS_PER_MINUTE = 1
    client.force_login(leader)
    params = {"unit": county.pk, "date": today.isoformat()}
    client.post("/dashboard/refresh/", params)
    stored = DashboardSnapshot.objects.get(unit=county, date=today)
    response = client.post("/dashboard/refresh/", params, follow=True)
    assert "尚未统计过的日期" in response.content.decode()
    assert DashboardSnapshot.objects.get(unit=county, date=today).computed_at == stored.computed_at
    # Nor can it compute a day before the unit's data.
    response = client.post(
        "/dashboard/refresh/", {"unit": county.pk, "date": "2025-06-01"}, follow=True
    )
    assert "此前没有数据" in response.content.decode()
    assert not DashboardSnapshot.objects.filter(date=dt.date(2025, 6, 1)).exists()
