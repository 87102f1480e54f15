"""The web error pages (400, 403, 404, 500, CSRF failure) with DEBUG off: Chinese, inside the
site's layout, with a way back, showing our own message and never a technical one; the 500 page
with the database and the cache unreachable; the API keeps its JSON errors."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from tests.support.api import assert_error
from tests.support.error_urls import TECHNICAL

HOME = 'href="/"'
LAYOUT = 'class="topbar"'  # base.html's header: the page is inside the site's layout
ENGLISH = ("Not Found", "Forbidden", "Bad Request", "Server Error", "CSRF", "Traceback")


@pytest.fixture(autouse=True)
def _production(settings):
    settings.DEBUG = False
    settings.ROOT_URLCONF = "tests.support.error_urls"


def page(response, status: int) -> str:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert LAYOUT in html and "重点项目调度督查平台" in html
    for english in ENGLISH:
        assert english not in html, english
    return html


def test_an_unknown_address_is_a_chinese_404_with_a_way_home(client):
    html = page(client.get("/no-such-page/"), 404)
    assert "页面不存在" in html
    assert HOME in html and "返回首页" in html
    assert "Resolver404" not in html and "tried" not in html


def test_a_project_out_of_scope_shows_our_message(client, reporter_b, project_a):
    client.force_login(reporter_b)
    response = client.get(
        reverse("project_detail", args=[project_a.pk]),
        HTTP_REFERER="http://testserver/projects/",
    )
    html = page(response, 404)
    assert "您的职责范围内没有该项目。" in html
    assert 'href="http://testserver/projects/"' in html and "返回上一页" in html
    assert "reporter_b" in html or reporter_b.first_name in html  # the nav of a logged-in user


def test_a_technical_404_message_is_not_shown(client, reporter_a):
    client.force_login(reporter_a)
    html = page(client.post("/accounts/tokens/999999/revoke/"), 404)
    assert "页面不存在" in html
    assert "matches the given query" not in html and "ApiToken" not in html


def test_a_back_link_to_another_site_is_not_offered(client):
    html = page(client.get("/no-such-page/", HTTP_REFERER="https://evil.example/"), 404)
    assert "evil.example" not in html and "返回上一页" not in html


def test_a_forbidden_change_is_a_chinese_403_with_our_message(client, leader, project_a):
    client.force_login(leader)
    html = page(client.get(reverse("project_edit", args=[project_a.pk])), 403)
    assert "您无权进行此操作" in html
    assert "您无权修改该项目。" in html
    assert HOME in html


def test_a_bad_host_is_a_chinese_400(client):
    html = page(client.get("/", HTTP_HOST="evil.example"), 400)
    assert "请求有误" in html
    assert "evil.example" not in html and "ALLOWED_HOSTS" not in html
    assert HOME in html


def test_a_too_large_form_is_a_chinese_400_that_says_so(client, reporter_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    client.force_login(reporter_a)
    html = page(client.post(reverse("project_create"), {"name": "x" * 5000}), 400)
    assert "提交的内容太大" in html
    assert "RequestDataTooBig" not in html


def test_a_bug_is_a_chinese_500_without_its_details(db):
    client = Client(raise_request_exception=False)
    html = page(client.get("/boom/"), 500)
    assert "服务器出错了" in html and HOME in html
    assert TECHNICAL not in html and "secret_column" not in html and "RuntimeError" not in html


def test_the_500_page_needs_neither_database_nor_cache(settings):
    """No ``db`` fixture: pytest-django refuses every database access in this test, as a dead
    database would; the cache points at a port where no Redis listens. The view fails the way
    a dead database makes it fail, and the request carries a session cookie as a logged-in
    user's would."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with pytest.raises(Exception):  # noqa: B017 - any connection error: the cache is down
        caches["default"].get("probe")
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "a-session-the-dead-database-holds"
    html = page(client.get("/boom/database/"), 500)
    assert "服务器出错了" in html
    assert "/static/css/app.css" in html  # the full page, not the last-resort fallback
    assert "5432" not in html and "Connection refused" not in html


def test_the_500_template_renders_with_no_context_at_all():
    html = render_to_string("500.html")
    assert "服务器出错了" in html and HOME in html and LAYOUT in html


def test_a_stale_form_is_a_chinese_csrf_page_with_log_in_again(db):
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))  # the cookie is set; the form below carries an old token
    response = client.post(
        reverse("login"),
        {"username": "a", "password": "b", "csrfmiddlewaretoken": "x" * 32},
        HTTP_REFERER="http://testserver/accounts/login/",
    )
    html = page(response, 403)
    assert "页面已过期" in html and "没有保存" in html
    assert "重新登录" in html and 'href="/accounts/login/?next=' in html
    assert "返回上一页" in html and HOME in html


def test_a_logged_in_user_is_not_asked_to_log_in_again(reporter_a):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reporter_a)
    html = page(client.post(reverse("logout")), 403)
    assert "页面已过期" in html and "重新登录" not in html
    assert "Cookie" in html  # the test client sent none


def test_a_missing_cookie_says_so(db):
    client = Client(enforce_csrf_checks=True)
    html = page(client.post(reverse("login"), {"username": "a"}), 403)
    assert "Cookie" in html


def test_the_api_keeps_its_json_errors(client, reporter_a):
    # Under /api/ but outside DRF: the site's handlers answer in the API's format.
    assert_error(Client(raise_request_exception=False).get("/api/v1/boom/"), 500, "server_error")
    assert_error(client.get("/api/v1/me/", HTTP_HOST="evil.example"), 400, "invalid")
    # DRF's own answers are unchanged.
    assert_error(client.get("/api/v1/nothing-here/"), 404, "not_found")
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(reporter_a)
    assert_error(csrf.post("/api/v1/units/", {}), 403, "csrf_failed")
