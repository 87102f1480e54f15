"""The dashboard in a real headless Chromium: a leader logs in, every chart draws on a canvas
with no error in the browser console, a click on a bar opens the list behind it; screenshots at
desktop width and 375 px go to test-artifacts/screenshots/."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from projects import selectors, services
from projects.models import Role
from tests import factories
from tests.support.browser import login, shoot
from tracker import periods

CHARTS = ["chart-monthly", "chart-category", "chart-township", "chart-funnel", "chart-lights"]


@pytest.fixture
def county(transactional_db):
    county = factories.UnitFactory(name="示范县", kind="county")
    roads = factories.UnitFactory(name="交通运输局", kind="department", parent=county)
    town = factories.UnitFactory(name="龙河镇", kind="township", parent=county)
    reporter = factories.member(roads, Role.REPORTER, username="jtj")
    factories.member(county, Role.LEADER, username="xianzhang", first_name="县长")
    today = timezone.localdate()
    last_round = periods.containing(selectors.report_period_kind(), today).previous()
    for n, (category, amount) in enumerate([("transport", 900), ("water", 400), ("energy", 250)]):
        project = factories.create_project(
            actor=reporter,
            lead_unit=roads,
            name=f"项目{n}",
            category=category,
            township=town,
            total_investment=Decimal(amount * 10),
        )
        services.year_plan_set(
            project=project, year=today.year, actor=reporter, planned_investment=Decimal(amount)
        )
        if last_round.end.year == today.year:
            report = services.report_save(
                project=project, period=last_round, actor=reporter, investment=Decimal(amount // 3)
            )
            services.report_submit(report=report, actor=reporter)
    return county


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_leader_sees_the_charts_and_drills_down(browser, live_server, county):
    base = live_server.url
    page = login(browser, base, "xianzhang", width=1366)
    errors = _errors(page)
    page.goto(f"{base}/dashboard/")
    page.wait_for_selector("html[data-charts='5']")
    for chart in CHARTS:
        assert page.locator(f"#{chart} canvas").count() == 1, chart
        assert page.get_attribute(f"#{chart}", "data-rendered") == "1"
    assert "重点项目" in page.content()
    shoot(page, "dashboard-desktop")
    # Every chart's tooltip opens under the Content-Security-Policy (drawn on the canvas).
    for chart in CHARTS:
        page.hover(f"#{chart}")
    # Click the first bar (交通's annual plan) of the category chart: its list opens.
    page.locator("#chart-category").scroll_into_view_if_needed()  # the hovers scrolled
    box = page.locator("#chart-category").bounding_box()
    x, y = page.evaluate(
        """() => {
            const chart = echarts.getInstanceByDom(document.getElementById('chart-category'));
            const rect = chart.getModel().getSeriesByIndex(0).getData().getItemLayout(0);
            return [rect.x + rect.width / 2, rect.y + rect.height / 2];
        }"""
    )
    with page.expect_navigation():
        page.mouse.click(box["x"] + x, box["y"] + y)
    assert "/projects/" in page.url and "category=transport" in page.url
    assert "项目0" in page.content() and "项目1" not in page.content()
    assert errors == []

    phone = login(browser, base, "xianzhang", width=375)
    phone_errors = _errors(phone)
    phone.goto(f"{base}/dashboard/")
    phone.wait_for_selector("html[data-charts='5']")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, width  # nothing wider than the phone
    shoot(phone, "dashboard-375")
    phone.goto(f"{base}/units/{county.pk}/")
    shoot(phone, "scorecard-375")
    assert phone_errors == []
