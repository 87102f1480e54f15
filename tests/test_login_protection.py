"""Login protection: a username and address are locked after too many wrong passwords (django-axes,
counted in the database), the lock shows a Chinese page, lifts after the cool-off or when an
administrator unlocks it, and leaves API tokens alone; staff change their password on a page of
their own, where default and demo passwords are refused."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import redis
import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse

from tests import factories
from tests.support.api import bearer, make_token
from tests.support.commands import manage
from tests.support.worlds import NOW
from tracker.login_protection import client_ip_address
from tracker.passwords import KnownDefaultPasswordValidator

PASSWORD = "pass12345"  # tests/factories.py; hashed directly, never validated
LIMIT = settings.AXES_FAILURE_LIMIT
COOL_OFF = settings.AXES_COOLOFF_TIME
HERE = "10.0.0.1"
ELSEWHERE = "10.0.0.2"


def attempt_login(client, username: str, password: str, *, ip: str = HERE, url: str = ""):
    return client.post(
        url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def fail(client, username: str, times: int, **kwargs):
    for _ in range(times):
        response = attempt_login(client, username, "wrong-password", **kwargs)
    return response


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def assert_lockout_page(response) -> str:
    page = response.content.decode()
    assert response.status_code == 429
    assert '<html lang="zh-hans">' in page and "重点项目调度督查平台" in page  # the site's layout
    assert "登录已锁定" in page
    assert "即使输入正确的密码也无法登录" in page
    assert "请联系本县平台管理员" in page
    return page


@pytest.fixture
def root(db):
    return factories.UserFactory(username="root", is_staff=True, is_superuser=True)


def test_settings_give_five_tries_and_thirty_minutes():
    # The defaults the README documents; the suite sets neither variable.
    assert LIMIT == 5
    assert dt.timedelta(minutes=30) == COOL_OFF
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


def test_failures_below_the_limit_then_the_right_password_logs_in(client, reporter_a, today):
    response = fail(client, "reporter_a", LIMIT - 1)
    assert response.status_code == 200
    assert "用户名和密码不匹配" in response.content.decode()
    assert AccessAttempt.objects.get(username="reporter_a").failures_since_start == LIMIT - 1

    response = attempt_login(client, "reporter_a", PASSWORD)

    assert response.status_code == 302 and response["Location"] == "/"
    assert logged_in(client)
    # A success clears the count: the next wrong passwords start again from one.
    assert not AccessAttempt.objects.exists()
    assert AccessLog.objects.get(username="reporter_a").ip_address == HERE


def test_the_limit_locks_even_the_right_password_out(client, reporter_a, today):
    response = fail(client, "reporter_a", LIMIT)
    page = assert_lockout_page(response)
    assert f"在本机已连续 {LIMIT} 次输错密码" in page
    assert "请在 30 分钟后（10:30 以后）再试" in page  # NOW is 10:00

    response = attempt_login(client, "reporter_a", PASSWORD)

    assert_lockout_page(response)
    assert not logged_in(client)
    # Tries during the lock neither count nor extend it.
    assert AccessAttempt.objects.get(username="reporter_a").failures_since_start == LIMIT
    failures = AccessFailureLog.objects.filter(username="reporter_a", ip_address=HERE)
    assert failures.count() == LIMIT
    assert failures.filter(locked_out=True).count() == 1


def test_the_lock_holds_when_redis_is_down(client, reporter_a, today, settings):
    # Nothing listens on port 1: any cache call on the login path would be a 500.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with pytest.raises(redis.exceptions.ConnectionError):
        cache.get("anything")

    assert_lockout_page(fail(client, "reporter_a", LIMIT))
    assert_lockout_page(attempt_login(client, "reporter_a", PASSWORD))
    assert AccessAttempt.objects.get(username="reporter_a").failures_since_start == LIMIT


def test_the_lock_names_whom_to_ask_when_configured(client, reporter_a, today, settings):
    settings.TRACKER_SUPPORT_CONTACT = "县重点项目服务中心 0830-1234567"
    response = fail(client, "reporter_a", LIMIT)
    assert response.status_code == 429
    assert "请联系平台管理员：县重点项目服务中心 0830-1234567" in response.content.decode()


def test_the_lock_is_per_username_and_address(reporter_a, reporter_b, today):
    attacker = Client()
    fail(attacker, "reporter_a", LIMIT, ip=HERE)
    assert attempt_login(attacker, "reporter_a", PASSWORD, ip=HERE).status_code == 429

    # The owner at another computer logs in.
    owner = Client()
    assert attempt_login(owner, "reporter_a", PASSWORD, ip=ELSEWHERE).status_code == 302
    assert logged_in(owner)
    # A colleague at the locked computer logs in.
    colleague = Client()
    assert attempt_login(colleague, "reporter_b", PASSWORD, ip=HERE).status_code == 302
    assert logged_in(colleague)


def test_the_lock_lifts_after_the_cool_off(client, reporter_a, today):
    fail(client, "reporter_a", LIMIT)

    with time_machine.travel(NOW + COOL_OFF - dt.timedelta(minutes=1), tick=False):
        response = attempt_login(client, "reporter_a", PASSWORD)
        assert "请在 1 分钟后（10:30 以后）再试" in assert_lockout_page(response)
    with time_machine.travel(NOW + COOL_OFF + dt.timedelta(seconds=1), tick=False):
        response = attempt_login(client, "reporter_a", PASSWORD)

    assert response.status_code == 302
    assert logged_in(client)


def test_failures_further_apart_than_the_cool_off_do_not_add_up(client, reporter_a, today):
    fail(client, "reporter_a", LIMIT - 1)
    with time_machine.travel(NOW + COOL_OFF + dt.timedelta(minutes=1), tick=False):
        assert fail(client, "reporter_a", 1).status_code == 200
        assert attempt_login(client, "reporter_a", PASSWORD).status_code == 302


def test_an_administrator_unlocks_a_login_in_the_admin(client, reporter_a, root, today):
    fail(Client(), "reporter_a", LIMIT)
    attempt = AccessAttempt.objects.get(username="reporter_a")
    admin = Client()
    admin.force_login(root)
    changelist = reverse("admin:axes_accessattempt_changelist")

    page = admin.get(changelist).content.decode()
    assert "登录失败与锁定" in page and "锁定至 2026-11-21 10:30" in page
    assert "解锁所选登录" in page
    index = admin.get(reverse("admin:index")).content.decode()
    assert "登录保护" in index and "登录日志" in index and "登录失败日志" in index

    response = admin.post(changelist, {"action": "unlock", "_selected_action": [attempt.pk]})

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    entry = LogEntry.objects.get(action_flag=DELETION)
    assert entry.user == root
    assert entry.change_message == f"已解锁 reporter_a 从 {HERE} 的登录。"
    user = Client()
    assert attempt_login(user, "reporter_a", PASSWORD).status_code == 302
    assert logged_in(user)


def test_axes_reset_username_unlocks_a_login(client, reporter_a, today):
    fail(client, "reporter_a", LIMIT)

    call_command("axes_reset_username", "reporter_a", stdout=io.StringIO())

    assert attempt_login(client, "reporter_a", PASSWORD).status_code == 302
    assert logged_in(client)


def test_api_tokens_are_neither_counted_nor_locked(client, reporter_a, today):
    secret = make_token(reporter_a)
    for _ in range(LIMIT + 1):
        response = client.get("/api/v1/me/", headers=bearer("trk_wrong"), REMOTE_ADDR=HERE)
        assert response.status_code == 401
    assert not AccessAttempt.objects.exists()
    assert not AccessFailureLog.objects.exists()

    fail(client, "reporter_a", LIMIT)
    response = client.get("/api/v1/me/", headers=bearer(secret), REMOTE_ADDR=HERE)

    # A lock stops password guessing; a token is a separate secret, revoked on its own.
    assert response.status_code == 200
    assert response.json()["username"] == "reporter_a"


def test_the_admin_login_is_protected_the_same_way(client, root, today):
    admin_login = reverse("admin:login")
    response = fail(client, "root", LIMIT - 1, url=admin_login)
    assert response.status_code == 200
    # The site's and the admin's login share one count.
    response = fail(client, "root", 1)
    assert_lockout_page(response)

    response = attempt_login(client, "root", PASSWORD, url=admin_login)

    assert_lockout_page(response)
    assert not logged_in(client)


def test_an_admin_login_lockout_alone_locks(client, root, today):
    response = fail(client, "root", LIMIT, url=reverse("admin:login"))
    assert_lockout_page(response)
    assert attempt_login(client, "root", PASSWORD).status_code == 429


def test_the_client_address_is_the_one_trusted_proxies_saw(settings):
    request = RequestFactory().post(
        "/accounts/login/",
        REMOTE_ADDR="172.18.0.5",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9",
    )
    assert client_ip_address(request) == "172.18.0.5"  # no proxy: X-Forwarded-For is forged
    settings.TRACKER_TRUSTED_PROXIES = 1
    assert client_ip_address(request) == "203.0.113.9"
    settings.TRACKER_TRUSTED_PROXIES = 2
    assert client_ip_address(request) == "6.6.6.6"
    settings.TRACKER_TRUSTED_PROXIES = 3
    assert client_ip_address(request) == "172.18.0.5"
    request.META["HTTP_X_FORWARDED_FOR"] = "not-an-address"
    settings.TRACKER_TRUSTED_PROXIES = 1
    assert client_ip_address(request) == "172.18.0.5"


def test_login_settings_come_from_the_environment():
    # Two processes (about two seconds): settings are read once, at start-up.
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings as s; "
        "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), "
        "s.AUTH_PASSWORD_VALIDATORS[1]['OPTIONS']['min_length'])",
        TRACKER_LOGIN_FAILURE_LIMIT="3",
        TRACKER_LOGIN_COOLOFF_MINUTES="10",
        TRACKER_PASSWORD_MIN_LENGTH="12",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["3", "600.0", "12"]
    result = manage("check", TRACKER_LOGIN_FAILURE_LIMIT="five")
    assert result.returncode != 0
    assert "TRACKER_LOGIN_FAILURE_LIMIT='five' is not an integer" in result.stderr


# --- passwords --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["demo12345", "pass12345", "Demo@2026!", "PASSWORD2026", "admin123456", "Welcome#2026"],
)
def test_default_and_demo_passwords_are_refused(password, db):
    with pytest.raises(ValidationError) as refused:
        validate_password(password)
    assert "password_default" in [error.code for error in refused.value.error_list]


def test_default_passwords_are_refused_whatever_their_length():
    with pytest.raises(ValidationError):
        KnownDefaultPasswordValidator().validate("demo1234567890123")


def test_the_username_with_digits_is_refused(db):
    user = factories.UserFactory(username="jtj_head")
    with pytest.raises(ValidationError):
        validate_password("JtjHead2026!", user)


def test_a_password_of_ones_own_passes(db):
    user = factories.UserFactory(username="jtj_head")
    validate_password("Fenghuang-bridge-77", user)


def test_passwords_must_have_ten_characters(db):
    with pytest.raises(ValidationError) as refused:
        validate_password("Xq7#vB2m")
    assert [error.code for error in refused.value.error_list] == ["password_too_short"]
    assert refused.value.messages == ["密码太短：至少需要 10 个字符。"]


# --- the password-change page -----------------------------------------------------------------


def change_password(client, old: str, new: str):
    return client.post(
        reverse("password_change"),
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


def test_the_password_change_page_needs_a_login(client, db):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_user_menu_links_the_password_change_page(client, reporter_a):
    client.force_login(reporter_a)
    page = client.get("/").content.decode()
    assert f'href="{reverse("password_change")}">修改密码</a>' in page


def test_the_password_change_page_is_in_chinese(client, reporter_a):
    client.force_login(reporter_a)
    response = client.get(reverse("password_change"))
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in page and "重点项目调度督查平台" in page
    for text in ("修改密码", "旧密码", "新密码", "至少 10 个字符", "demo12345"):
        assert text in page


def test_a_password_is_changed_with_the_current_one(client, reporter_a):
    client.force_login(reporter_a)

    response = change_password(client, PASSWORD, "Fenghuang-bridge-77")

    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    reporter_a.refresh_from_db()
    assert reporter_a.check_password("Fenghuang-bridge-77")
    done = client.get(response["Location"])
    assert done.status_code == 200 and "密码已修改" in done.content.decode()
    assert client.get("/").status_code == 200  # still logged in here


def test_a_wrong_current_password_changes_nothing(client, reporter_a):
    client.force_login(reporter_a)

    response = change_password(client, "not-my-password", "Fenghuang-bridge-77")

    assert response.status_code == 200
    assert "旧密码不正确" in response.content.decode()
    reporter_a.refresh_from_db()
    assert reporter_a.check_password(PASSWORD)


def test_the_demo_password_is_refused_on_the_password_change_page(client, reporter_a):
    client.force_login(reporter_a)

    response = change_password(client, PASSWORD, "demo12345")

    assert response.status_code == 200
    page = response.content.decode()
    assert "该密码是默认密码、演示密码" in page
    assert "密码太短：至少需要 10 个字符。" in page
    reporter_a.refresh_from_db()
    assert reporter_a.check_password(PASSWORD)
