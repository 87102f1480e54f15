"""Fixtures and helpers shared by the inspection, meeting and notice tests.

Import the fixtures by name into a test module (``from tests.meeting_helpers import …``).
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from projects.models import Leader, Role
from supervision import services_meetings as services
from tests import factories


@pytest.fixture(autouse=True)
def _fresh_cache():
    # API throttles and the unread-notification counts live in the cache.
    cache.clear()
    yield
    cache.clear()


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
def inspection(today, county, unit_a, supervisor, project_a):
    return services.inspection_create(
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
    return services.meeting_create(
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


PERSONAS = ["reporter_a", "head_a", "reporter_b", "leader", "supervisor", "stranger"]


def login(client, request, persona: str):
    """Log ``persona`` in (a fixture name) and return the user; anonymous stays out."""
    if persona == "anonymous":
        return None
    user = request.getfixturevalue(persona)
    client.force_login(user)
    return user


def jpeg_bytes(size=(640, 480), color=(120, 160, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def upload(content: bytes, name: str = "现场.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="image/jpeg")


def count_queries(client, url: str, **kwargs) -> int:
    """Queries of a GET of ``url``, once the per-user caches (unread notifications, the
    token's last use) are warm."""
    client.get(url, **kwargs)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, url
    return len(queries.captured_queries)


def issue_row(unit, deadline: dt.date, **fields) -> dict:
    row = {
        "title": "征地拆迁进度滞后",
        "category": "land_acquisition",
        "unit": unit,
        "deadline": deadline,
        "requirement": "月底前完成剩余12户房屋征收",
        "description": "",
        "project": None,
        "leader": None,
    }
    row.update(fields)
    return row


def formset_data(prefix: str, rows: list[dict], *, total: int | None = None) -> dict:
    """POST data of an issue formset: ``rows`` (field → value as typed), padded with blanks."""
    total = total if total is not None else max(3, len(rows))
    data = {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "30",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data
