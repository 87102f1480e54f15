"""The real headless Chromium of the browser tests: Debian's /usr/bin/chromium driven by
Playwright (Playwright's own browser download does not work on county intranets or here).

tests/browser/conftest.py starts one Chromium for all browser tests; each test opens contexts of
its own (``login``), so no cookie or storage passes from one test to the next.
"""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
# Without the background-networking flags Chromium keeps dialling Google's hosts, which a closed
# network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "pass12345"  # tests/factories.py gives every user this password


def login(browser, base: str, username: str, width: int = 1280):
    """A new browser context logged in as ``username`` through the login form; returns its page
    on the home page."""
    page = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN").new_page()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return page


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def console_errors(page) -> list[str]:
    """The errors the page's console and scripts report from now on (a Content-Security-Policy
    violation is one), collected as they come."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors
