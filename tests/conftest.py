"""Shared fixtures: personas (who may see and do what) and factories.

The suite runs on PostgreSQL and Redis, as production does; `make test` sets DATABASE_URL and
REDIS_URL. Running it on SQLite by accident is refused.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from projects.models import Role
from tests import factories


def pytest_report_header(config) -> list[str]:
    db = settings.DATABASES["default"]
    where = f"{db.get('HOST') or 'local'}:{db.get('PORT') or '-'}"
    return [
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]} at {where}, database test_{db['NAME']}",
        f"redis: {os.environ.get('REDIS_URL', 'not set')}",
    ]


def pytest_configure(config) -> None:
    if connection.vendor != "postgresql" and not os.environ.get("ALLOW_NON_POSTGRES_TESTS"):
        pytest.exit(
            "The test suite runs on PostgreSQL: use `make test` (or set DATABASE_URL).",
            returncode=2,
        )


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache: the test database restarts its ids on every run,
    so a count cached in Redis by an earlier run (the nav badge's, keyed by user id) would
    otherwise answer for a different user."""
    cache.clear()


@pytest.fixture(autouse=True)
def _files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # collectstatic's manifest is a deployment step; tests read static files from the tree.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def today():
    """Domain tests run at a fixed moment: 2026-11-21 10:00 Asia/Shanghai."""
    with time_machine.travel(NOW, tick=False):
        yield NOW.date()


@pytest.fixture
def county(db, today):
    return factories.UnitFactory(
        name="示范县", kind="county", parent=factories.UnitFactory(name="示范市", kind="city")
    )


@pytest.fixture
def unit_a(county):
    return factories.UnitFactory(name="交通运输局", kind="department", parent=county)


@pytest.fixture
def unit_b(county):
    return factories.UnitFactory(name="水利局", kind="department", parent=county)


@pytest.fixture
def reporter_a(unit_a):
    return factories.member(unit_a, Role.REPORTER, username="reporter_a")


@pytest.fixture
def head_a(unit_a):
    return factories.member(unit_a, Role.UNIT_HEAD, username="head_a")


@pytest.fixture
def reporter_b(unit_b):
    return factories.member(unit_b, Role.REPORTER, username="reporter_b")


@pytest.fixture
def supervisor(county):
    return factories.member(county, Role.SUPERVISOR, username="supervisor")


@pytest.fixture
def leader(county):
    return factories.member(county, Role.LEADER, username="leader")


@pytest.fixture
def project_a(unit_a, reporter_a):
    return factories.create_project(actor=reporter_a, lead_unit=unit_a, name="城区至园区公路改扩建")


@pytest.fixture
def project_b(unit_b, reporter_b):
    return factories.create_project(actor=reporter_b, lead_unit=unit_b, name="水库除险加固")
