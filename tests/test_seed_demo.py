"""`manage.py seed_demo`: the demo county is complete, consistent and reproducible.

The default county is loaded once for the module, inside a transaction rolled back at the end,
and every test reads it inside its own savepoint.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from projects import selectors, tallies
from projects.models import (
    NOT_REPORTING_STAGES,
    FundingApplication,
    Leader,
    Membership,
    Milestone,
    MilestoneRevision,
    ProgressReport,
    Project,
    ProjectFunding,
    ProjectKind,
    ProjectYearPlan,
    ReportStatus,
    ReportTally,
    Role,
    Source,
    Stage,
    StageChange,
    Target,
    Unit,
    UnitKind,
)
from projects.oc4ids import project_id
from tests.support.oc4ids import (
    AS_OF,
    EXPORT_QUERIES,
    SCHEMA_DIR,
    assert_codes_in_codelists,
    assert_passes_review,
    assert_valid,
    by_id,
    package_of,
)
from tests.support.worlds import built_once
from tracker import periods

TODAY = "2026-11-21"
DAY = dt.date(2026, 11, 21)
NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
NOT_STARTED = {Stage.LEAD, Stage.NEGOTIATING, Stage.SIGNED, Stage.RESERVE, Stage.PREPARING}

# The county is loaded once for the module: under pytest-xdist the module runs on one worker.
pytestmark = pytest.mark.xdist_group("demo-county")


def seed(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", today=TODAY, stdout=out, **options)
    return out.getvalue()


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The default demo county, loaded once; rolled back when the module is done."""
    with built_once(django_db_blocker, NOW):
        yield seed()


@pytest.fixture
def county(demo, db) -> Unit:
    return Unit.objects.get(kind=UnitKind.COUNTY, name="示范县")


def closed_periods() -> list[periods.Period]:
    last = periods.containing(selectors.report_period_kind(), DAY).previous()
    window = [last]
    while len(window) < 12:
        window.insert(0, window[0].previous())
    return window


def stage_on(changes: list[StageChange], day: dt.date) -> str | None:
    current = None
    for change in changes:
        if change.changed_on <= day:
            current = change.to_stage
    return current


# ---------------------------------------------------------------------------------------------
# Loading from nothing (first: before the module's county is loaded)
# ---------------------------------------------------------------------------------------------


def fingerprint() -> list[list[tuple]]:
    return [
        list(
            Project.objects.order_by("code").values_list(
                "code",
                "name",
                "stage",
                "stage_changed_on",
                "total_investment",
                "lead_unit__name",
                "lead_leader__name",
                "red_card",
                "parent__code",
            )
        ),
        list(
            ProgressReport.objects.order_by("project__code", "period_key").values_list(
                "project__code",
                "period_key",
                "status",
                "investment",
                "submitted_at",
                "reviewed_at",
            )
        ),
        list(
            Milestone.objects.order_by("project__code", "sort_order").values_list(
                "project__code", "name", "due_date", "done_date"
            )
        ),
        list(get_user_model().objects.order_by("username").values_list("username", "first_name")),
        list(
            Target.objects.order_by("unit__code", "metric").values_list(
                "target_value", "actual_value"
            )
        ),
    ]


def test_same_seed_same_data_and_exact_count(db):
    """Seeded twice from nothing, the county comes out the same, with exactly N projects.

    It runs first in the module: the module's demo county is not loaded yet.
    """
    assert not Unit.objects.exists(), "run before the tests that load the default county"
    with time_machine.travel(NOW, tick=False):
        with transaction.atomic():
            seed(projects=12)
            assert Project.objects.count() == 12
            first = fingerprint()
            transaction.set_rollback(True)
        assert not Project.objects.exists()
        seed(projects=12)
        assert fingerprint() == first
        seed(projects=12, seed=7)  # already loaded: nothing changes
        assert fingerprint() == first


def test_taken_usernames_stop_the_load(db):
    """Runs before the module's county is loaded, like the test above."""
    get_user_model().objects.create(username="jtj")
    with time_machine.travel(NOW, tick=False), pytest.raises(CommandError, match="jtj"):
        seed()
    assert not Unit.objects.exists()


# ---------------------------------------------------------------------------------------------
# Organisation and people
# ---------------------------------------------------------------------------------------------


def test_unit_tree(county):
    assert county.parent.kind == UnitKind.CITY
    children = Counter(county.children.values_list("kind", flat=True))
    assert 18 <= children[UnitKind.DEPARTMENT] <= 22
    assert children[UnitKind.TOWNSHIP] == 12
    assert 1 <= children[UnitKind.ZONE] <= 2
    assert children[UnitKind.TEAM] == 3
    names = set(county.children.values_list("short_name", flat=True))
    assert {"发改局", "交通运输局", "水利局", "督查室", "重点项目办"} <= names
    for town in county.children.filter(kind=UnitKind.TOWNSHIP):
        assert town.name.endswith(("镇", "乡", "街道"))
        villages = list(town.children.all())
        assert 2 <= len(villages) <= 4
        assert all(v.kind == UnitKind.VILLAGE and v.path.startswith(town.path) for v in villages)


def test_leaders_and_users(county):
    leaders = list(Leader.objects.filter(unit=county))
    assert len(leaders) == 8
    titles = {leader.title for leader in leaders}
    assert "县委书记" in titles and any(
        t.endswith("县长") and not t.endswith("副县长") for t in titles
    )
    assert Leader.objects.get(user__username="xianzhang").title.endswith("县长")

    user_model = get_user_model()
    assert set(Membership.objects.values_list("role", flat=True)) == set(Role.values)
    admin = user_model.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert Membership.objects.filter(user=admin, unit=county, role=Role.ADMIN).exists()
    assert Membership.objects.filter(
        user__username="duchashi", unit=county, role=Role.SUPERVISOR
    ).exists()
    jtj = Unit.objects.get(short_name="交通运输局")
    assert Membership.objects.filter(user__username="jtj", unit=jtj, role=Role.REPORTER).exists()
    assert Membership.objects.filter(
        user__username="jtj_head", unit=jtj, role=Role.UNIT_HEAD
    ).exists()
    for user in user_model.objects.all():
        assert user.username.isascii() and user.first_name
        assert not user.first_name.isascii()
    assert user_model.objects.get(username="longhe").check_password("demo12345")


def test_demo_users_log_in_with_the_demo_password(demo, db, client):
    # seed_demo hashes the documented password directly: the validators that refuse it for
    # anyone choosing a password (tests/test_login_protection.py) do not stand in the demo's way.
    with pytest.raises(ValidationError):
        validate_password("demo12345")
    for username in ("jtj", "admin"):
        response = client.post("/accounts/login/", {"username": username, "password": "demo12345"})
        assert response.status_code == 302 and response["Location"] == "/"
        client.logout()


def test_output_lists_the_logins(demo, db):
    # db: a test without it would run after every database test, when the county is gone.
    assert "Loaded" in demo or "已" in demo
    for username in ("admin", "duchashi", "fgj", "xianzhang", "jtj", "jtj_head", "demo12345"):
        assert username in demo


# ---------------------------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------------------------


def test_projects_cover_the_county(county):
    projects = Project.objects.all()
    assert 60 <= projects.count() <= 80
    assert projects.filter(total_investment__gte=10000).exists()  # 亿元以上
    assert projects.filter(total_investment__gte=5000, total_investment__lt=10000).exists()
    assert projects.filter(is_private=True).exists()
    assert projects.filter(stage__in=NOT_STARTED).exists()
    assert projects.filter(stage__in=[Stage.COMPLETED, Stage.OPERATING]).exists()
    assert projects.filter(stage__in=[Stage.SUSPENDED, Stage.CANCELLED]).exists()
    assert projects.filter(parent__isnull=False).exists()
    assert not projects.filter(parent__parent__isnull=False).exists()
    tasks = projects.filter(kind=ProjectKind.TASK)
    assert tasks.exists() and not tasks.exclude(total_investment=0).exists()
    red = projects.filter(red_card=True)
    assert red.exists() and not red.filter(red_card_reason="").exists()
    assert len(set(projects.values_list("source", flat=True)) - {""}) == 4
    assert len(set(projects.values_list("category", flat=True))) >= 8
    assert len(set(projects.values_list("level", flat=True))) >= 3
    lead_kinds = set(projects.values_list("lead_unit__kind", flat=True))
    assert {UnitKind.DEPARTMENT, UnitKind.TOWNSHIP, UnitKind.TEAM} <= lead_kinds
    assert projects.filter(cooperating_units__isnull=False).exists()
    assert projects.filter(co_leaders__isnull=False).exists()
    assert not projects.filter(lead_leader__isnull=True).exists()
    assert projects.filter(tags__name="三峡后续规划").exists()
    for project in projects.exclude(latitude=None):
        assert abs(project.latitude - Decimal("30.712")) < Decimal("0.3")
        assert abs(project.longitude - Decimal("108.396")) < Decimal("0.35")
    parents = projects.filter(subprojects__isnull=False).distinct()
    for parent in parents:
        total = parent.subprojects.aggregate(s=Sum("total_investment"))["s"]
        assert parent.total_investment == total


def test_stage_logs_are_consistent(county):
    for project in Project.objects.prefetch_related("stage_changes"):
        changes = sorted(project.stage_changes.all(), key=lambda c: (c.changed_on, c.id))
        assert changes[0].from_stage == ""
        for before, after in pairwise(changes):
            assert after.from_stage == before.to_stage
            assert after.changed_on >= before.changed_on
        assert changes[-1].to_stage == project.stage
        assert changes[-1].changed_on == project.stage_changed_on
        assert changes[-1].changed_on <= DAY
        if project.source == Source.ATTRACTION:
            assert changes[0].to_stage == Stage.LEAD
    attraction = Project.objects.filter(source=Source.ATTRACTION)
    assert attraction.filter(stage__in=[Stage.UNDER_CONSTRUCTION, Stage.OPERATING]).exists()
    recent = StageChange.objects.filter(changed_on__gt=DAY - dt.timedelta(days=365))
    assert recent.filter(to_stage=Stage.UNDER_CONSTRUCTION).exists()


def test_year_plans(county):
    plans = ProjectYearPlan.objects.filter(year=2026)
    assert plans.count() >= 40
    assert ProjectYearPlan.objects.filter(year=2025).exists()
    assert plans.filter(planned_investment__gt=0, planned_start__isnull=False).exists()
    for plan in plans.select_related("project"):
        assert plan.planned_investment <= plan.project.total_investment


def test_milestones(county):
    milestones = Milestone.objects.all()
    assert milestones.overdue_on(DAY).exists()
    assert milestones.filter(done_date__isnull=False).exists()
    assert any(m.was_late() for m in milestones.filter(done_date__isnull=False))
    assert milestones.open().filter(due_date__range=(DAY, DAY + dt.timedelta(days=30))).exists()
    assert not milestones.filter(done_date__gt=DAY).exists()
    revisions = MilestoneRevision.objects.all()
    assert revisions.exists() and not revisions.filter(reason="").exists()
    for revision in revisions.select_related("milestone"):
        assert revision.milestone.original_due_date != revision.milestone.due_date or (
            revision.milestone.revisions.count() > 1
        )
        assert timezone.localtime(revision.created_at).date() < DAY
    kinds = set(milestones.values_list("kind", flat=True))
    assert {"approval", "start", "acceptance"} <= kinds


# ---------------------------------------------------------------------------------------------
# Progress reports
# ---------------------------------------------------------------------------------------------


def test_reports_follow_the_workflow(county):
    reports = ProgressReport.objects.all()
    assert not reports.filter(period_start__gt=DAY).exists()
    statuses = set(reports.values_list("status", flat=True))
    assert {ReportStatus.APPROVED, ReportStatus.RETURNED, ReportStatus.DRAFT} <= statuses
    assert not reports.filter(status=ReportStatus.RETURNED, return_reason="").exists()
    assert reports.filter(return_reason="", status=ReportStatus.APPROVED).count() > 0
    current = periods.containing(selectors.report_period_kind(), DAY)
    assert reports.filter(period_key=current.key, status=ReportStatus.DRAFT).exists()
    assert not reports.filter(period_key=current.key).exclude(status=ReportStatus.DRAFT).exists()
    submitted = reports.exclude(submitted_at=None)
    assert not submitted.filter(submitted_at__gte=NOW).exists()
    late = [r for r in submitted if r.is_late]
    assert 0 < len(late) < submitted.count() / 3
    for report in reports.filter(status=ReportStatus.APPROVED)[:200]:
        assert report.reviewed_at >= report.submitted_at
        assert timezone.localtime(report.submitted_at).date() >= report.period_start
    keys = set(reports.values_list("period_key", flat=True))
    assert {p.key for p in closed_periods()} <= keys
    assert not submitted.filter(first_submitted_at=None).exists()
    assert not submitted.filter(first_submitted_at__gt=F("submitted_at")).exists()
    corrected = submitted.filter(first_submitted_at__lt=F("submitted_at"))
    assert corrected.exists()
    assert all("补充完善" in r.physical_progress for r in corrected)
    assert not reports.filter(project__subprojects__isnull=False).exists()  # bundles
    assert Project.objects.filter(prior_investment__gt=0, build_type="continued").exists()


def test_report_tallies_match_the_back_dated_reports(county):
    """The demo back-dates submissions in bulk (no signals): its tallies are refreshed anyway."""
    assert ReportTally.objects.count() > 100
    assert ReportTally.objects.filter(on_time__gt=0).exists()
    assert tallies.differences() == set()


def test_some_reports_are_missing(county):
    window = closed_periods()
    owed = 0
    for project in Project.objects.prefetch_related("stage_changes"):
        changes = sorted(project.stage_changes.all(), key=lambda c: (c.changed_on, c.id))
        for period in window:
            stage = stage_on(changes, period.end)
            if stage is not None and stage not in NOT_REPORTING_STAGES:
                owed += 1
    written = ProgressReport.objects.filter(period_key__in=[p.key for p in window]).count()
    assert 0.8 * owed < written < owed


def test_investment_follows_the_year_plans(county):
    year_start = dt.date(2026, 1, 1)
    share = periods.elapsed_share_of_year(DAY)
    ratios = []
    for plan in ProjectYearPlan.objects.filter(
        year=2026, planned_investment__gt=0, project__stage=Stage.UNDER_CONSTRUCTION
    ).select_related("project"):
        done = selectors.project_investment_totals(plan.project, DAY)["year_to_date"]
        ratios.append(float(done / plan.planned_investment) / share)
        cumulative = ProgressReport.objects.counted().filter(project=plan.project)
        assert (cumulative.aggregate(s=Sum("investment"))["s"] or 0) <= (
            plan.project.total_investment
        )
        assert not plan.project.reports.filter(period_start__gte=year_start, investment__lt=0)
    assert ratios
    assert any(r < 0.8 for r in ratios), "some projects lag behind 序时进度"
    assert any(0.85 < r < 1.3 for r in ratios), "most keep pace"


# ---------------------------------------------------------------------------------------------
# Funding and targets
# ---------------------------------------------------------------------------------------------


def test_funding_and_targets(county):
    funding = ProjectFunding.objects.all()
    assert funding.count() > 30
    assert all(f.arrived <= f.planned for f in funding)
    applications = FundingApplication.objects.all()
    assert applications.values("unit").distinct().count() >= 5
    assert applications.filter(approved__gt=0).exists()
    assert all(a.arrived <= a.approved <= a.requested for a in applications)
    targets = Target.objects.filter(year=2026)
    assert targets.values("unit").distinct().count() >= 20
    assert targets.filter(actual_value=0).exists()  # 未破零
    assert targets.filter(actual_value__gt=0).exists()
    assert {t.unit.kind for t in targets.select_related("unit")} >= {
        UnitKind.DEPARTMENT,
        UnitKind.TOWNSHIP,
        UnitKind.ZONE,
        UnitKind.TEAM,
    }


# ---------------------------------------------------------------------------------------------
# Re-running, options, determinism
# ---------------------------------------------------------------------------------------------


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Unit, Leader, Project, Milestone, ProgressReport, Target, Membership)
    } | {"users": get_user_model().objects.count()}


def test_running_twice_changes_nothing(county):
    before = counts()
    with time_machine.travel(NOW, tick=False):
        output = seed()
    assert counts() == before
    assert "admin" in output and "demo12345" in output


def test_today_cannot_be_in_the_future(db):
    with time_machine.travel(NOW, tick=False), pytest.raises(CommandError):
        call_command("seed_demo", today="2026-11-22", stdout=io.StringIO())


def test_default_ranking_schemes_with_a_year_of_published_history(county):
    from supervision.models import RankingEntry, RankingScheme, RankingSnapshot

    schemes = {s.name: s for s in RankingScheme.objects.filter(parent_unit=county)}
    assert {s.cadence for s in schemes.values()} == {"month", "dekad", "half_month", "quarter"}
    assert len(schemes) == 5
    monthly = schemes["县直部门月度综合排名"]
    assert monthly.metrics.count() == 6  # incl. 问题销号率
    published = RankingSnapshot.objects.filter(scheme=monthly, status="published")
    # January to October are closed on 21 November and published; November is a draft.
    assert sorted(published.values_list("period_key", flat=True)) == [
        f"2026-{m:02d}" for m in range(1, 11)
    ]
    november = RankingSnapshot.objects.get(scheme=monthly, period_key="2026-11")
    assert (november.status, november.is_provisional) == ("draft", True)
    october = published.get(period_key="2026-10")
    entries = RankingEntry.objects.filter(snapshot=october)
    assert entries.filter(rank=1).exists()
    assert entries.filter(is_top=True).count() >= 3
    assert entries.filter(is_bottom=True).count() >= 3
    assert entries.exclude(movement=None).exclude(movement=0).exists()  # movement shows
    dekads = RankingSnapshot.objects.filter(scheme=schemes["旬报填报及时率排名"])
    # 1 January to 10 November published; 11–20 November closed, a draft awaiting the supervisor.
    assert dekads.filter(status="published").count() == 31
    awaiting = dekads.get(period_key="2026-11-D2")
    assert (awaiting.status, awaiting.is_provisional) == ("draft", False)


def test_demo_ledger_has_issues_in_every_state(county):
    from collections import Counter

    from supervision.models import EscalationLevel, Issue, IssueEvent

    statuses = Counter(Issue.objects.values_list("status", flat=True))
    for status in ("open", "in_progress", "resolved", "closed", "pending", "declined"):
        assert statuses[status] >= 1, status
    assert Issue.objects.filter(
        level__gte=EscalationLevel.SUPERVISED, status="in_progress"
    ).exists()
    # The day's scan stepped the long-overdue issues up, by the daily job.
    assert IssueEvent.objects.filter(kind="escalated", actor__isnull=True).exists()
    assert Issue.objects.filter(source="inspection").exists()
    assert Issue.objects.filter(source="meeting").exists()
    assert Issue.objects.filter(source="report", report__isnull=False).exists()
    assert not Issue.objects.filter(title="无").exists()


# ---------------------------------------------------------------------------------------------
# Open data
# ---------------------------------------------------------------------------------------------


@pytest.mark.skipif(not SCHEMA_DIR.is_dir(), reason="the OC4IDS schema is not beside the repo")
def test_demo_county_exports_valid_oc4ids(county, today, django_assert_max_num_queries):
    projects = Project.objects.all()
    with django_assert_max_num_queries(EXPORT_QUERIES):
        package = package_of(projects)
    assert len(package["projects"]) == projects.count()
    assert_valid(package)
    assert_codes_in_codelists(package)
    assert_passes_review(package)  # the OC4IDS data review tool, as a publisher would run it
    exported = by_id(package)
    statuses = {p["status"] for p in package["projects"]}
    assert {"identification", "implementation"} <= statuses
    for project in projects.filter(kind="project"):
        data = exported[project_id(project)]
        assert data["budget"]["amount"]["amount"] == int(project.total_investment * 10000)
        financial = [m for m in data.get("metrics", []) if m["id"] == "financialProgress"]
        if financial:
            cumulative = selectors.project_investment_totals(project, AS_OF)["cumulative"]
            assert financial[0]["observations"][-1]["value"]["amount"] == int(cumulative * 10000)
