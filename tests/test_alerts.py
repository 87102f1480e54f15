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
from supervision.alerts import ensure_rules, scan_alerts
from supervision.issues import services as ledger
from supervision.models import (
    Alert,
    AlertRule,
    EscalationLevel,
    IssueCategory,
    IssueEventKind,
    IssueSource,
)
from tests import factories
from tests.support.api import assert_error, bearer, make_token
from tests.support.pages import count_queries
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
        ("2026-10-30", None),  # the day before it is due
        ("2026-10-31", None),  # the due day itself
        ("2026-11-01", "yellow"),  # one day overdue
        ("2026-11-02", "yellow"),  # two days
        ("2026-11-15", "yellow"),  # 15 days
        ("2026-11-16", "red"),  # 16 days
        ("2026-11-17", "red"),  # 17 days
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


def test_a_scan_stopped_before_the_lights_leaves_alerts_and_lights_as_they_were(
    project, reporter_a, monkeypatch
):
    factories.create_milestone(project=project, actor=reporter_a, due_date=day("2026-11-01"))
    assert light(project) == "green"  # the save's own scan ran at its (earlier) date

    def killed(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr("supervision.alerts.update_lights", killed)
    with pytest.raises(SystemExit):
        scan_alerts(today=day("2026-11-21"))
    assert not Alert.objects.filter(resolved_at__isnull=True).exists()
    assert light(project) == "green"

    monkeypatch.undo()
    scan_alerts(today=day("2026-11-21"))
    assert light(project) == "red" and Alert.objects.filter(resolved_at__isnull=True).exists()


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
        ("2026-02-28", None),  # before the planned start
        ("2026-03-01", None),  # the planned start itself
        ("2026-03-02", "yellow"),  # one day late
        ("2026-03-03", "yellow"),
        ("2026-03-30", "yellow"),  # 29 days
        ("2026-03-31", "red"),  # 30 days
        ("2026-04-01", "red"),
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
        (Decimal("7338.77"), None),  # 73.3877 % done: 9.90 points behind
        (Decimal("7329.77"), None),  # 73.2977 % done: 9.99 points behind
        (Decimal("7328.77"), "yellow"),  # 73.2877 %: 10.00 points
        (Decimal("7327.77"), "yellow"),  # 10.01 points
        (Decimal("6329.77"), "yellow"),  # 19.99 points
        (Decimal("6328.77"), "red"),  # 20.00 points
        (Decimal("6327.77"), "red"),  # 20.01 points
    ],
)
def test_investment_lag_boundaries(old_project, reporter_a, today, done, level):
    _building_with_plan(old_project, reporter_a, done)
    scan_alerts(today=day("2026-11-21"))
    alerts = list(active("investment_lag").values_list("level", "value"))
    assert [a[0] for a in alerts] == ([level] if level else [])
    assert light(old_project) == (level or "green")


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
        ("2026-03-31", None),  # the first quarter's last day
        ("2026-04-01", "yellow"),  # the day after
        ("2026-04-02", "yellow"),
        ("2026-06-30", "yellow"),  # the half-year's last day
        ("2026-07-01", "red"),
        ("2026-07-02", "red"),
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
    auth = bearer(make_token(supervisor))
    client.get("/api/v1/me/", headers=auth)  # the token's first use records it

    def count(url):
        return count_queries(client, url, cache_state=None, headers=auth)

    before = count("/api/v1/alerts/?page_size=10")
    for n in range(12):
        factories.create_milestone(
            project=project_a, actor=reporter_a, due_date=day("2026-09-01"), name=f"节点{n}"
        )
    scan_alerts(today=day("2026-11-21"))
    assert count("/api/v1/alerts/?page_size=100") == before


# --- report missing and stalled: the report deadline and the rounds running --------------------


def _submit(project, actor, keys, investment=1):
    for key in keys:
        report = services.report_save(
            project=project, period=periods.parse(key), actor=actor, investment=investment
        )
        services.report_submit(report=report, actor=actor)


@pytest.mark.parametrize(
    ("scan_day", "level"),
    [
        # Every report up to September is in; October's is due on 5 November.
        ("2026-11-04", None),  # the day before the deadline
        ("2026-11-05", None),  # the deadline itself
        ("2026-11-06", "yellow"),  # the day after: one round missing
        ("2026-11-07", "yellow"),
    ],
)
def test_report_missing_deadline_boundaries(old_project, reporter_a, today, scan_day, level):
    _submit(old_project, reporter_a, [f"2026-{m:02d}" for m in range(1, 10)])
    scan_alerts(today=day(scan_day))
    alerts = list(active("report_missing").values_list("level", "period_key"))
    assert alerts == ([(level, "2026-10")] if level else [])
    assert light(old_project) == (level or "green")


@pytest.mark.parametrize(
    ("scan_day", "level", "period"),
    [
        # Reports up to August are in: September's missing is one round, then October's too.
        ("2026-11-05", "yellow", "2026-09"),  # the day before October's is late
        ("2026-11-06", "red", "2026-10"),  # two rounds running
        ("2026-11-07", "red", "2026-10"),
    ],
)
def test_report_missing_red_when_two_rounds_running(
    old_project, reporter_a, today, scan_day, level, period
):
    _submit(old_project, reporter_a, [f"2026-{m:02d}" for m in range(1, 9)])
    scan_alerts(today=day(scan_day))
    assert list(active("report_missing").values_list("level", "period_key")) == [(level, period)]


@pytest.mark.parametrize(
    ("zero_rounds", "level"),
    [(2, None), (3, "yellow"), (4, "yellow"), (5, "yellow"), (6, "red")],
)
def test_stalled_boundaries(old_project, reporter_a, today, zero_rounds, level):
    services.project_change_stage(
        project=old_project,
        to_stage=Stage.UNDER_CONSTRUCTION,
        changed_on=day("2026-02-01"),
        actor=reporter_a,
    )
    # Reports from February to September; the last ``zero_rounds`` show no investment.
    months = [f"2026-{m:02d}" for m in range(2, 10)]
    _submit(old_project, reporter_a, months[: len(months) - zero_rounds], investment=5)
    _submit(old_project, reporter_a, months[len(months) - zero_rounds :], investment=0)
    scan_alerts(today=day("2026-11-05"))  # the last round due is September
    alerts = list(active("stalled").values_list("level", "value"))
    assert alerts == ([(level, Decimal(zero_rounds))] if level else [])


# --- issue past its deadline, and the daily step to 督办 -----------------------------------------


@pytest.fixture
def overdue_issue(today, unit_a, supervisor, project):
    """On the ledger on 21 November, due on 30 November, on the project 公路.

    The project's own November report falls due on 5 December; that rule is switched off here
    so that the project's light is the issue's alone."""
    ensure_rules()
    AlertRule.objects.filter(key="report_missing").update(is_active=False)
    return ledger.issue_raise(
        actor=supervisor,
        title="征地补偿款未兑付",
        source=IssueSource.UPPER,
        category=IssueCategory.LAND_ACQUISITION,
        unit=unit_a,
        project=project,
        deadline=day("2026-11-30"),
        requirement="月底前完成兑付",
    )


def _issue_alert_levels():
    return list(active("issue_overdue").values_list("level", "value"))


@pytest.mark.parametrize(
    ("scan_day", "level", "days"),
    [
        ("2026-11-29", None, 0),  # the day before the deadline
        ("2026-11-30", None, 0),  # the deadline itself: not lit
        ("2026-12-01", "yellow", 1),  # the day after: yellow
        ("2026-12-02", "yellow", 2),
        ("2026-12-07", "yellow", 7),  # still yellow at 7 days
        ("2026-12-08", "red", 8),  # red at 8
        ("2026-12-09", "red", 9),
    ],
)
def test_issue_overdue_boundaries(overdue_issue, project, scan_day, level, days):
    with at(scan_day):
        scan_alerts()  # the daily job, on that day
    assert _issue_alert_levels() == ([(level, Decimal(days))] if level else [])
    assert light(project) == (level or "green")
    alert = active("issue_overdue").first()
    if alert is not None:
        assert (alert.subject, alert.unit_id) == (
            f"issue:{overdue_issue.pk}",
            overdue_issue.unit_id,
        )


def test_issue_overdue_turns_red_on_the_same_alert(overdue_issue):
    for scan_day in ("2026-12-01", "2026-12-07", "2026-12-08"):
        with at(scan_day):
            scan_alerts()
    [alert] = Alert.objects.filter(rule__key="issue_overdue")
    assert (alert.level, alert.value, alert.resolved_at) == ("red", Decimal(8), None)


@pytest.mark.parametrize("finish", ["rectified", "closed"])
def test_issue_overdue_resolves_when_rectified_or_closed(
    overdue_issue, project, reporter_a, supervisor, finish
):
    with at("2026-12-10"):
        scan_alerts()
        assert _issue_alert_levels() == [("red", Decimal(10))]
        ledger.issue_mark_rectified(issue=overdue_issue, actor=reporter_a, text="已兑付")
        if finish == "closed":
            ledger.issue_close(issue=overdue_issue, actor=supervisor, note="核实销号")
        scan_alerts()
    alert = Alert.objects.get(rule__key="issue_overdue")
    assert alert.resolved_at is not None
    assert light(project) == "green"
    with at("2026-12-11"):
        scan_alerts()  # a later run does not light it again
    assert not active("issue_overdue").exists()


def test_issue_sent_back_lights_again(overdue_issue, reporter_a, supervisor):
    with at("2026-12-03"):
        scan_alerts()
        ledger.issue_mark_rectified(issue=overdue_issue, actor=reporter_a, text="已兑付")
        scan_alerts()
        assert not active("issue_overdue").exists()
        ledger.issue_send_back(issue=overdue_issue, actor=supervisor, reason="凭证不全")
        scan_alerts()
    assert _issue_alert_levels() == [("yellow", Decimal(3))]
    assert Alert.objects.filter(rule__key="issue_overdue").count() == 1  # the same row reopened


def _escalations(issue):
    return list(issue.events.filter(kind=IssueEventKind.ESCALATED).values_list("actor", "level"))


@pytest.mark.parametrize(
    ("scan_day", "stepped"),
    [("2026-12-07", False), ("2026-12-08", True), ("2026-12-09", True)],
)
def test_the_daily_scan_steps_an_overdue_issue_to_supervision(overdue_issue, scan_day, stepped):
    with at(scan_day):
        first = scan_alerts()
        second = scan_alerts()  # idempotent: nothing more on a second run
    overdue_issue.refresh_from_db()
    assert (first.escalated, second.escalated) == (int(stepped), 0)
    expected = EscalationLevel.SUPERVISED if stepped else EscalationLevel.NORMAL
    assert overdue_issue.level == expected
    assert _escalations(overdue_issue) == ([(None, EscalationLevel.SUPERVISED)] if stepped else [])


def test_the_daily_scan_steps_once_over_several_days(overdue_issue):
    for scan_day in ("2026-12-07", "2026-12-08", "2026-12-09", "2026-12-20"):
        with at(scan_day):
            scan_alerts()
    overdue_issue.refresh_from_db()
    assert overdue_issue.level == EscalationLevel.SUPERVISED
    assert _escalations(overdue_issue) == [(None, EscalationLevel.SUPERVISED)]


@pytest.mark.parametrize("level", [2, 3, 4, 5])  # 督办, 挂牌督办, 约谈, 问责
def test_the_daily_scan_never_lowers_a_higher_step(overdue_issue, supervisor, level):
    ledger.issue_escalate(issue=overdue_issue, actor=supervisor, level=level, reason="多次催办未果")
    with at("2026-12-15"):
        assert scan_alerts().escalated == 0
    overdue_issue.refresh_from_db()
    assert overdue_issue.level == level
    assert _escalations(overdue_issue) == [(supervisor.pk, level)]


def test_the_daily_scan_leaves_a_rectified_issue_alone(overdue_issue, reporter_a):
    with at("2026-12-01"):
        ledger.issue_mark_rectified(issue=overdue_issue, actor=reporter_a, text="已兑付")
    with at("2026-12-15"):
        assert scan_alerts().escalated == 0
    overdue_issue.refresh_from_db()
    assert overdue_issue.level == EscalationLevel.NORMAL
