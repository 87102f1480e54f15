"""The ledger import in a real headless Chromium: upload, the preview with an error row, the
refusal while it is kept, leaving it out, the import. Screenshots of the preview (desktop and
375 px) go to test-artifacts/screenshots/."""

from __future__ import annotations

from projects.models import ImportBatch, ImportStatus, Project, Role
from tests import factories
from tests.support.browser import console_errors, login, shoot
from tests.support.ledgers import simple_ledger


def test_ledger_import_preview_in_a_real_browser(
    browser,
    live_server,
    transactional_db,
    eager_tasks,
    tmp_path,
):
    county = factories.UnitFactory(name="示范县", kind="county")
    unit = factories.UnitFactory(name="交通运输局", kind="department", parent=county)
    factories.member(unit, Role.REPORTER, username="jtj", first_name="向小勇")
    path = tmp_path / "交通局台账.xlsx"
    path.write_bytes(
        simple_ledger(
            [
                {
                    "name": "城区至园区公路",
                    "code": "JT-001",
                    "category": "交通",
                    "total_investment": "1.2亿",
                },
                {"name": "滨江路改造", "category": "航天", "total_investment": "3,500"},
            ]
        )
    )
    base = live_server.url
    page = login(browser, base, "jtj")
    errors = console_errors(page)  # htmx runs under the Content-Security-Policy
    page.goto(f"{base}/ledgers/")
    page.set_input_files("#id_projects-file", str(path))
    page.click("form[action$='/ledgers/import/projects/'] button[type=submit]")
    page.wait_for_selector("table.ledger-preview")
    text = page.inner_text("body")
    assert "“航天”不是可选值" in text
    assert "新增" in text
    shoot(page, "ledger-preview-desktop")

    page.click("#confirm-form button.primary")
    page.wait_for_selector(".messages .error")
    assert not Project.objects.exists()

    page.check("input[name=skip_errors]")
    page.click("#confirm-form button.primary")
    page.wait_for_selector(".alert[role=status]")
    assert ImportBatch.objects.get().status == ImportStatus.DONE
    assert list(Project.objects.values_list("code", flat=True)) == ["JT-001"]
    assert errors == []

    small = login(browser, base, "jtj", width=375)
    small.goto(f"{base}/ledgers/imports/{ImportBatch.objects.get().pk}/")
    shoot(small, "ledger-import-375")
