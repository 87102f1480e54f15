"""The OC4IDS export (projects/oc4ids.py): valid against the shipped 0.9 schema, mapped right."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from projects import selectors, services
from projects.models import Leader, Project, Stage
from projects.oc4ids import project_id, project_package
from tests import factories
from tests.support.oc4ids import (
    AS_OF,
    EXPORT_QUERIES,
    PUBLISHED,
    SCHEMA_DIR,
    assert_codes_in_codelists,
    assert_passes_review,
    assert_valid,
    by_id,
    package_of,
)
from tracker import periods

pytestmark = pytest.mark.skipif(
    not SCHEMA_DIR.is_dir(),
    reason=f"the OC4IDS schema is not beside the repository (expected {SCHEMA_DIR})",
)


# ---------------------------------------------------------------------------------------------
# Projects built through the services
# ---------------------------------------------------------------------------------------------


def month(key: str) -> periods.Period:
    return periods.parse(key)


def report(project: Project, actor, key: str, investment: str, progress: str, *, submit=True):
    saved = services.report_save(
        project=project,
        period=month(key),
        actor=actor,
        investment=Decimal(investment),
        physical_progress=progress,
    )
    return services.report_submit(report=saved, actor=actor) if submit else saved


@pytest.fixture
def township(county):
    return factories.UnitFactory(name="城关镇", kind="township", parent=county)


@pytest.fixture
def road(supervisor, county, unit_a, unit_b, township):
    """Under construction, fully described: the project most assertions read."""
    leader = Leader.objects.create(name="王副县长", title="副县长", unit=county)
    project = factories.create_project(
        actor=supervisor,
        lead_unit=unit_a,
        name="城区至园区公路改扩建",
        code="XM-2026-001",
        description="新建二级公路12公里，改扩建桥梁3座。",
        category="transport",
        build_type="new",
        total_investment=Decimal("12000.50"),
        prior_investment=Decimal("1000"),
        stage=Stage.UNDER_CONSTRUCTION,
        township=township,
        location="城关镇至工业园区",
        latitude=Decimal("30.712345"),
        longitude=Decimal("108.396789"),
        lead_leader=leader,
        owner="示范县交通建设投资有限公司",
        contractor="中铁某局集团有限公司",
        supervising_engineer="某某工程监理有限公司",
        cooperating_units=[unit_b],
    )
    met = factories.create_milestone(
        project=project, actor=supervisor, due_date=dt.date(2026, 4, 1), name="开工", kind="start"
    )
    services.milestone_complete(milestone=met, done_date=dt.date(2026, 4, 10), actor=supervisor)
    factories.create_milestone(
        project=project,
        actor=supervisor,
        due_date=dt.date(2026, 10, 1),
        name="施工许可",
        kind="construction_permit",
    )
    revised = factories.create_milestone(
        project=project,
        actor=supervisor,
        due_date=dt.date(2026, 11, 1),
        name="主体完工",
        kind="main_structure",
    )
    services.milestone_revise(
        milestone=revised, new_due_date=dt.date(2026, 12, 15), reason="汛期停工", actor=supervisor
    )
    report(project, supervisor, "2026-09", "500", "路基完成60%")
    report(project, supervisor, "2026-10", "300.25", "路基完成80%，桥梁桩基开工")
    report(project, supervisor, "2026-11", "999", "草稿不计", submit=False)
    services.funding_set(
        project=project,
        source="special_bond",
        planned=Decimal("5000"),
        arrived=Decimal("2000"),
        actor=supervisor,
    )
    services.funding_set(
        project=project,
        source="county_fiscal",
        planned=Decimal("7000.50"),
        arrived=Decimal("0"),
        actor=supervisor,
    )
    services.year_plan_set(
        project=project,
        year=2026,
        actor=supervisor,
        planned_investment=Decimal("4000"),
        planned_start=dt.date(2026, 3, 1),
        planned_completion=dt.date(2027, 6, 30),
        physical_target="完成路基工程",
    )
    return project


@pytest.fixture
def reservoir(supervisor, unit_b):
    """Suspended during preliminary work."""
    project = factories.create_project(
        actor=supervisor,
        lead_unit=unit_b,
        name="水库除险加固",
        category="water",
        build_type="continued",
        stage=Stage.RESERVE,
        stage_date=dt.date(2026, 5, 1),
    )
    for stage, day in ((Stage.PREPARING, 6), (Stage.SUSPENDED, 9)):
        services.project_change_stage(
            project=project, to_stage=stage, changed_on=dt.date(2026, day, 1), actor=supervisor
        )
    return project


@pytest.fixture
def scenic(supervisor, unit_a, head_a):
    """Completed in October, reports approved and submitted."""
    project = factories.create_project(
        actor=supervisor,
        lead_unit=unit_a,
        name="古镇景区提升",
        category="tourism",
        total_investment=Decimal("3000"),
        stage=Stage.UNDER_CONSTRUCTION,
        stage_date=dt.date(2026, 1, 5),
    )
    september = report(project, supervisor, "2026-09", "1200", "主体完工")
    services.report_approve(report=september, actor=head_a)  # not its submitter
    report(project, supervisor, "2026-10", "800", "竣工验收")
    services.project_change_stage(
        project=project,
        to_stage=Stage.COMPLETED,
        changed_on=dt.date(2026, 10, 28),
        actor=supervisor,
    )
    return project


def test_package_is_valid_and_its_header_is_right(road, reservoir, scenic):
    package = package_of(Project.objects.all())
    assert_valid(package)
    assert_codes_in_codelists(package)
    assert package["version"] == "0.9"
    assert package["publishedDate"] == "2026-11-21T09:30:00+08:00"
    assert package["publisher"] == {"name": "示范县发展和改革局"}
    assert package["uri"] == "https://tracker.example.cn/api/oc4ids/projects.json"
    assert sorted(by_id(package)) == sorted(
        f"oc4ids-xxxxxx-{p.pk}" for p in (road, reservoir, scenic)
    )  # the placeholder prefix of the demo and of a county that has registered none yet


def test_optional_package_fields_and_prefix(road):
    package = project_package(
        Project.objects.all(),
        published=PUBLISHED,
        uri="https://tracker.example.cn/oc4ids.json",
        publisher_name="示范县",
        as_of=AS_OF,
        id_prefix="oc4ids-bu3kcz",
        license="https://creativecommons.org/licenses/by/4.0/",
        publication_policy="https://tracker.example.cn/open-data-policy",
    )
    assert_valid(package)
    assert package["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert package["publicationPolicy"] == "https://tracker.example.cn/open-data-policy"
    assert package["projects"][0]["id"] == f"oc4ids-bu3kcz-{road.pk}"


def test_the_prefix_is_the_setting(road, settings):
    settings.TRACKER_OC4IDS_PREFIX = "oc4ids-s9fx2k"
    package = package_of(Project.objects.filter(pk=road.pk))
    assert package["projects"][0]["id"] == f"oc4ids-s9fx2k-{road.pk}"


def test_the_standards_review_tool_finds_nothing(road, reservoir, scenic, supervisor, unit_a):
    """libcoveoc4ids, the engine of the OC4IDS data review tool, on the schema and code lists of
    ../shared/oc4ids served locally: schema, code lists, conformance (the identifier prefix) and
    the additional checks, on a road with a bundle's sub-project, a suspended and a completed
    project and a key task."""
    services.project_create(
        actor=supervisor, lead_unit=unit_a, name="城区环境综合整治", kind="task", category="urban"
    )
    assert_passes_review(package_of(Project.objects.all()))


def test_project_fields(road):
    data = by_id(package_of(Project.objects.all()))[project_id(road)]
    assert data["title"] == "城区至园区公路改扩建"
    assert data["description"] == "新建二级公路12公里，改扩建桥梁3座。"
    assert data["language"] == "zh"
    assert {"id": "XM-2026-001", "scheme": "county-tracker-project-code"} in data["identifiers"]
    assert data["status"] == "implementation"
    assert data["type"] == "construction"
    assert data["sector"] == ["transport"]
    assert data["additionalClassifications"] == [
        {"scheme": "county-tracker-category", "id": "transport", "description": "交通"}
    ]
    assert data["updated"].endswith("+08:00")
    # 12000.50 万元 is 120,005,000 yuan, exactly.
    assert data["budget"]["amount"] == {"amount": 120_005_000, "currency": "CNY"}
    [breakdowns] = data["budget"]["budgetBreakdowns"]
    assert [
        (line["id"], line["description"], line["amount"]["amount"])
        for line in breakdowns["budgetBreakdown"]
    ] == [("special_bond", "专项债", 50_000_000), ("county_fiscal", "县级财政", 70_005_000)]
    assert data["period"] == {
        "startDate": "2026-03-01T00:00:00+08:00",
        "endDate": "2027-06-30T23:59:59+08:00",
    }


def test_parties_and_roles(road, unit_a, unit_b):
    data = by_id(package_of(Project.objects.all()))[project_id(road)]
    roles = {party["name"]: party["roles"] for party in data["parties"]}
    assert roles == {
        "交通运输局": ["publicAuthority"],
        "水利局": ["administrativeEntity"],
        "示范县交通建设投资有限公司": ["buyer"],
        "中铁某局集团有限公司": ["supplier"],
        "某某工程监理有限公司": ["supplier"],
    }
    assert data["publicAuthority"] == {"id": f"unit-{unit_a.pk}", "name": "交通运输局"}
    lead = next(p for p in data["parties"] if p["id"] == f"unit-{unit_a.pk}")
    assert lead["people"][0]["name"] == "王副县长"
    assert lead["people"][0]["jobTitle"] == "副县长"
    assert len({party["id"] for party in data["parties"]}) == 5


def test_location_is_a_geojson_point(road):
    data = by_id(package_of(Project.objects.all()))[project_id(road)]
    [location] = data["locations"]
    assert location["geometry"] == {"type": "Point", "coordinates": [108.396789, 30.712345]}
    assert location["description"] == "城关镇至工业园区"
    assert location["address"]["locality"] == "城关镇"


def test_milestones(road):
    data = by_id(package_of(Project.objects.all()))[project_id(road)]
    milestones = {m["title"]: m for m in data["milestones"]}
    assert milestones["开工"]["status"] == "met"
    assert milestones["开工"]["dateMet"] == "2026-04-10T00:00:00+08:00"
    assert milestones["开工"]["code"] == "commencement"
    assert milestones["开工"]["type"] == "delivery"
    assert milestones["施工许可"]["status"] == "notMet"  # overdue on 2026-11-21
    assert milestones["施工许可"]["type"] == "approval"
    assert "dateMet" not in milestones["施工许可"]
    revised = milestones["主体完工"]
    assert revised["status"] == "scheduled"
    assert revised["dueDate"] == "2026-12-15T00:00:00+08:00"
    assert "2026-11-01" in revised["description"]
    assert "汛期停工" in revised["description"]


def test_metrics_one_observation_per_counted_report(road):
    data = by_id(package_of(Project.objects.all()))[project_id(road)]
    metrics = {m["id"]: m["observations"] for m in data["metrics"]}
    # Cumulative, starting from the investment done before tracking (1000 万元); the draft
    # for 2026-11 is not counted.
    assert [(o["id"], o["value"]) for o in metrics["financialProgress"]] == [
        ("2026-09", {"amount": 15_000_000, "currency": "CNY"}),
        ("2026-10", {"amount": 18_002_500, "currency": "CNY"}),
    ]
    assert metrics["financialProgress"][1]["period"] == {
        "startDate": "2026-10-01T00:00:00+08:00",
        "endDate": "2026-10-31T23:59:59+08:00",
    }
    assert [(o["id"], o["notes"]) for o in metrics["physicalProgress"]] == [
        ("2026-09", "路基完成60%"),
        ("2026-10", "路基完成80%，桥梁桩基开工"),
    ]
    totals = selectors.project_investment_totals(road, AS_OF)
    assert metrics["financialProgress"][-1]["value"]["amount"] == int(totals["cumulative"] * 10000)
    assert "completion" not in data


def test_suspended_and_completed(reservoir, scenic):
    projects = by_id(package_of(Project.objects.all()))
    suspended = projects[project_id(reservoir)]
    assert suspended["status"] == "preparation"  # the phase it was suspended in
    assert suspended["sector"] == ["waterAndWaste"]
    assert suspended["type"] == "construction"
    assert "metrics" not in suspended
    completed = projects[project_id(scenic)]
    assert completed["status"] == "completion"
    assert completed["sector"] == ["cultureSportsAndRecreation"]
    assert completed["completion"] == {
        "endDate": "2026-10-28T00:00:00+08:00",
        "finalValue": {"amount": 20_000_000, "currency": "CNY"},
    }
    # Approved and submitted reports both count.
    [financial] = [m for m in completed["metrics"] if m["id"] == "financialProgress"]
    assert [o["value"]["amount"] for o in financial["observations"]] == [12_000_000, 20_000_000]


def test_key_task_has_no_budget_type_or_financial_metric(supervisor, unit_a):
    task = factories.create_project(
        actor=supervisor,
        lead_unit=unit_a,
        name="优化营商环境专项行动",
        kind="task",
        category="livelihood",
        build_type="new",
        total_investment=Decimal("0"),
        stage=Stage.UNDER_CONSTRUCTION,
    )
    report(task, supervisor, "2026-10", "0", "完成方案制定")
    package = package_of(Project.objects.all())
    assert_valid(package)
    data = by_id(package)[project_id(task)]
    assert "budget" not in data
    assert "type" not in data
    assert data["sector"] == ["education", "health", "socialHousing"]
    assert [m["id"] for m in data["metrics"]] == ["physicalProgress"]


def test_bundle_reports_through_its_subprojects(supervisor, unit_a):
    bundle = factories.create_project(
        actor=supervisor, lead_unit=unit_a, name="农村公路打捆项目", prior_investment=Decimal("10")
    )
    subs = [
        factories.create_project(
            actor=supervisor,
            lead_unit=unit_a,
            name=f"农村公路{n}标段",
            parent=bundle,
            prior_investment=Decimal("5"),
        )
        for n in (1, 2)
    ]
    report(subs[0], supervisor, "2026-09", "100", "一标段")
    report(subs[1], supervisor, "2026-09", "50", "二标段")
    report(subs[1], supervisor, "2026-10", "25", "二标段")
    package = package_of(Project.objects.all())
    assert_valid(package)
    data = by_id(package)[project_id(bundle)]
    [financial] = data["metrics"]
    assert financial["id"] == "financialProgress"
    assert [(o["id"], o["value"]["amount"]) for o in financial["observations"]] == [
        ("2026-09", 1_700_000),
        ("2026-10", 1_950_000),
    ]
    assert financial["observations"][-1]["value"]["amount"] == int(
        selectors.project_investment_totals(bundle, AS_OF)["cumulative"] * 10000
    )
    sub = by_id(package)[project_id(subs[0])]
    assert sub["relatedProjects"][0]["identifier"] == project_id(bundle)
    assert sub["relatedProjects"][0]["relationship"] == "parent"


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------


def build_projects(count: int, actor, unit, other) -> None:
    for n in range(count):
        project = factories.create_project(
            actor=actor,
            lead_unit=unit,
            name=f"项目{n}",
            stage=Stage.UNDER_CONSTRUCTION,
            cooperating_units=[other],
            owner=f"业主{n}",
        )
        milestone = factories.create_milestone(
            project=project, actor=actor, due_date=dt.date(2026, 12, 1)
        )
        services.milestone_revise(
            milestone=milestone, new_due_date=dt.date(2026, 12, 20), reason="调整", actor=actor
        )
        report(project, actor, "2026-10", "10", "进行中")
        services.funding_set(
            project=project,
            source="self_raised",
            planned=Decimal("100"),
            arrived=Decimal("0"),
            actor=actor,
        )
        services.year_plan_set(
            project=project, year=2026, actor=actor, planned_investment=Decimal("50")
        )
        if n % 3 == 0:
            sub = factories.create_project(
                actor=actor, lead_unit=unit, name=f"子项目{n}", parent=project
            )
            report(sub, actor, "2026-10", "5", "")


def queries_for_package() -> int:
    with CaptureQueriesContext(connection) as captured:
        package = package_of(Project.objects.all())
    assert package["projects"]
    return len(captured)


def test_query_count_does_not_grow_with_projects(
    supervisor, unit_a, unit_b, django_assert_max_num_queries
):
    build_projects(3, supervisor, unit_a, unit_b)
    few = queries_for_package()
    build_projects(17, supervisor, unit_a, unit_b)
    assert Project.objects.count() > 20
    with django_assert_max_num_queries(EXPORT_QUERIES):
        many = queries_for_package()
    assert few == many == EXPORT_QUERIES
