"""The project list (/projects/) and its Excel export: scope, filters, sorting, figures, queries."""

from __future__ import annotations

import re
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from projects import services
from projects.models import Leader, Project
from tests import factories
from tests.support.files import download_name
from tracker import periods
from tracker.money import format_wan

LIST_URL = "/projects/"
EXPORT_URL = "/projects/export.xlsx"


def names_on(response) -> list[str]:
    """Project names in the table, in order."""
    page = response.content.decode()
    return re.findall(r'<a href="/projects/\d+/">([^<]+)</a>', page)


def wan(amount: Decimal) -> str:
    with translation.override("zh-hans"):
        return format_wan(amount)


def export_sheet(response):
    workbook = openpyxl.load_workbook(BytesIO(response.content))
    assert workbook.sheetnames == ["重点项目"]
    return workbook["重点项目"]


def export_rows(response) -> list[tuple]:
    return list(export_sheet(response).iter_rows(min_row=3, values_only=True))


@pytest.fixture
def township_1(county):
    return factories.UnitFactory(name="城关镇", kind="township", parent=county)


@pytest.fixture
def township_2(county):
    return factories.UnitFactory(name="河口乡", kind="township", parent=county)


@pytest.fixture
def leader_wang(county):
    return Leader.objects.create(name="王副县长", title="副县长", unit=county)


@pytest.fixture
def leader_li(county):
    return Leader.objects.create(name="李副县长", title="副县长", unit=county)


@pytest.fixture
def variety(reporter_a, unit_a, supervisor, township_1, township_2, leader_wang, leader_li):
    """Projects of unit A differing in one attribute each."""
    big = factories.create_project(
        actor=reporter_a,
        lead_unit=unit_a,
        name="物流园一期",
        code="XM-001",
        category="logistics",
        level="provincial",
        total_investment=Decimal("150000"),
        township=township_1,
        lead_leader=leader_wang,
        owner="县城投公司",
        is_private=True,
    )
    middle = factories.create_project(
        actor=reporter_a,
        lead_unit=unit_a,
        name="农产品冷链中心",
        category="agriculture",
        total_investment=Decimal("8000"),
        township=township_2,
        co_leaders=[leader_wang],
        contractor="中建某局",
    )
    small = factories.create_project(
        actor=reporter_a,
        lead_unit=unit_a,
        name="乡村道路硬化",
        category="transport",
        kind="task",
        total_investment=Decimal("3000"),
        lead_leader=leader_li,
        source="attraction",  # enters at 线索
    )
    services.project_set_red_card(
        project=middle, actor=supervisor, red_card=True, reason="征地进度滞后"
    )
    return {"big": big, "middle": middle, "small": small}


# ---------------------------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------------------------


def test_list_and_export_require_login(client, db):
    for url in (LIST_URL, EXPORT_URL):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={url}"


def test_reporter_sees_only_own_unit(client, reporter_a, project_a, project_b):
    client.force_login(reporter_a)
    response = client.get(reverse("project_list"))
    assert response.status_code == 200
    assert names_on(response) == [project_a.name]


@pytest.mark.parametrize("persona", ["supervisor", "leader"])
def test_county_staff_see_all(client, request, persona, project_a, project_b):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(LIST_URL)
    assert set(names_on(response)) == {project_a.name, project_b.name}


def test_a_unit_outside_scope_cannot_be_chosen(client, reporter_a, unit_b, project_a, project_b):
    client.force_login(reporter_a)
    response = client.get(LIST_URL, {"unit": unit_b.pk})
    # The choice is refused and ignored: the list stays the user's own scope.
    assert names_on(response) == [project_a.name]
    assert f'value="{unit_b.pk}"' not in response.content.decode()


def test_create_link_only_for_editors(client, reporter_a, leader, project_a):
    client.force_login(reporter_a)
    assert 'href="/projects/new/"' in client.get(LIST_URL).content.decode()
    client.force_login(leader)
    page = client.get(LIST_URL).content.decode()
    assert 'href="/projects/new/"' not in page
    assert "/projects/export.xlsx" in page


# ---------------------------------------------------------------------------------------------
# Filters and sorting
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"big", "middle", "small", "b"}),
        ({"category": "logistics"}, {"big"}),
        ({"level": "provincial"}, {"big"}),
        ({"stage": "lead"}, {"small"}),
        ({"kind": "task"}, {"small"}),
        ({"min_investment": "10000"}, {"big", "b"}),
        ({"min_investment": "5000"}, {"big", "middle", "b"}),
        ({"private": "true"}, {"big"}),
        ({"private": "false"}, {"middle", "small", "b"}),
        ({"red_card": "true"}, {"middle"}),
        ({"q": "冷链"}, {"middle"}),
        ({"q": "xm-001"}, {"big"}),
        ({"q": "城投"}, {"big"}),
        ({"q": "中建"}, {"middle"}),
        ({"q": "交通运输 道路"}, {"small"}),
        ({"q": "不存在的项目"}, set()),
    ],
)
def test_each_filter_narrows(client, supervisor, variety, project_b, params, expected):
    client.force_login(supervisor)
    response = client.get(LIST_URL, params)
    assert response.status_code == 200
    everything = {**variety, "b": project_b}  # unit B's water project, 12000万元
    assert set(names_on(response)) == {everything[key].name for key in expected}


def test_filter_by_unit_township_and_leader(
    client, supervisor, variety, project_b, unit_a, county, township_1, leader_wang
):
    client.force_login(supervisor)
    by_unit = set(names_on(client.get(LIST_URL, {"unit": unit_a.pk})))
    assert by_unit == {p.name for p in variety.values()}
    # A unit includes its subtree: the county holds every project.
    assert len(names_on(client.get(LIST_URL, {"unit": county.pk}))) == 4
    assert names_on(client.get(LIST_URL, {"township": township_1.pk})) == [variety["big"].name]
    # Lead leader or co-leader.
    by_leader = set(names_on(client.get(LIST_URL, {"leader": leader_wang.pk})))
    assert by_leader == {variety["big"].name, variety["middle"].name}


def test_totals_follow_the_filters(client, supervisor, variety):
    client.force_login(supervisor)
    page = client.get(LIST_URL, {"min_investment": "5000"}).content.decode()
    assert wan(Decimal("158000")) in page
    assert '<span class="num">2</span>' in page


def test_sorting(client, supervisor, variety):
    client.force_login(supervisor)
    big, middle, small = variety["big"].name, variety["middle"].name, variety["small"].name
    assert names_on(client.get(LIST_URL)) == [big, middle, small]
    assert names_on(client.get(LIST_URL, {"sort": "total_investment"})) == [small, middle, big]
    # Stage follows the funnel: 线索 before 储备.
    assert names_on(client.get(LIST_URL, {"sort": "stage"}))[0] == small
    assert names_on(client.get(LIST_URL, {"sort": "-stage"}))[-1] == small
    by_name = names_on(client.get(LIST_URL, {"sort": "name"}))
    assert set(by_name) == {big, middle, small}
    assert names_on(client.get(LIST_URL, {"sort": "-name"})) == by_name[::-1]
    # An unknown key is refused and the default order applies.
    assert names_on(client.get(LIST_URL, {"sort": "password"})) == [big, middle, small]


def test_sort_headers_keep_filters_and_toggle(client, supervisor, variety):
    client.force_login(supervisor)
    page = client.get(LIST_URL, {"category": "logistics", "page": "1"}).content.decode()
    assert 'href="?category=logistics&amp;sort=total_investment"' in page  # toggles the default
    assert 'href="?category=logistics&amp;sort=name"' in page


def test_pagination_keeps_the_query_string(client, reporter_a, unit_a):
    for n in range(30):
        factories.create_project(
            actor=reporter_a,
            lead_unit=unit_a,
            name=f"分页项目{n:02d}",
            total_investment=Decimal(1000 + n),
        )
    client.force_login(reporter_a)
    first = client.get(LIST_URL, {"category": "transport"})
    assert len(names_on(first)) == 25
    assert "?category=transport&amp;page=2" in first.content.decode()
    second = client.get(LIST_URL, {"category": "transport", "page": "2"})
    names = names_on(second)
    assert names == [f"分页项目{n:02d}" for n in range(4, -1, -1)]
    assert client.get(LIST_URL, {"page": "99"}).status_code == 200  # last page, no error


# ---------------------------------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def reported(reporter_a, head_a, project_a):
    """Plan 2000 for 2026; 300 submitted in October, 200 in September; drafts and 2025 ignored."""
    services.year_plan_set(
        project=project_a, year=2026, actor=reporter_a, planned_investment=Decimal("2000")
    )
    services.year_plan_set(
        project=project_a, year=2025, actor=reporter_a, planned_investment=Decimal("9999")
    )
    for key, amount, submit in (
        ("2026-10", "300", True),
        ("2026-09", "200", True),
        ("2026-08", "777", False),
        ("2025-12", "555", True),
    ):
        report = services.report_save(
            project=project_a,
            period=periods.parse(key),
            actor=reporter_a,
            investment=Decimal(amount),
        )
        if submit:
            services.report_submit(report=report, actor=reporter_a)
    return project_a


def test_year_to_date_and_plan_share(client, reporter_a, reported):
    client.force_login(reporter_a)
    page = client.get(LIST_URL).content.decode()
    assert wan(Decimal("500")) in page
    assert "25.0%" in page  # 500 ÷ 2000


def test_a_bundle_shows_its_sub_projects_figures(client, reporter_a, unit_a):
    bundle = factories.create_project(actor=reporter_a, lead_unit=unit_a, name="打捆项目")
    for n, amount in enumerate(("40", "60")):
        sub = factories.create_project(
            actor=reporter_a, lead_unit=unit_a, name=f"子项目{n}", parent=bundle
        )
        report = services.report_save(
            project=sub,
            period=periods.parse("2026-10"),
            actor=reporter_a,
            investment=Decimal(amount),
        )
        services.report_submit(report=report, actor=reporter_a)
    client.force_login(reporter_a)
    rows = {row[2]: row for row in export_rows(client.get(EXPORT_URL))}
    assert rows["打捆项目"][19] == 100
    assert rows["子项目0"][19] == 40 and rows["子项目1"][19] == 60


def test_export_contains_the_same_figures(client, reporter_a, reported):
    client.force_login(reporter_a)
    rows = export_rows(client.get(EXPORT_URL))
    assert len(rows) == 1
    row = rows[0]
    assert row[2] == reported.name
    assert row[17:21] == (12000, 2000, 500, 0.25)


# ---------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------


def test_export_is_a_scoped_filtered_workbook(client, reporter_a, variety, project_a, project_b):
    client.force_login(reporter_a)
    response = client.get(EXPORT_URL, {"min_investment": "5000", "sort": "total_investment"})
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert download_name(response) == "重点项目-20261121-1000.xlsx"

    sheet = export_sheet(response)
    headers = [cell.value for cell in sheet[2]]
    assert len(headers) == 27 and all(headers)
    assert sheet.freeze_panes == "D3"
    assert sheet.auto_filter.ref.startswith("A2:")
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    names = [row[2] for row in rows]
    # Sorted ascending by total investment; project_b (unit B) is never exported to reporter A.
    assert names == [variety["middle"].name, project_a.name, variety["big"].name]
    assert project_b.name not in names
    assert [row[0] for row in rows] == [1, 2, 3]
    for row in rows:
        assert isinstance(row[17], int | float) and isinstance(row[19], int | float)
        assert row[18] is None and row[20] is None  # no annual plan: blank, not zero
    assert sheet.cell(row=3, column=18).number_format == "#,##0.00"
    middle = rows[0]
    assert middle[14] == "王副县长"  # co-leaders
    assert middle[24] == "是" and middle[25] == "征地进度滞后"


def test_export_filters_like_the_page(client, supervisor, variety, project_b):
    client.force_login(supervisor)
    rows = export_rows(client.get(EXPORT_URL, {"red_card": "true"}))
    assert [row[2] for row in rows] == [variety["middle"].name]
    assert len(export_rows(client.get(EXPORT_URL))) == 4


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------


def _populate(reporter_a, unit_a, township, leaders, start: int, stop: int) -> None:
    period = periods.parse("2026-10")
    for n in range(start, stop):
        project = factories.create_project(
            actor=reporter_a,
            lead_unit=unit_a,
            name=f"项目{n:02d}",
            township=township,
            lead_leader=leaders[0],
            co_leaders=leaders,
            cooperating_units=[township],
        )
        services.year_plan_set(
            project=project, year=2026, actor=reporter_a, planned_investment=Decimal("100")
        )
        report = services.report_save(
            project=project, period=period, actor=reporter_a, investment=Decimal("10")
        )
        services.report_submit(report=report, actor=reporter_a)


@pytest.mark.parametrize("url", [LIST_URL, EXPORT_URL])
def test_fixed_number_of_queries(
    client,
    reporter_a,
    unit_a,
    township_1,
    leader_wang,
    leader_li,
    url,
    django_assert_max_num_queries,
):
    leaders = [leader_wang, leader_li]
    params = {"q": "项目", "leader": leader_wang.pk, "sort": "stage"}
    _populate(reporter_a, unit_a, township_1, leaders, 0, 5)
    client.force_login(reporter_a)
    cache.clear()  # both counts include the nav badge's query (cold cache)
    with django_assert_max_num_queries(20) as few:
        response = client.get(url, params)
    assert response.status_code == 200
    _populate(reporter_a, unit_a, township_1, leaders, 5, 60)
    cache.clear()
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(url, params)
    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    if url == EXPORT_URL:
        assert len(export_rows(response)) == 60
    else:
        assert len(names_on(response)) == 25
    assert Project.objects.count() == 60
