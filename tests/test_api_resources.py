"""Read-only API resources for the nightly mirror, tombstones and the OC4IDS export."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from urllib.parse import quote

import pytest
import time_machine

from projects import services, tokens
from projects.models import (
    ApiToken,
    FundingApplication,
    Leader,
    Milestone,
    MilestoneRevision,
    ProgressReport,
    Project,
    ProjectFunding,
    StageChange,
    Tag,
    Target,
    Tombstone,
)
from projects.oc4ids import project_id
from tests import factories
from tests.support.api import assert_error, bearer, make_token
from tests.support.oc4ids import SCHEMA_DIR, assert_valid
from tests.support.worlds import NOW
from tracker import periods

# endpoint → model, for the database counts of the write checks.
RESOURCES = {
    "leaders": Leader,
    "projects": Project,
    "milestones": Milestone,
    "progress-reports": ProgressReport,
    "project-funding": ProjectFunding,
    "funding-applications": FundingApplication,
    "targets": Target,
    "stage-changes": StageChange,
}


@pytest.fixture
def world(today, county, unit_a, reporter_a, supervisor, project_a, project_b):
    """One object of every resource in unit A's scope (and project B in unit B's)."""
    leader_obj = Leader.objects.create(name="张县长", title="副县长", unit=county)
    Project.objects.filter(pk=project_a.pk).update(lead_leader=leader_obj)
    milestone = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=today - dt.timedelta(days=5)
    )
    services.milestone_revise(
        milestone=milestone,
        new_due_date=today - dt.timedelta(days=3),
        reason="征地延后",
        actor=reporter_a,
    )
    report = services.report_save(
        project=project_a,
        period=periods.parse("2026-10"),
        actor=reporter_a,
        investment=Decimal("300.25"),
        physical_progress="路基完成80%",
    )
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
    return {
        "leaders": leader_obj.pk,
        "projects": project_a.pk,
        "milestones": milestone.pk,
        "progress-reports": report.pk,
        "project-funding": funding.pk,
        "funding-applications": application.pk,
        "targets": target.pk,
        "stage-changes": StageChange.objects.get(project=project_a).pk,
    }


def list_ids(client, resource: str, headers, query: str = "") -> set[int]:
    response = client.get(f"/api/v1/{resource}/?page_size=500{query}", headers=headers)
    assert response.status_code == 200, response.content[:500]
    return {row["id"] for row in response.json()["results"]}


# --- permission matrix ---------------------------------------------------------------------------


@pytest.mark.parametrize("resource", list(RESOURCES))
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("anonymous", 401),
        ("reporter_b", 404),
        ("reporter_a", 200),
        ("supervisor", 200),
        ("leader", 200),
    ],
)
def test_permission_matrix(client, request, world, resource, persona, status):
    pk = world[resource]
    headers = {}
    if persona != "anonymous":
        headers = bearer(make_token(request.getfixturevalue(persona)))
    detail = client.get(f"/api/v1/{resource}/{pk}/", headers=headers)
    listing = client.get(f"/api/v1/{resource}/", headers=headers)
    if status == 401:
        assert_error(detail, 401, "not_authenticated")
        assert_error(listing, 401, "not_authenticated")
        return
    assert listing.status_code == 200
    assert (pk in {row["id"] for row in listing.json()["results"]}) is (status == 200)
    if status == 404:
        assert_error(detail, 404, "not_found")
    else:
        assert detail.status_code == 200
        assert detail["Content-Type"].startswith("application/json")
        assert detail.json()["id"] == pk


# Writable resources (tests/test_api_writes.py): this body is invalid, or lacks If-Match.
WRITE_TOKEN_REFUSAL = {
    ("projects", "post"): (400, "invalid"),
    ("projects", "put"): (428, "precondition_required"),
    ("projects", "patch"): (428, "precondition_required"),
    ("milestones", "post"): (400, "invalid"),
    ("progress-reports", "post"): (400, "invalid"),
    ("progress-reports", "put"): (428, "precondition_required"),
    ("progress-reports", "patch"): (428, "precondition_required"),
    **{
        (resource, method): outcome
        for resource in ("project-funding", "funding-applications", "targets")
        for method, outcome in {
            "post": (400, "invalid"),
            "put": (428, "precondition_required"),
            "patch": (428, "precondition_required"),
        }.items()
    },
}


@pytest.mark.parametrize("resource", list(RESOURCES))
def test_writes_are_refused_and_change_nothing(client, world, supervisor, resource):
    model = RESOURCES[resource]
    pk = world[resource]
    before = model.objects.count()
    read, write = bearer(make_token(supervisor)), bearer(make_token(supervisor, write=True))
    calls = [
        ("post", f"/api/v1/{resource}/"),
        ("put", f"/api/v1/{resource}/{pk}/"),
        ("patch", f"/api/v1/{resource}/{pk}/"),
        ("delete", f"/api/v1/{resource}/{pk}/"),
    ]
    for method, url in calls:
        call = getattr(client, method)
        assert_error(
            call(url, data={"name": "x"}, content_type="application/json", headers=read),
            403,
            "token_read_only",
        )
        assert_error(
            call(url, data={"name": "x"}, content_type="application/json", headers=write),
            *WRITE_TOKEN_REFUSAL.get((resource, method), (405, "method_not_allowed")),
        )
    assert model.objects.count() == before
    assert model.objects.filter(pk=pk).exists()


@pytest.mark.parametrize("endpoint", ["tombstones", "oc4ids"])
def test_tombstones_and_oc4ids_are_read_only(client, world, supervisor, endpoint):
    read, write = bearer(make_token(supervisor)), bearer(make_token(supervisor, write=True))
    before = (Tombstone.objects.count(), Project.objects.count())
    for method in ("post", "put", "delete"):
        call = getattr(client, method)
        url = f"/api/v1/{endpoint}/"
        for headers, status, code in [
            (read, 403, "token_read_only"),
            (write, 405, "method_not_allowed"),
        ]:
            response = call(url, data={}, content_type="application/json", headers=headers)
            assert_error(response, status, code)
    assert (Tombstone.objects.count(), Project.objects.count()) == before


@pytest.mark.parametrize("endpoint", [*RESOURCES, "tombstones", "oc4ids"])
def test_revoked_token_is_401(client, world, supervisor, endpoint):
    secret = make_token(supervisor)
    tokens.token_revoke(token=ApiToken.objects.get(user=supervisor), actor=supervisor)
    assert_error(client.get(f"/api/v1/{endpoint}/", headers=bearer(secret)), 401, "token_revoked")


@pytest.mark.parametrize("endpoint", ["tombstones", "oc4ids"])
def test_tombstones_and_oc4ids_need_authentication(client, world, endpoint):
    assert_error(client.get(f"/api/v1/{endpoint}/"), 401, "not_authenticated")


# --- fields and formats --------------------------------------------------------------------------


def test_project_fields_amounts_and_times(client, world, supervisor, project_a, county):
    tag = Tag.objects.create(name="三年行动计划")
    project_a.tags.add(tag)
    project_a.cooperating_units.add(county)
    body = client.get(f"/api/v1/projects/{project_a.pk}/", headers=bearer(make_token(supervisor)))
    body = body.json()
    assert body["total_investment"] == "12000.00"
    assert body["tags"] == ["三年行动计划"]
    assert body["cooperating_units"] == [county.pk]
    assert body["lead_unit"] == project_a.lead_unit_id
    assert body["lead_leader"] == world["leaders"]
    assert body["updated_at"].endswith("+08:00")
    assert body["stage"] == "reserve"


def test_milestone_includes_its_revisions(client, world, supervisor, today):
    body = client.get(
        f"/api/v1/milestones/{world['milestones']}/", headers=bearer(make_token(supervisor))
    ).json()
    assert body["due_date"] == str(today - dt.timedelta(days=3))
    assert body["original_due_date"] == str(today - dt.timedelta(days=5))
    [revision] = body["revisions"]
    assert revision["reason"] == "征地延后"
    assert revision["previous_due_date"] == str(today - dt.timedelta(days=5))
    assert revision["new_due_date"] == str(today - dt.timedelta(days=3))
    assert revision["created_at"].endswith("+08:00")


def test_funding_amounts_are_decimal_strings(client, world, supervisor):
    headers = bearer(make_token(supervisor))
    funding = client.get(f"/api/v1/project-funding/{world['project-funding']}/", headers=headers)
    assert funding.json()["arrived"] == "400.50"
    report = client.get(f"/api/v1/progress-reports/{world['progress-reports']}/", headers=headers)
    assert report.json()["investment"] == "300.25"
    assert report.json()["period_key"] == "2026-10"


# --- filters -------------------------------------------------------------------------------------


def test_project_filters_and_ordering(
    client, world, supervisor, unit_a, unit_b, project_a, project_b
):
    headers = bearer(make_token(supervisor))
    assert list_ids(client, "projects", headers, f"&unit={unit_a.pk}") == {project_a.pk}
    assert list_ids(client, "projects", headers, f"&unit={unit_a.parent_id}") == {
        project_a.pk,
        project_b.pk,
    }
    assert list_ids(client, "projects", headers, f"&leader={world['leaders']}") == {project_a.pk}
    assert list_ids(client, "projects", headers, "&min_investment=12000") == {
        project_a.pk,
        project_b.pk,
    }
    assert list_ids(client, "projects", headers, "&min_investment=12000.01") == set()
    assert list_ids(client, "projects", headers, "&red_card=true") == set()
    assert list_ids(client, "projects", headers, "&category=transport&stage=reserve") == {
        project_a.pk,
        project_b.pk,
    }
    names = [
        row["name"]
        for row in client.get("/api/v1/projects/?ordering=-name", headers=headers).json()["results"]
    ]
    assert names == sorted(names, reverse=True)
    default = client.get("/api/v1/projects/", headers=headers).json()["results"]
    assert [row["id"] for row in default] == sorted(row["id"] for row in default)


def test_other_filters(client, world, supervisor, unit_a, project_a, project_b):
    headers = bearer(make_token(supervisor))
    assert list_ids(client, "milestones", headers, "&overdue=true") == {world["milestones"]}
    assert list_ids(client, "milestones", headers, "&overdue=false") == set()
    assert list_ids(client, "milestones", headers, f"&project={project_b.pk}") == set()
    assert list_ids(client, "progress-reports", headers, "&period=2026-10&status=draft") == {
        world["progress-reports"]
    }
    assert list_ids(client, "progress-reports", headers, "&period=2026-09") == set()
    assert list_ids(client, "targets", headers, f"&unit={unit_a.parent_id}&year=2026") == {
        world["targets"]
    }
    assert list_ids(client, "targets", headers, "&metric=fixed_asset") == set()
    assert list_ids(client, "stage-changes", headers, f"&project={project_b.pk}") == {
        StageChange.objects.get(project=project_b).pk
    }
    assert list_ids(client, "stage-changes", headers, "&to_stage=completed") == set()
    assert list_ids(client, "funding-applications", headers, f"&unit={unit_a.pk}") == {
        world["funding-applications"]
    }


@pytest.mark.parametrize("resource", list(RESOURCES))
def test_updated_since(client, world, supervisor, resource):
    headers = bearer(make_token(supervisor))
    before = (NOW - dt.timedelta(seconds=1)).isoformat()
    after = (NOW + dt.timedelta(seconds=1)).isoformat()
    assert world[resource] in list_ids(client, resource, headers, f"&updated_since={quote(before)}")
    assert world[resource] not in list_ids(
        client, resource, headers, f"&updated_since={quote(after)}"
    )
    # An unencoded "+08:00" arrives as " 08:00": still understood.
    assert world[resource] in list_ids(client, resource, headers, f"&updated_since={before}")


def test_updated_since_sees_a_later_change(client, world, supervisor, project_a):
    headers = bearer(make_token(supervisor))
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        services.project_update(project=project_a, actor=supervisor, owner="县交投集团")
        since = quote((NOW + dt.timedelta(hours=12)).isoformat())
        assert list_ids(client, "projects", headers, f"&updated_since={since}") == {project_a.pk}


@pytest.mark.parametrize("endpoint", [*RESOURCES, "units", "oc4ids"])
def test_malformed_updated_since_is_400(client, world, supervisor, endpoint):
    response = client.get(
        f"/api/v1/{endpoint}/?updated_since=yesterday", headers=bearer(make_token(supervisor))
    )
    body = assert_error(response, 400, "invalid")
    [message] = body["details"]["updated_since"]
    assert "ISO 8601" in message


# --- tombstones ----------------------------------------------------------------------------------


def test_deletes_leave_tombstones_listed_since(client, world, reporter_b, project_a, project_b):
    headers = bearer(make_token(reporter_b))
    ProjectFunding.objects.filter(pk=world["project-funding"]).delete()
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        Milestone.objects.filter(pk=world["milestones"]).delete()
        FundingApplication.objects.filter(pk=world["funding-applications"]).delete()
        Target.objects.filter(pk=world["targets"]).delete()
        Project.objects.filter(pk=project_a.pk).delete()  # its report cascades
    pairs = {(t.model, t.object_id) for t in Tombstone.objects.all()}
    assert pairs == {
        ("projectfunding", world["project-funding"]),
        ("milestone", world["milestones"]),
        ("fundingapplication", world["funding-applications"]),
        ("target", world["targets"]),
        ("project", project_a.pk),
        ("progressreport", world["progress-reports"]),
    }
    # Any authenticated user reads them, even one who never saw the objects.
    body = client.get("/api/v1/tombstones/", headers=headers).json()
    assert body["count"] == 6
    assert set(body["results"][0]) == {
        "id",
        "model",
        "object_id",
        "reason",
        "scope_path",
        "deleted_at",
    }
    assert {t["reason"] for t in body["results"]} == {"deleted"}
    since = quote((NOW + dt.timedelta(minutes=30)).isoformat())
    later = client.get(f"/api/v1/tombstones/?since={since}", headers=headers).json()
    assert {(t["model"], t["object_id"]) for t in later["results"]} == pairs - {
        ("projectfunding", world["project-funding"])
    }
    only = client.get(f"/api/v1/tombstones/?model=project&since={since}", headers=headers).json()
    assert [(t["model"], t["object_id"]) for t in only["results"]] == [("project", project_a.pk)]
    assert only["results"][0]["deleted_at"] == "2026-11-21T11:00:00+08:00"
    assert_error(client.get("/api/v1/tombstones/?since=soon", headers=headers), 400, "invalid")
    assert_error(client.get("/api/v1/tombstones/?model=user", headers=headers), 400, "invalid")


def test_unit_and_leader_deletes_leave_tombstones(world, county):
    unit = factories.UnitFactory(parent=county)
    leader_obj = Leader.objects.create(name="李四", title="县长", unit=unit)
    leader_pk, unit_pk = leader_obj.pk, unit.pk
    leader_obj.delete()
    unit.delete()
    assert set(Tombstone.objects.values_list("model", "object_id")) == {
        ("leader", leader_pk),
        ("unit", unit_pk),
    }


# --- OC4IDS --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("reporter_a", {"a"}),
        ("reporter_b", {"b"}),
        ("supervisor", {"a", "b"}),
        ("leader", {"a", "b"}),
    ],
)
def test_oc4ids_package_of_visible_projects(
    client, request, world, project_a, project_b, persona, expected
):
    response = client.get(
        "/api/v1/oc4ids/", headers=bearer(make_token(request.getfixturevalue(persona)))
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    package = response.json()
    wanted = {"a": project_id(project_a), "b": project_id(project_b)}
    assert {p["id"] for p in package["projects"]} == {wanted[k] for k in expected}
    assert package["publisher"]["name"] == "重点项目调度督查平台"
    assert package["uri"] == "http://testserver/api/v1/oc4ids/"
    assert package["publishedDate"].endswith("+08:00")


def test_oc4ids_uses_the_projects_filters(client, world, supervisor, unit_b, project_b):
    response = client.get(
        f"/api/v1/oc4ids/?unit={unit_b.pk}", headers=bearer(make_token(supervisor))
    )
    assert [p["id"] for p in response.json()["projects"]] == [project_id(project_b)]


@pytest.mark.skipif(not SCHEMA_DIR.is_dir(), reason="the OC4IDS schema is not beside the repo")
def test_oc4ids_package_validates(client, world, supervisor):
    package = client.get("/api/v1/oc4ids/", headers=bearer(make_token(supervisor))).json()
    assert len(package["projects"]) == 2
    assert_valid(package)


# --- query counts --------------------------------------------------------------------------------


def add_projects(unit, leader_obj, tag, count: int) -> list[Project]:
    created = Project.objects.bulk_create(
        Project(
            name=f"项目{i:04d}",
            category="transport",
            stage="reserve",
            lead_unit=unit,
            lead_leader=leader_obj,
            total_investment=Decimal(i),
        )
        for i in range(count)
    )
    Project.tags.through.objects.bulk_create(
        Project.tags.through(project_id=p.pk, tag_id=tag.pk) for p in created
    )
    Project.co_leaders.through.objects.bulk_create(
        Project.co_leaders.through(project_id=p.pk, leader_id=leader_obj.pk) for p in created
    )
    Project.cooperating_units.through.objects.bulk_create(
        Project.cooperating_units.through(project_id=p.pk, unit_id=unit.parent_id) for p in created
    )
    return created


def fill(kind: str, count: int, unit_a, project_a, leader_obj) -> None:
    today = NOW.date()
    if kind == "projects":
        add_projects(unit_a, leader_obj, Tag.objects.create(name="民生实事"), count)
    elif kind == "milestones":
        milestones = Milestone.objects.bulk_create(
            Milestone(
                project=project_a,
                name=f"节点{i}",
                due_date=today,
                original_due_date=today - dt.timedelta(days=1),
            )
            for i in range(count)
        )
        MilestoneRevision.objects.bulk_create(
            MilestoneRevision(
                milestone=m,
                previous_due_date=today - dt.timedelta(days=1),
                new_due_date=today,
                reason="调整",
            )
            for m in milestones
        )
    elif kind == "progress-reports":
        ProgressReport.objects.bulk_create(
            ProgressReport(
                project=project_a,
                period_kind="month",
                period_key=f"K{i}",
                period_start=today,
                period_end=today,
                deadline=today,
                investment=Decimal("1.50"),
            )
            for i in range(count)
        )


# token lookup, memberships, count, page, then one query per prefetched relation; projects: one
# query counts and reads the page, with its tags, units and leaders as arrays (projects/api/rows.py)
EXPECTED_QUERIES = {"projects": 3, "milestones": 5, "progress-reports": 4}


@pytest.mark.parametrize("count", [10, 100])
@pytest.mark.parametrize("kind", list(EXPECTED_QUERIES))
def test_list_query_count_is_fixed(
    client, today, unit_a, reporter_a, project_a, kind, count, django_assert_max_num_queries
):
    leader_obj = Leader.objects.create(name="王县长", title="县长", unit=unit_a)
    fill(kind, count, unit_a, project_a, leader_obj)
    headers = bearer(make_token(reporter_a))
    client.get("/api/v1/me/", headers=headers)  # the token's first use writes last_used_at
    with django_assert_max_num_queries(EXPECTED_QUERIES[kind]):
        response = client.get(f"/api/v1/{kind}/?page_size=500", headers=headers)
    assert response.json()["count"] >= count


@pytest.mark.parametrize("count", [10, 100])
@pytest.mark.parametrize(
    "kind",
    ["leaders", "project-funding", "funding-applications", "targets", "stage-changes", "oc4ids"],
)
def test_other_endpoints_query_count_does_not_grow(
    client, today, unit_a, reporter_a, project_a, kind, count, django_assert_max_num_queries
):
    leader_obj = Leader.objects.create(name="王县长", title="县长", unit=unit_a)
    add_projects(unit_a, leader_obj, Tag.objects.create(name="民生实事"), count)
    headers = bearer(make_token(reporter_a))
    client.get("/api/v1/me/", headers=headers)
    # The same bound for 10 and 100 projects: the count does not depend on the data.
    with django_assert_max_num_queries(16):
        response = client.get(f"/api/v1/{kind}/?page_size=500", headers=headers)
    assert response.status_code == 200


def test_schema_has_the_resources(client):
    schema = json.loads(client.get("/api/schema/?format=json").content)
    for resource in [*RESOURCES, "tombstones"]:
        assert f"/api/v1/{resource}/" in schema["paths"]
    for resource in RESOURCES:
        assert f"/api/v1/{resource}/{{id}}/" in schema["paths"]
    assert "/api/v1/oc4ids/" in schema["paths"]
    params = {p["name"] for p in schema["paths"]["/api/v1/projects/"]["get"]["parameters"]}
    assert {"updated_since", "unit", "leader", "min_investment", "ordering", "page"} <= params
