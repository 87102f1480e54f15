"""Alert rules at their boundaries (day before, day of, day after; 9.99 / 10 / 20 points),
idempotent scans, auto-resolution, closed work not lighting, and the lights they set."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects import services
from projects.models import Project, Stage
from supervision.alerts import scan_alerts
from supervision.models import Alert, AlertRule
from tests import factories
from tracker import periods

TZ = ZoneInfo("Asia/Shanghai")


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def at(text: str):
    return time_machine.travel(
        dt.datetime.fromisoformat(text).replace(hour=10, tzinfo=TZ), tick=False
    )


def active(rule: str | None = None):
    alerts = Alert.objects.filter(resolved_at__isnull=True)
    return alerts.filter(rule__key=rule) if rule else alerts


def light(project) -> str:
    return Project.objects.get(pk=project.pk).light


@pytest.fixture(autouse=True)
def _cadence(settings):
    settings.TRACKER_REPORT_CADENCE = "month"
    settings.TRACKER_REPORT_DEADLINE_DAYS = 5


@pytest.fixture
def project(today, unit_a, reporter_a):
    """Registered on 21 November: it owes no report before November's."""
    return factories.create_project(actor=reporter_a, lead_unit=unit_a, name="公路")


@pytest.fixture
def old_project(today, unit_a, reporter_a):
    """Registered in January: it owes every report since."""
    return factories.create_project(
        actor=reporter_a, lead_unit=unit_a, name="水厂", stage_date=dt.date(2026, 1, 5)
    )


@pytest.mark.parametrize(
    ("scan_day", "level"),
    [
        ("2026-10-31", None),  # the due day itself
        ("2026-11-01", "yellow"),  # one day overdue
        ("2026-11-15", "yellow"),  # 15 days
        ("2026-11-16", "red"),  # 16 days
    ],
)
def test_milestone_overdue_boundaries(project, reporter_a, scan_day, level):
    factories.create_milestone(project=project, actor=reporter_a, due_date=day("2026-10-31"))
    scan_alerts(today=day(scan_day))
    levels = list(active("milestone_overdue").values_list("level", flat=True))
    assert levels == ([level] if level else [])
    assert light(project) == (level or "green")


def test_thresholds_are_the_admins(project, reporter_a):
    factories.create_milestone(project=project, actor=reporter_a, due_date=day("2026-11-10"))
    scan_alerts(today=day("2026-11-15"))  # 5 days: yellow by default
    AlertRule.objects.filter(key="milestone_overdue").update(yellow_at=3, red_at=5)
    scan_alerts(today=day("2026-11-15"))
    [alert] = active("milestone_overdue")
    assert (alert.level, alert.value) == ("red", Decimal(5))
    assert Alert.objects.count() == 1  # the same alert, its level raised


def test_a_done_milestone_resolves_its_alert_with_the_time(project, reporter_a):
    milestone = factories.create_milestone(
        project=project, actor=reporter_a, due_date=day("2026-11-01")
    )
    scan_alerts(today=day("2026-11-21"))
    assert light(project) == "red"
    services.milestone_complete(milestone=milestone, actor=reporter_a, done_date=day("2026-11-20"))
    scan_alerts(today=day("2026-11-21"))
    alert = Alert.objects.get()
    assert alert.resolved_at is not None
    assert light(project) == "green"


def test_scanning_twice_writes_nothing_new(project, reporter_a):
    factories.create_milestone(project=project, actor=reporter_a, due_date=day("2026-11-01"))
    first = scan_alerts(today=day("2026-11-21"))
    assert first.opened >= 1
    before = sorted(Alert.objects.values_list())
    second = scan_alerts(today=day("2026-11-21"))
    assert (second.opened, second.changed, second.resolved, second.lights) == (0, 0, 0, 0)
    assert sorted(Alert.objects.values_list()) == before


def test_closed_work_stops_lighting(project, reporter_a):
    factories.create_milestone(project=project, actor=reporter_a, due_date=day("2026-11-01"))
    scan_alerts(today=day("2026-11-21"))
    assert light(project) == "red"
    for stage in ("under_construction", "completed"):
        services.project_change_stage(
            project=project, to_stage=stage, changed_on=day("2026-11-21"), actor=reporter_a
        )
    scan_alerts(today=day("2026-11-21"))
    assert not active().exists()
    assert light(project) == "green"


def test_a_red_card_is_red(project, supervisor):
    services.project_set_red_card(project=project, actor=supervisor, red_card=True, reason="滞后")
    scan_alerts(today=day("2026-11-21"))
    assert light(project) == "red"


@pytest.mark.parametrize(
    ("scan_day", "level"),
    [
        ("2026-03-01", None),
        ("2026-03-02", "yellow"),
        ("2026-03-30", "yellow"),
        ("2026-03-31", "red"),
    ],
)
def test_not_started_boundaries(project, reporter_a, scan_day, level):
    services.year_plan_set(
        project=project,
        year=2026,
        actor=reporter_a,
        planned_investment=Decimal(100),
        planned_start=day("2026-03-01"),
    )
    scan_alerts(today=day(scan_day))
    assert list(active("not_started").values_list("level", flat=True)) == ([level] if level else [])


def _building_with_plan(project, reporter_a, done: Decimal):
    services.project_change_stage(
        project=project,
        to_stage=Stage.UNDER_CONSTRUCTION,
        changed_on=day("2026-02-01"),
        actor=reporter_a,
    )
    services.year_plan_set(
        project=project, year=2026, actor=reporter_a, planned_investment=Decimal(10000)
    )
    report = services.report_save(
        project=project, period=periods.parse("2026-10"), actor=reporter_a, investment=done
    )
    services.report_submit(report=report, actor=reporter_a)


@pytest.mark.parametrize(
    ("done", "level"),
    [
        # Judged at 31 October: 304/365 = 83.2877 % of the year has elapsed; the lag is
        # compared as shown, to the hundredth of a point.
        (Decimal("7329.77"), None),  # 73.2977 % done: 9.99 points behind
        (Decimal("7328.77"), "yellow"),  # 73.2877 %: 10.00 points
        (Decimal("6329.77"), "yellow"),  # 19.99 points
        (Decimal("6328.77"), "red"),  # 20.00 points
    ],
)
def test_investment_lag_boundaries(old_project, reporter_a, today, done, level):
    _building_with_plan(old_project, reporter_a, done)
    scan_alerts(today=day("2026-11-21"))
    alerts = list(active("investment_lag").values_list("level", "value"))
    assert [a[0] for a in alerts] == ([level] if level else [])


def test_report_missing_yellow_then_red_when_two_rounds_running(old_project, reporter_a, today):
    project = old_project
    # On 5 November October's report is not late yet; September's is (due 5 October).
    scan_alerts(today=day("2026-11-05"))
    [alert] = active("report_missing")
    assert (alert.period_key, alert.level) == ("2026-09", "red")  # August missing too
    report = services.report_save(
        project=project, period=periods.parse("2026-09"), actor=reporter_a, investment=1
    )
    services.report_submit(report=report, actor=reporter_a)
    scan_alerts(today=day("2026-11-05"))
    assert not active("report_missing").exists()
    scan_alerts(today=day("2026-11-06"))  # October's is now late; September's was sent
    [alert] = active("report_missing")
    assert (alert.period_key, alert.level) == ("2026-10", "yellow")


@pytest.mark.parametrize(
    ("scan_day", "level"),
    [
        ("2026-03-31", None),
        ("2026-04-01", "yellow"),
        ("2026-06-30", "yellow"),
        ("2026-07-01", "red"),
    ],
)
def test_target_still_at_zero(today, unit_a, supervisor, scan_day, level):
    services.target_set(
        actor=supervisor, unit=unit_a, year=2026, metric="funding", target_value=Decimal(500)
    )
    scan_alerts(today=day(scan_day))
    alerts = list(active("target_zero").values_list("level", "unit_id"))
    assert alerts == ([(level, unit_a.pk)] if level else [])


def test_stalled_after_three_reports_without_investment(old_project, reporter_a, today):
    project = old_project
    services.project_change_stage(
        project=project,
        to_stage=Stage.UNDER_CONSTRUCTION,
        changed_on=day("2026-02-01"),
        actor=reporter_a,
    )
    for key, amount in [("2026-07", 5), ("2026-08", 0), ("2026-09", 0)]:
        report = services.report_save(
            project=project, period=periods.parse(key), actor=reporter_a, investment=amount
        )
        services.report_submit(report=report, actor=reporter_a)
    scan_alerts(today=day("2026-11-05"))  # the last round due is September
    assert not active("stalled").exists()  # two running
    report = services.report_save(
        project=project, period=periods.parse("2026-10"), actor=reporter_a, investment=0
    )
    services.report_submit(report=report, actor=reporter_a)
    scan_alerts(today=day("2026-11-06"))
    [alert] = active("stalled")
    assert (alert.level, alert.value) == ("yellow", Decimal(3))


def test_a_rule_switched_off_resolves_its_alerts(project, reporter_a):
    factories.create_milestone(project=project, actor=reporter_a, due_date=day("2026-11-01"))
    scan_alerts(today=day("2026-11-21"))
    AlertRule.objects.filter(key="milestone_overdue").update(is_active=False)
    scan_alerts(today=day("2026-11-21"))
    assert not active("milestone_overdue").exists()


def test_saving_a_milestone_refreshes_the_light_on_commit(
    today, unit_a, reporter_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        project = factories.create_project(actor=reporter_a, lead_unit=unit_a, name="桥")
        factories.create_milestone(project=project, actor=reporter_a, due_date=day("2026-10-01"))
    # One re-evaluation for the whole transaction (the scan adds its own after-commit work).
    assert [getattr(c, "__name__", "") for c in callbacks].count("_flush") == 1
    assert light(project) == "red"  # 51 days overdue on 21 November


def test_scan_alerts_command(project, reporter_a, capsys):
    factories.create_milestone(project=project, actor=reporter_a, due_date=day("2026-11-10"))
    call_command("scan_alerts", "--date", "2026-11-21")
    assert "1 alert(s) opened" in capsys.readouterr().out
    assert light(project) == "yellow"


def test_home_shows_the_stored_light(client, project, reporter_a):
    factories.create_milestone(project=project, actor=reporter_a, due_date=day("2026-10-01"))
    scan_alerts(today=day("2026-11-21"))
    client.force_login(reporter_a)
    assert 'class="light red"' in client.get("/").content.decode()


# --- the alert board and the API ----------------------------------------------------------------


@pytest.fixture
def lit(today, unit_a, unit_b, reporter_a, reporter_b, supervisor, project_a, project_b):
    factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=day("2026-10-01"), name="征地完成"
    )
    factories.create_milestone(
        project=project_b, actor=reporter_b, due_date=day("2026-11-15"), name="大坝浇筑"
    )
    services.target_set(
        actor=supervisor, unit=unit_b, year=2026, metric="funding", target_value=Decimal(100)
    )
    scan_alerts(today=day("2026-11-21"))


@pytest.mark.parametrize(
    ("persona", "seen", "hidden"),
    [
        ("reporter_a", ["征地完成"], ["大坝浇筑"]),
        ("reporter_b", ["大坝浇筑"], ["征地完成"]),
        ("supervisor", ["征地完成", "大坝浇筑"], []),
    ],
)
def test_alert_board_by_persona(client, request, lit, persona, seen, hidden):
    client.force_login(request.getfixturevalue(persona))
    page = client.get("/supervision/alerts/").content.decode()
    for name in seen:
        assert name in page
    for name in hidden:
        assert name not in page


def test_alert_board_filters_and_needs_a_login(client, lit, supervisor):
    assert client.get("/supervision/alerts/").status_code == 302
    client.force_login(supervisor)
    red = client.get("/supervision/alerts/?rule=milestone_overdue&level=red").content.decode()
    assert "征地完成" in red and "大坝浇筑" not in red
    nonsense = client.get("/supervision/alerts/?rule=nope&level=purple")
    assert nonsense.status_code == 200  # unknown filters are ignored, not an error


def test_alert_board_keeps_a_fixed_number_of_queries(
    client, lit, supervisor, reporter_a, project_a
):
    client.force_login(supervisor)
    client.get("/supervision/alerts/")
    with CaptureQueriesContext(connection) as before:
        client.get("/supervision/alerts/")
    for n in range(5):
        factories.create_milestone(
            project=project_a, actor=reporter_a, due_date=day("2026-09-01"), name=f"节点{n}"
        )
    scan_alerts(today=day("2026-11-21"))
    with CaptureQueriesContext(connection) as after:
        client.get("/supervision/alerts/")
    assert len(after.captured_queries) == len(before.captured_queries) == 6


def test_alerts_api(client, lit, reporter_a, reporter_b, project_a):
    from django.core.cache import cache

    from tests.test_api_resources import assert_error, bearer, make_token

    cache.clear()
    assert_error(client.get("/api/v1/alerts/"), 401, "not_authenticated")
    body = client.get("/api/v1/alerts/", headers=bearer(make_token(reporter_a))).json()
    assert {(a["rule"], a["project"]) for a in body["results"]} == {
        ("milestone_overdue", project_a.pk)
    }
    b = bearer(make_token(reporter_b))
    rules = {a["rule"] for a in client.get("/api/v1/alerts/", headers=b).json()["results"]}
    assert rules == {"milestone_overdue", "target_zero"}  # 水利局's target has not broken zero
    only = client.get("/api/v1/alerts/?rule=target_zero&active=true", headers=b).json()
    assert [a["level"] for a in only["results"]] == ["red"]  # after the half-year
    assert_error(client.get("/api/v1/alerts/?level=purple", headers=b), 400, "invalid")


def test_a_bundle_is_judged_through_its_sub_projects(today, unit_a, reporter_a):
    bundle = factories.create_project(
        actor=reporter_a, lead_unit=unit_a, name="农村公路打捆", stage_date=day("2026-01-05")
    )
    factories.create_project(
        actor=reporter_a,
        lead_unit=unit_a,
        name="一标段",
        parent=bundle,
        stage_date=day("2026-01-05"),
    )
    services.project_change_stage(
        project=bundle,
        to_stage="under_construction",
        changed_on=day("2026-02-01"),
        actor=reporter_a,
    )
    services.year_plan_set(project=bundle, year=2026, actor=reporter_a, planned_investment=100)
    scan_alerts(today=day("2026-11-21"))
    assert not active("investment_lag").filter(project=bundle).exists()
    assert not active("report_missing").filter(project=bundle).exists()


def test_the_board_lists_red_before_yellow(client, lit, supervisor):
    client.force_login(supervisor)
    page = client.get("/supervision/alerts/").content.decode()
    assert page.index("征地完成") < page.index("大坝浇筑")  # 51 days (red) before 6 days


def test_alerts_api_keeps_a_fixed_number_of_queries(client, lit, supervisor, reporter_a, project_a):
    from django.core.cache import cache

    from tests.test_api_resources import bearer, make_token

    cache.clear()
    auth = bearer(make_token(supervisor))
    client.get("/api/v1/me/", headers=auth)  # the token's first use records it

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, headers=auth).status_code == 200
        return len(queries.captured_queries)

    before = count("/api/v1/alerts/?page_size=10")
    for n in range(12):
        factories.create_milestone(
            project=project_a, actor=reporter_a, due_date=day("2026-09-01"), name=f"节点{n}"
        )
    scan_alerts(today=day("2026-11-21"))
    assert count("/api/v1/alerts/?page_size=100") == before
