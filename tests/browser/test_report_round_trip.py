"""End to end in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

A reporter writes and submits a report with a photo; the unit head returns it; the reporter
fixes and resubmits; the unit head approves; the project page shows the new year-to-date figure.
Screenshots of the pages (desktop and 375 px) go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from projects import selectors, services
from projects.models import ProgressReport, ReportStatus, Role
from tests import factories
from tests.support.browser import login, shoot
from tests.support.files import jpeg_with_exif


@pytest.fixture
def county_data(transactional_db):
    county = factories.UnitFactory(name="示范县", kind="county")
    unit = factories.UnitFactory(
        name="交通运输局", short_name="交通局", kind="department", parent=county
    )
    reporter = factories.member(unit, Role.REPORTER, username="jtj", first_name="向小勇")
    head = factories.member(unit, Role.UNIT_HEAD, username="jtj_head", first_name="王光荣")
    project = factories.create_project(
        actor=reporter,
        lead_unit=unit,
        name="城区至园区公路改扩建工程",
        total_investment=Decimal("48000"),
        latitude=Decimal("30.8"),
        longitude=Decimal("108.4"),
    )
    today = timezone.localdate()
    services.year_plan_set(
        project=project,
        year=today.year,
        actor=reporter,
        planned_investment=Decimal("12000"),
        physical_target="完成路基和桥梁下部结构",
    )
    factories.create_milestone(project=project, actor=reporter, due_date=today, name="施工许可")
    return {"reporter": reporter, "head": head, "project": project, "today": today}


def test_report_round_trip_in_a_real_browser(browser, live_server, county_data, tmp_path):
    base = live_server.url
    project = county_data["project"]
    period = selectors.due_report_period(county_data["today"])
    report_path = f"/projects/{project.pk}/reports/{period.key}/"

    # The reporter writes and submits the report with a photo.
    page = login(browser, base, "jtj")
    assert "我的工作台" in page.content()
    shoot(page, "home-desktop")
    page.click(f"a[href='{report_path}']")
    page.fill("#id_investment", "1500")
    page.fill("#id_physical_progress", "路基完成40%，桥梁桩基开工")
    page.set_input_files("#id_photos", str(jpeg_with_exif(tmp_path / "site.jpg")))
    page.fill("#id_caption", "K3+200 桥梁桩基")
    shoot(page, "report-form-desktop")
    page.click("button[value=submit]")
    page.wait_for_selector("#report-status")
    assert page.inner_text("#report-status") == "已提交"
    assert page.locator("#report-photos img").count() == 1
    report = ProgressReport.objects.get(project=project, period_key=period.key)
    assert report.status == ReportStatus.SUBMITTED and report.photos.count() == 1
    page.context.close()

    # The unit head returns it with a reason.
    page = login(browser, base, "jtj_head")
    page.goto(base + report_path)
    page.fill("#id_return_reason", "投资额与财务台账不一致，请核实")
    page.click("#return")
    page.wait_for_selector("#return-reason")
    assert page.inner_text("#report-status") == "已退回"
    page.context.close()

    # The reporter sees the reason, corrects and resubmits.
    page = login(browser, base, "jtj", width=375)
    shoot(page, "home-375")
    page.goto(base + report_path)
    assert "投资额与财务台账不一致" in page.inner_text("#return-reason")
    shoot(page, "report-form-375")
    page.fill("#id_investment", "1380")
    page.click("button[value=submit]")
    page.wait_for_selector("#report-status")
    assert page.inner_text("#report-status") == "已提交"
    page.context.close()

    # The unit head approves; the project page shows the new year-to-date figure.
    page = login(browser, base, "jtj_head")
    page.goto(base + report_path)
    page.click("#approve")
    page.wait_for_selector("#report-status")
    assert page.inner_text("#report-status") == "已审核"
    page.goto(f"{base}/projects/{project.pk}/")
    assert page.inner_text("#year-to-date") == "1,380万元"
    shoot(page, "project-desktop")
    page.set_viewport_size({"width": 375, "height": 800})
    shoot(page, "project-375")
    page.context.close()

    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED
    assert report.investment == Decimal("1380")
    statuses = [h.status for h in report.history.order_by("history_date", "history_id")]
    assert statuses[-4:] == ["returned", "returned", "submitted", "approved"]
