"""Settings come from the environment and refuse bad values loudly."""

from __future__ import annotations

import pytest

from tests.support.commands import manage

PRODUCTION = {
    "DATABASE_URL": "postgres://tracker:secret@db:5432/tracker",
    "REDIS_URL": "redis://redis:6379/0",
    "SECRET_KEY": "k3y-" + "x9Qz!7pL#2mN$5vB8cR@4tY&6wE*1uI0oP" + "aSdFgHjKlZxCvBnM",
    "ALLOWED_HOSTS": "xmdd.example.gov.cn",
    "TRACKER_OC4IDS_PREFIX": "oc4ids-bu3kcz",
}


def test_production_settings_pass_the_deploy_check():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_the_oc4ids_placeholder_prefix_is_a_deploy_warning():
    without = {k: v for k, v in PRODUCTION.items() if k != "TRACKER_OC4IDS_PREFIX"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **without)
    assert result.returncode != 0
    assert "tracker.W001" in result.stderr and "oc4ids-xxxxxx" in result.stderr


def test_embedded_defaults_need_no_settings():
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, "
        "s.LANGUAGE_CODE, s.TIME_ZONE, s.USE_TZ)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "zh-hans",
        "Asia/Shanghai",
        "True",
    ]


def test_production_uses_postgres_and_redis():
    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings as s; "
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, "
        "s.CACHES['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, s.DEBUG)",
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "redis://redis:6379/0",
        "tracker.cache.FailSoftRedisCache",
        "False",
        "False",
    ]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"DATABASE_URL": "mysql://db/tracker"}, "DATABASE_URL"),
        ({"REDIS_URL": "localhost:6379"}, "REDIS_URL"),
        ({**PRODUCTION, "SECRET_KEY": ""}, "SECRET_KEY"),
        ({**PRODUCTION, "SECRET_KEY": "short"}, "SECRET_KEY"),
        ({**PRODUCTION, "ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({**PRODUCTION, "SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS"),
        ({"TRACKER_REPORT_CADENCE": "fortnight"}, "TRACKER_REPORT_CADENCE"),
        ({"ALLOWED_HOSTS": "a,,b"}, "ALLOWED_HOSTS"),
        ({"TRACKER_OC4IDS_PREFIX": "cn-tracker"}, "TRACKER_OC4IDS_PREFIX"),
        ({"TRACKER_OC4IDS_PREFIX": "oc4ids-ABC123"}, "TRACKER_OC4IDS_PREFIX"),
    ],
)
def test_bad_values_fail_loudly(env, named):
    result = manage("check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and named in result.stderr


def test_production_hashes_passwords_slowly_and_only_the_test_profile_does_not():
    """The test profile's fast hasher (tests/settings.py) must never reach a deployment: the
    production settings and the embedded demo hash new passwords with PBKDF2 (or Argon2) at
    Django's work factor."""
    code = (
        "from django.contrib.auth.hashers import get_hasher; "
        "h = get_hasher(); print(h.algorithm, getattr(h, 'iterations', 0))"
    )
    for env in (PRODUCTION, {}):
        result = manage("shell", "-v", "0", "-c", code, **env)
        assert result.returncode == 0, result.stderr
        algorithm, iterations = result.stdout.split()
        assert algorithm in {"pbkdf2_sha256", "argon2"}, algorithm
        assert algorithm == "argon2" or int(iterations) >= 1_000_000
    from django.contrib.auth.hashers import get_hasher

    assert get_hasher().algorithm == "md5"  # this run: the test profile
