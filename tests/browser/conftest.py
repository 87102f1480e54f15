"""One real headless Chromium for all the browser tests of this package.

Playwright's sync API keeps an asyncio event loop running in this thread for as long as the
browser lives, and Django refuses ORM calls while a loop runs (SynchronousOnlyOperation). The
browser therefore lives only while this package's tests run: pytest tears a package-scoped
fixture down when the next test is outside the package, and under pytest-xdist the whole package
is one group, run in a row by one worker. The tests' own ORM calls between browser steps are
synchronous and safe; DJANGO_ALLOW_ASYNC_UNSAFE says so for that time only.
"""

from __future__ import annotations

import os

import pytest

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS


def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(scope="package")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"No Chromium at {CHROMIUM}: `make test` installs Debian's chromium package.")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture(autouse=True)
def _close_contexts(browser):
    """Whatever a test leaves open (a failed assertion skips its own close) is closed after it."""
    yield
    for context in browser.contexts:
        context.close()
