"""Rank history and the bulletin in a real headless Chromium: the history chart draws on a
canvas with no error in the browser console, on the ranking page and a unit's history page;
screenshots of the bulletin at desktop width and 375 px go to test-artifacts/screenshots/."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from projects import services
from projects.models import Role
from supervision import rankings
from tests import factories
from tests.support.browser import SCREENSHOTS, login, shoot
from tracker import periods


@pytest.fixture
def published(transactional_db):
    county = factories.UnitFactory(name="示范县", kind="county")
    supervisor = factories.member(county, Role.SUPERVISOR, username="ducha", first_name="督查员")
    today = timezone.localdate()
    units = []
    for n, (name, amount) in enumerate([("交通运输局", 700), ("水利局", 300), ("住建局", 500)]):
        unit = factories.UnitFactory(name=name, kind="department", parent=county)
        reporter = factories.member(unit, Role.REPORTER, username=f"r{n}")
        project = factories.create_project(actor=reporter, lead_unit=unit, name=f"{name}重点项目")
        services.year_plan_set(
            project=project, year=today.year, actor=reporter, planned_investment=Decimal(1000)
        )
        units.append((unit, reporter, project, amount))
    scheme = factories.RankingSchemeFactory(parent_unit=county)
    period = periods.containing("month", today).previous()
    history = [period.previous().previous(), period.previous(), period]
    snapshot = None
    for step, month in enumerate(history):
        for n, (_unit, reporter, project, amount) in enumerate(units):
            report = services.report_save(
                project=project,
                period=month,
                actor=reporter,
                investment=Decimal(amount // 3 if (n + step) % 2 else amount // 6),
            )
            services.report_submit(report=report, actor=reporter)
        snapshot = rankings.ranking_compute(scheme=scheme, period=month)
        if month == period:
            rankings.ranking_set_commentary(
                snapshot=snapshot,
                commentary="交通运输局推进有力，予以表扬。\n水利局进度滞后，请限期整改。",
                actor=supervisor,
            )
        rankings.ranking_publish(snapshot=snapshot, actor=supervisor)
    return {"snapshot": snapshot, "scheme": scheme, "unit": units[1][0]}


def _errors(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_history_chart_and_bulletin_in_a_real_browser(browser, live_server, published):
    base = live_server.url
    snapshot = published["snapshot"]
    page = login(browser, base, "ducha", width=1366)
    errors = _errors(page)
    page.goto(f"{base}/rankings/{snapshot.pk}/")
    page.wait_for_selector("[data-rank-chart][data-rendered='1'] canvas")
    assert page.locator("[data-rank-chart] canvas").count() == 1
    page.hover("[data-rank-chart] canvas")  # the tooltip opens under the policy
    shoot(page, "ranking-history-desktop")
    # The period picker opens the chosen period's ranking (static/js/ranking_detail.js).
    earlier = snapshot.scheme.snapshots.get(period_key=snapshot.period.previous().key)
    with page.expect_navigation():
        page.select_option("#period-picker", label=earlier.period_label)
    assert page.url.endswith(f"/rankings/{earlier.pk}/")
    page.goto(f"{base}/rankings/scheme/{published['scheme'].pk}/unit/{published['unit'].pk}/")
    page.wait_for_selector("[data-rank-chart][data-rendered='1'] canvas")
    page.goto(f"{base}/rankings/{snapshot.pk}/bulletin/")
    assert "水利局进度滞后" in page.content()
    shoot(page, "bulletin-desktop")
    assert errors == []

    phone = login(browser, base, "ducha", width=375)
    phone_errors = _errors(phone)
    phone.goto(f"{base}/rankings/{snapshot.pk}/bulletin/")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, width  # the tables scroll inside the page
    shoot(phone, "bulletin-375")
    phone.goto(f"{base}/rankings/{snapshot.pk}/")
    phone.wait_for_selector("[data-rank-chart][data-rendered='1'] canvas")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375 + 1, width
    shoot(phone, "ranking-history-375")
    assert phone_errors == []

    # The print layout: the sheet alone, without the site's header, navigation and buttons.
    page.emulate_media(media="print")
    page.goto(f"{base}/rankings/{snapshot.pk}/bulletin/")
    assert page.locator(".topbar").is_hidden()
    assert page.locator(".bulletin-actions").is_hidden()
    assert page.locator(".bulletin-title").is_visible()
    page.pdf(path=str(SCREENSHOTS / "bulletin-print.pdf"), format="A4", prefer_css_page_size=True)
