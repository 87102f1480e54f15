"""Shared fixtures: personas (who may see and do what), the objects several modules build on, a
real Celery worker and Celery run in-process. Helpers are in tests/support/, factories in
tests/factories.py.

The suite runs on PostgreSQL and Redis, as production does; `make test` sets DATABASE_URL and
REDIS_URL. Running it on SQLite by accident is refused. The settings are tests/settings.py: the
production ones with a fast password hasher and one Redis database per pytest-xdist worker.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from pytest_django.plugin import blocking_manager_key

from projects.models import Leader, Role
from supervision.inspections import services as inspection_services
from tests import factories
from tests.support import migration_data
from tests.support.worker import start_worker
from tests.support.worlds import NOW
from tracker.celery import app as celery_app


def pytest_report_header(config) -> list[str]:
    db = settings.DATABASES["default"]
    where = f"{db.get('HOST') or 'local'}:{db.get('PORT') or '-'}"
    return [
        f"database: {db['ENGINE'].rsplit('.', 1)[-1]} at {where}, database test_{db['NAME']}",
        f"redis: {settings.CACHES['default'].get('LOCATION', 'not set')}",
    ]


def pytest_configure(config) -> None:
    if connection.vendor != "postgresql" and not os.environ.get("ALLOW_NON_POSTGRES_TESTS"):
        pytest.exit(
            "The test suite runs on PostgreSQL: use `make test` (or set DATABASE_URL).",
            returncode=2,
        )


def pytest_collection_modifyitems(config, items) -> None:
    # Schemathesis names each operation's test "test_…[GET /api/v1/…]" but gives them all one
    # node id. pytest-xdist tells tests apart by node id (it would run one of them and drop the
    # others), and reports could not say which operation was slow or failed.
    for item in items:
        label = getattr(item, "operation_label", None)
        if label and item._id.params is None:
            item._id = item._id.with_params(label)
    # pytest-xdist's --dist loadgroup sends the tests of one xdist_group to one worker, telling
    # them by an "@group" suffix it sets on the node id the way pytest 8 kept it (item._nodeid);
    # pytest 9 keeps it in item._id, so without this every grouped test would go anywhere and the
    # demo county, the browser and the Celery worker would be set up again on each worker.
    if getattr(config.option, "loadgroup", False):  # set on xdist workers
        for item in items:
            groups = sorted({str(m.args[0]) for m in item.iter_markers("xdist_group")})
            if groups and "@" not in item.nodeid:
                item._id = type(item._id).parse(f"{item.nodeid}@{'_'.join(groups)}")
    seen: set[str] = set()
    twice = {item.nodeid for item in items if item.nodeid in seen or seen.add(item.nodeid)}
    if twice:
        raise pytest.UsageError(f"Two tests share a node id (xdist would drop one): {twice}")


def _is_transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(
        {"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ()))
        or (marker is not None and marker.kwargs.get("transaction"))
    )


_MIGRATION_DATA: list[str] = []


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and a copy of what its migrations wrote (see
    tests/support/migration_data.py)."""
    with django_db_blocker.unblock():
        _MIGRATION_DATA.append(migration_data.snapshot())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    result = yield  # pytest-django empties the tables after a transactional test
    if _is_transactional(item) and _MIGRATION_DATA:
        with item.config.stash[blocking_manager_key].unblock():
            migration_data.restore(_MIGRATION_DATA[0])
    return result


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


# --- people and objects several modules share -------------------------------------------------


@pytest.fixture
def stranger(county):
    """A supervisor of the neighbouring county: sees nothing of ours."""
    other = factories.UnitFactory(name="邻县", kind="county", parent=county.parent)
    return factories.member(other, Role.SUPERVISOR, username="stranger")


@pytest.fixture
def stranger_project(stranger):
    other = stranger.memberships.get().unit
    return factories.create_project(actor=stranger, lead_unit=other, name="邻县产业园")


@pytest.fixture
def unit_supervisor(unit_b):
    """A supervisor whose scope is one department only."""
    return factories.member(unit_b, Role.SUPERVISOR, username="unit_supervisor")


@pytest.fixture
def county_leader(county):
    return Leader.objects.create(name="张海波", title="副县长", unit=county)


@pytest.fixture
def township(county):
    return factories.UnitFactory(name="城关镇", kind="township", parent=county)


@pytest.fixture
def township_reporter(township):
    """A township's clerk: sees the projects located in the township, edits only its own."""
    return factories.member(township, Role.REPORTER, username="township_reporter")


@pytest.fixture
def foreign_leader(stranger):
    """A leader of the neighbouring county: no project or issue of ours may name him."""
    neighbour = stranger.memberships.get().unit
    return Leader.objects.create(name="赵邻县", title="副县长", unit=neighbour)


@pytest.fixture
def inspection(today, county, unit_a, supervisor, project_a):
    return inspection_services.inspection_create(
        actor=supervisor,
        title="重点项目建设推进情况专项督查",
        kind="special",
        held_on=today - dt.timedelta(days=3),
        unit=county,
        inspectors="谭建军、冉晓梅",
        findings="征地拆迁进度滞后；施工现场扬尘管控不到位。",
        projects=[project_a],
        units_visited=[unit_a],
    )


@pytest.fixture
def meeting(today, county, unit_a, unit_b, supervisor, project_a, county_leader):
    return inspection_services.meeting_create(
        actor=supervisor,
        title="全县重点项目调度会（第11期）",
        kind="dispatch",
        held_on=today - dt.timedelta(days=2),
        unit=county,
        host=county_leader,
        location="县政府三楼会议室",
        attendees=[unit_a],
        absentees=[unit_b],
        projects=[project_a],
        minutes="会议听取了各项目进展汇报。",
    )


# --- Celery -------------------------------------------------------------------------------------


@pytest.fixture
def eager_tasks():
    """Celery tasks run in-process, as in the embedded demo."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture(scope="session")
def celery_worker(django_db_setup):
    """One real Celery worker process on the Redis broker for the whole session, started the first
    time a test asks for it, listening to a queue of its own and using the test database. Tests
    send to ``celery_worker.queue``."""
    worker = start_worker()
    yield worker
    worker.stop()
