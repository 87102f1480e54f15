"""The Content-Security-Policy in a real Chromium: a violation is an error in the browser console
(so every browser test, which fails on console errors, fails on one), and the pages that run
third-party code under it (the admin, Swagger UI) and the error pages raise none. Screenshots
of the error pages go to test-artifacts/screenshots/."""

from __future__ import annotations

from projects.models import Role
from tests import factories
from tests.support.browser import console_errors, login, shoot


def _wait_for(page, errors: list[str], count: int) -> None:
    for _ in range(40):
        if len(errors) >= count:
            return
        page.wait_for_timeout(50)


def test_a_violation_is_a_console_error(browser, live_server, transactional_db):
    unit = factories.UnitFactory(name="交通运输局")
    factories.member(unit, Role.REPORTER, username="jtj")
    base = live_server.url
    page = login(browser, base, "jtj")
    errors = console_errors(page)
    page.evaluate(
        """() => {
            document.body.insertAdjacentHTML(
                'beforeend', '<p id="planted" style="color: rgb(255, 0, 0)">x</p>');
            const script = document.createElement('script');
            script.textContent = 'window.inlineScriptRan = true;';
            document.body.appendChild(script);
        }"""
    )
    _wait_for(page, errors, 2)
    assert page.evaluate("window.inlineScriptRan") is None
    color = page.evaluate("getComputedStyle(document.getElementById('planted')).color")
    assert color != "rgb(255, 0, 0)"
    assert len(errors) == 2
    assert all("Content Security Policy" in error for error in errors), errors


def test_admin_swagger_and_error_pages_run_under_the_policy(browser, live_server, transactional_db):
    county = factories.UnitFactory(name="示范县", kind="county")
    unit = factories.UnitFactory(name="交通运输局", parent=county)
    reporter = factories.member(unit, Role.REPORTER, username="jtj")
    project = factories.create_project(actor=reporter, lead_unit=unit, name="城区至园区公路")
    factories.member(county, Role.SUPERVISOR, username="admin", is_staff=True, is_superuser=True)
    base = live_server.url
    page = login(browser, base, "admin", width=1366)
    errors = console_errors(page)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    # The admin's pages name no icon, so Chromium asks for /favicon.ico, which the site has not.
    page.context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    for path in (
        "/admin/",
        "/admin/projects/project/",
        f"/admin/projects/project/{project.pk}/change/",
        "/admin/projects/project/add/",
    ):
        page.goto(f"{base}{path}")
        assert page.locator("#content").count() == 1, path
    page.goto(f"{base}/api/docs/")
    page.wait_for_selector("#swagger-ui .information-container")
    page.wait_for_selector("#swagger-ui .opblock")  # the schema was fetched and drawn
    assert errors == [], (errors, missing)

    # An error page's own status is the one error its console reports.
    for path, text, name in (
        ("/no-such-page/", "页面不存在", "error-404"),
        (f"/projects/{project.pk + 1000}/", "您的职责范围内没有该项目。", "error-404-message"),
    ):
        page.goto(f"{base}{path}")
        assert text in page.content()
        shoot(page, name)
    assert missing == [f"{base}/no-such-page/", f"{base}/projects/{project.pk + 1000}/"]
    assert (
        errors
        == ["Failed to load resource: the server responded with a status of 404 (Not Found)"] * 2
    )
