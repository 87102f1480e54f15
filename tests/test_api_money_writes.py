"""Writes through the API to project funding, funding applications and targets.

Same rules as the other writes: the services decide, ``If-Match`` guards PUT/PATCH, a refused
write changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from projects import services
from projects.models import FundingApplication, ProjectFunding, Target
from tests.support.api import assert_error, bearer, make_token


@pytest.fixture
def world(today, unit_a, reporter_a, supervisor, project_a, project_b):
    funding = services.funding_set(
        project=project_a,
        source="county_fiscal",
        planned=Decimal("1000"),
        arrived=Decimal("400.50"),
        actor=reporter_a,
    )
    application = services.funding_application_save(
        actor=reporter_a,
        unit=unit_a,
        year=2026,
        title="国省干线公路补助",
        channel="upper_special",
        requested=Decimal("800"),
    )
    target = services.target_set(
        actor=supervisor, unit=unit_a, year=2026, metric="funding", target_value=Decimal("5000")
    )
    return {"project": project_a, "funding": funding, "application": application, "target": target}


def snapshot() -> tuple:
    return (
        sorted(ProjectFunding.objects.values_list("id", "version", "planned", "arrived")),
        sorted(
            FundingApplication.objects.values_list("id", "version", "title", "requested", "status")
        ),
        sorted(Target.objects.values_list("id", "version", "target_value", "actual_value")),
    )


def tag(version: int) -> str:
    return f'"{version}"'


# name → (method, url, body, success status, versioned object or None, supervisor only)
def writes(world, unit_a) -> dict[str, tuple]:
    p, f, a, t = world["project"], world["funding"], world["application"], world["target"]
    return {
        "funding-create": (
            "post",
            "/api/v1/project-funding/",
            {"project": p.pk, "source": "upper_special", "planned": "300", "arrived": "0"},
            201,
            None,
            False,
        ),
        "funding-upsert": (
            "post",
            "/api/v1/project-funding/",
            {"project": p.pk, "source": "county_fiscal", "planned": "1200", "arrived": "500"},
            200,
            None,
            False,
        ),
        "funding-patch": (
            "patch",
            f"/api/v1/project-funding/{f.pk}/",
            {"arrived": "600"},
            200,
            f,
            False,
        ),
        "funding-put": (
            "put",
            f"/api/v1/project-funding/{f.pk}/",
            {"planned": "1100", "arrived": "600"},
            200,
            f,
            False,
        ),
        "application-create": (
            "post",
            "/api/v1/funding-applications/",
            {
                "unit": unit_a.pk,
                "year": 2026,
                "title": "农村公路补助",
                "channel": "upper_special",
                "requested": "200",
            },
            201,
            None,
            False,
        ),
        "application-patch": (
            "patch",
            f"/api/v1/funding-applications/{a.pk}/",
            {"status": "submitted", "applied_on": "2026-11-01"},
            200,
            a,
            False,
        ),
        "target-create": (
            "post",
            "/api/v1/targets/",
            {
                "unit": unit_a.pk,
                "year": 2026,
                "metric": "attraction_signed",
                "target_value": "30000",
            },
            201,
            None,
            True,
        ),
        "target-patch": (
            "patch",
            f"/api/v1/targets/{t.pk}/",
            {"target_value": "6000"},
            200,
            t,
            True,
        ),
        "target-actual": (
            "post",
            f"/api/v1/targets/{t.pk}/actual/",
            {"actual_value": "1250.50"},
            200,
            None,
            False,
        ),
    }


WRITES = [
    "funding-create",
    "funding-upsert",
    "funding-patch",
    "funding-put",
    "application-create",
    "application-patch",
    "target-create",
    "target-patch",
    "target-actual",
]


def send(client, method, url, body, headers):
    return getattr(client, method)(url, data=body, content_type="application/json", headers=headers)


@pytest.mark.parametrize("name", WRITES)
@pytest.mark.parametrize(
    "persona", ["anonymous", "read_token", "reporter_b", "leader", "reporter_a", "supervisor"]
)
def test_write_permissions(client, request, world, unit_a, name, persona):
    method, url, body, ok, versioned, supervisor_only = writes(world, unit_a)[name]
    headers = {"If-Match": tag(versioned.version)} if versioned is not None else {}
    if persona == "read_token":
        headers |= bearer(make_token(request.getfixturevalue("reporter_a")))
    elif persona != "anonymous":
        headers |= bearer(make_token(request.getfixturevalue(persona), write=True))
    expected = {
        "anonymous": (401, "not_authenticated"),
        "read_token": (403, "token_read_only"),
        "reporter_b": (404, "not_found"),
        "leader": (403, "permission_denied"),
        "reporter_a": (403, "permission_denied") if supervisor_only else None,
        "supervisor": None,
    }[persona]
    before = snapshot()
    response = send(client, method, url, body, headers)
    if expected is not None:
        assert_error(response, *expected)
        assert snapshot() == before
        return
    assert response.status_code == ok, response.content[:500]
    data = response.json()
    assert response["ETag"] == tag(data["version"])
    for key, value in body.items():
        if key in ("project", "unit", "year"):
            assert data[key] == value
        elif key in ("planned", "arrived", "requested", "target_value", "actual_value"):
            assert Decimal(data[key]) == Decimal(value)
        else:
            assert data[key] == value
    assert snapshot() != before


@pytest.mark.parametrize(
    "name", ["funding-patch", "funding-put", "application-patch", "target-patch"]
)
def test_put_patch_need_a_current_if_match(client, world, unit_a, supervisor, name):
    method, url, body, _ok, versioned, _sup = writes(world, unit_a)[name]
    auth = bearer(make_token(supervisor, write=True))
    before = snapshot()
    assert_error(send(client, method, url, body, auth), 428, "precondition_required")
    stale = auth | {"If-Match": tag(versioned.version + 1)}
    error = assert_error(send(client, method, url, body, stale), 412, "version_conflict")
    assert error["details"] == {"current_version": versioned.version}
    assert snapshot() == before


def test_funding_writes_bump_the_version_and_keep_one_row_per_source(client, world, reporter_a):
    auth = bearer(make_token(reporter_a, write=True))
    funding = world["funding"]
    response = send(
        client,
        "post",
        "/api/v1/project-funding/",
        {
            "project": funding.project_id,
            "source": "county_fiscal",
            "planned": "1500",
            "arrived": "0",
        },
        auth | {"If-Match": tag(funding.version)},
    )
    assert response.status_code == 200
    funding.refresh_from_db()
    assert (funding.version, funding.planned, funding.arrived) == (2, Decimal("1500"), Decimal(0))
    assert ProjectFunding.objects.filter(project=funding.project).count() == 1
    # A POST naming a stale version of the existing row is refused.
    stale = send(
        client,
        "post",
        "/api/v1/project-funding/",
        {"project": funding.project_id, "source": "county_fiscal", "planned": "1", "arrived": "0"},
        auth | {"If-Match": tag(1)},
    )
    assert_error(stale, 412, "version_conflict")
    funding.refresh_from_db()
    assert funding.planned == Decimal("1500")


def test_money_validation_errors_are_per_field_in_chinese(client, world, reporter_a, supervisor):
    auth = bearer(make_token(reporter_a, write=True))
    before = snapshot()
    negative = send(
        client,
        "post",
        "/api/v1/project-funding/",
        {"project": world["project"].pk, "source": "nope", "planned": "-1", "arrived": "x"},
        auth,
    )
    details = assert_error(negative, 400, "invalid")["details"]
    assert set(details) == {"source", "planned", "arrived"}
    application = world["application"]
    # The model's own rules (an approved application needs the approved amount) come back too.
    approved = send(
        client,
        "patch",
        f"/api/v1/funding-applications/{application.pk}/",
        {"status": "approved"},
        auth | {"If-Match": tag(application.version)},
    )
    body = assert_error(approved, 400, "invalid")
    assert "approved" in body["details"]
    assert "审批" in body["details"]["approved"][0] or "批" in body["details"]["approved"][0]
    zero = send(
        client,
        "post",
        "/api/v1/targets/",
        {"unit": world["target"].unit_id, "year": 2026, "metric": "funding", "target_value": "0"},
        bearer(make_token(supervisor, write=True)),
    )
    assert "target_value" in assert_error(zero, 400, "invalid")["details"]
    assert snapshot() == before


def test_application_cannot_name_a_project_the_caller_cannot_see(
    client, world, unit_a, reporter_a, project_b
):
    before = snapshot()
    response = send(
        client,
        "post",
        "/api/v1/funding-applications/",
        {
            "unit": unit_a.pk,
            "project": project_b.pk,
            "year": 2026,
            "title": "借别人的项目",
            "channel": "upper_special",
            "requested": "10",
        },
        bearer(make_token(reporter_a, write=True)),
    )
    assert "project" in assert_error(response, 400, "invalid")["details"]
    assert snapshot() == before


def test_target_post_twice_updates_the_one_target(client, world, supervisor, reporter_a):
    target = world["target"]
    auth = bearer(make_token(supervisor, write=True))
    body = {"unit": target.unit_id, "year": 2026, "metric": "funding", "target_value": "7000"}
    assert send(client, "post", "/api/v1/targets/", body, auth).status_code == 200
    assert Target.objects.filter(unit=target.unit, year=2026, metric="funding").count() == 1
    target.refresh_from_db()
    assert (target.target_value, target.version) == (Decimal("7000"), 2)
    # The unit records its figure; the target itself stays the supervisor's.
    response = send(
        client,
        "post",
        f"/api/v1/targets/{target.pk}/actual/",
        {"actual_value": "2100"},
        bearer(make_token(reporter_a, write=True)) | {"If-Match": tag(2)},
    )
    assert response.status_code == 200
    assert response.json()["actual_value"] == "2100.00"
    target.refresh_from_db()
    assert (target.actual_value, target.target_value, target.version) == (
        Decimal("2100"),
        Decimal("7000"),
        3,
    )
