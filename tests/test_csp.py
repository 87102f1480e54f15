"""The Content-Security-Policy: the strict policy on every page (the error pages included), the
relaxed one on the API's Swagger page alone, and no inline script, style or event handler in
our templates or in HTML written by our Python code. tests/browser/ checks in Chromium that the
pages run under it with no violation in the console."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

ROOT = Path(settings.BASE_DIR)
STRICT = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sorted(values) for name, *values in directives}


def strict() -> dict[str, list[str]]:
    return {name: sorted(values) for name, values in STRICT.items()}


@pytest.mark.parametrize(
    "persona, url, status",
    [
        ("anonymous", "/accounts/login/", 200),
        ("reporter_a", "/", 200),
        ("leader", "/dashboard/", 200),
        ("reporter_a", "/projects/", 200),
        ("reporter_a", "/no-such-page/", 404),
        ("reporter_b", "project_a", 404),
        ("leader", "project_a_edit", 403),
        ("anonymous", "/api/v1/me/", 401),
    ],
)
def test_pages_carry_the_strict_policy(client, request, persona, url, status, settings):
    settings.DEBUG = False
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    if url.startswith("project_a"):
        project = request.getfixturevalue("project_a")
        url = reverse(
            "project_edit" if url.endswith("_edit") else "project_detail", args=[project.pk]
        )
    response = client.get(url)
    assert response.status_code == status
    assert policy(response) == strict()


def test_the_500_page_carries_the_strict_policy(db, settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.support.error_urls"
    response = Client(raise_request_exception=False).get("/boom/")
    assert response.status_code == 500
    assert policy(response) == strict()


def test_the_csrf_failure_page_carries_the_strict_policy(db):
    response = Client(enforce_csrf_checks=True).post(reverse("login"), {})
    assert response.status_code == 403
    assert policy(response) == strict()


def test_swagger_alone_may_use_inline_styles_and_stays_offline(client, reporter_a):
    client.force_login(reporter_a)
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    relaxed = strict()
    relaxed["style-src"] = sorted(["'self'", "'unsafe-inline'"])
    assert policy(response) == relaxed
    html = response.content.decode()
    assert "<script>" not in html  # its script is a file of its own (?script)
    assert not re.search(r"""(src|href)=["']https?://""", html)  # everything from our server
    script = client.get(reverse("api-docs"), {"script": ""})
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert "unsafe-inline" not in policy(script)["script-src"]


# --- no inline script, style or handler ------------------------------------------------------

TAG = r"<[a-zA-Z][^<>]*?"
INLINE = {
    "inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
    "<style> element": re.compile(r"<style\b", re.I),
    "event handler attribute": re.compile(TAG + r"\son[a-z]+\s*=", re.I | re.S),
    "style attribute": re.compile(TAG + r"\sstyle\s*=", re.I | re.S),
    "javascript: URL": re.compile(r"javascript\s*:", re.I),
    "htmx hx-on (evaluated)": re.compile(TAG + r"\shx-on", re.I | re.S),
    "htmx js: values": re.compile(r"""hx-vals\s*=\s*["']\s*(js|javascript):""", re.I),
}


def inline_code(text: str) -> list[str]:
    return [name for name, pattern in INLINE.items() if pattern.search(text)]


def python_html(path: Path) -> list[str]:
    """The string literals of a Python module that hold HTML (format_html, mark_safe…)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "<" in node.value
    ]


@pytest.mark.parametrize(
    "text, found",
    [
        ("<script>alert(1)</script>", ["inline <script>"]),
        ('<script type="module">x()</script>', ["inline <script>"]),
        ('<button onclick="go()">', ["event handler attribute"]),
        ('<select\n  name="x" onchange="this.form.submit()">', ["event handler attribute"]),
        ('<div class="bar" style="width: {{ pct }}%">', ["style attribute"]),
        ('<a href="javascript:history.back()">', ["javascript: URL"]),
        ("<style>.x{}</style>", ["<style> element"]),
        ('<div hx-on:click="alert(1)">', ["htmx hx-on (evaluated)"]),
        ("<script src=\"{% static 'js/x.js' %}\" defer></script>", []),
        ('<link rel="stylesheet" href="x.css"><a class="one" href="/">', []),
        ("{{ data|json_script:'chart-data' }}", []),
    ],
)
def test_the_scan_finds_inline_code(text, found):
    assert inline_code(text) == found


def test_templates_hold_no_inline_code():
    found = {
        str(path.relative_to(ROOT)): kinds
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if (kinds := inline_code(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "Move them to static/js/<page>.js and static/css/ (CONVENTIONS.md)"


def test_html_written_in_python_holds_no_inline_code():
    found = {}
    for package in ("tracker", "projects", "supervision"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for text in python_html(path):
                if kinds := inline_code(text):
                    found.setdefault(str(path.relative_to(ROOT)), []).extend(kinds)
    assert found == {}
