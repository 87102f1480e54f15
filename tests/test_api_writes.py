"""Writes through the API: projects, milestones and progress reports, with ETag / If-Match.

Every write goes through ``projects.services``; these tests check that the API passes the
caller's rights, the services' rules and the optimistic-concurrency version through.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from projects import services
from projects.models import (
    Leader,
    Milestone,
    MilestoneRevision,
    ProgressReport,
    Project,
    StageChange,
)
from tests import factories
from tests.support.api import assert_error, bearer, make_token
from tests.support.state import changed_tables, domain_state
from tracker import periods


@pytest.fixture
def world(today, unit_a, reporter_a, project_a, project_b):
    milestone = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=today + dt.timedelta(days=10)
    )
    report = services.report_save(
        project=project_a,
        period=periods.parse("2026-10"),
        actor=reporter_a,
        investment=Decimal("300.25"),
        physical_progress="路基完成80%",
    )
    return {"project": project_a, "milestone": milestone, "report": report}


def snapshot(world) -> tuple:
    """What a refused write must leave alone."""
    project = Project.objects.get(pk=world["project"].pk)
    milestone = Milestone.objects.get(pk=world["milestone"].pk)
    report = ProgressReport.objects.get(pk=world["report"].pk)
    return (
        Project.objects.count(),
        Milestone.objects.count(),
        MilestoneRevision.objects.count(),
        ProgressReport.objects.count(),
        StageChange.objects.count(),
        (project.version, project.name, project.stage),
        (milestone.version, milestone.due_date, milestone.done_date),
        (report.version, report.investment, report.status),
    )


def tag(version: int) -> str:
    return f'"{version}"'


# name → (method, url, body, success status, whose version If-Match names, If-Match required)
def writes(world, today, unit_a) -> dict[str, tuple]:
    p, m, r = world["project"], world["milestone"], world["report"]
    return {
        "project-create": (
            "post",
            "/api/v1/projects/",
            {"lead_unit": unit_a.pk, "name": "新建项目", "category": "transport"},
            201,
            None,
            False,
        ),
        "project-patch": ("patch", f"/api/v1/projects/{p.pk}/", {"name": "改名"}, 200, p, True),
        "project-put": (
            "put",
            f"/api/v1/projects/{p.pk}/",
            {"lead_unit": unit_a.pk, "name": "改名", "category": "transport"},
            200,
            p,
            True,
        ),
        "project-stage": (
            "post",
            f"/api/v1/projects/{p.pk}/stage/",
            {"to_stage": "preparing", "changed_on": today.isoformat(), "note": "可研批复"},
            200,
            p,
            False,
        ),
        "milestone-create": (
            "post",
            "/api/v1/milestones/",
            {"project": p.pk, "name": "主体完工", "due_date": "2027-06-30", "kind": "custom"},
            201,
            None,
            False,
        ),
        "milestone-complete": (
            "post",
            f"/api/v1/milestones/{m.pk}/complete/",
            {"done_date": today.isoformat()},
            200,
            m,
            False,
        ),
        "milestone-revise": (
            "post",
            f"/api/v1/milestones/{m.pk}/revise/",
            {"new_due_date": "2027-01-15", "reason": "征地延后"},
            200,
            m,
            False,
        ),
        "report-create": (
            "post",
            "/api/v1/progress-reports/",
            {"project": p.pk, "period": "2026-11", "investment": "120.50", "problems": "无"},
            201,
            None,
            False,
        ),
        "report-patch": (
            "patch",
            f"/api/v1/progress-reports/{r.pk}/",
            {"investment": "350.00"},
            200,
            r,
            True,
        ),
        "report-submit": ("post", f"/api/v1/progress-reports/{r.pk}/submit/", {}, 200, r, False),
    }


WRITES = [
    "project-create",
    "project-patch",
    "project-put",
    "project-stage",
    "milestone-create",
    "milestone-complete",
    "milestone-revise",
    "report-create",
    "report-patch",
    "report-submit",
]


def send(client, method, url, body, headers):
    return getattr(client, method)(url, data=body, content_type="application/json", headers=headers)


@pytest.mark.parametrize("name", WRITES)
@pytest.mark.parametrize(
    ("persona", "outcome"),
    [
        ("anonymous", (401, "not_authenticated")),
        ("read_token", (403, "token_read_only")),
        ("reporter_b", (404, "not_found")),
        ("leader", (403, "permission_denied")),
        ("reporter_a", None),
        ("supervisor", None),
    ],
)
def test_write_permissions(client, request, world, today, unit_a, name, persona, outcome):
    method, url, body, ok, versioned, _required = writes(world, today, unit_a)[name]
    headers = {}
    if versioned is not None:
        headers["If-Match"] = tag(versioned.version)
    if persona == "read_token":
        headers |= bearer(make_token(request.getfixturevalue("reporter_a")))
    elif persona != "anonymous":
        headers |= bearer(make_token(request.getfixturevalue(persona), write=True))
    before = snapshot(world)
    response = send(client, method, url, body, headers)
    if outcome is not None:
        assert_error(response, *outcome)
        assert snapshot(world) == before
        return
    assert response.status_code == ok, response.content[:500]
    data = response.json()
    assert response["ETag"] == tag(data["version"])
    if ok == 201:
        assert response["Location"].endswith(f"/{data['id']}/")
    assert snapshot(world) != before


@pytest.mark.parametrize("name", [n for n in WRITES if not n.endswith("create")])
def test_stale_if_match_is_412_and_changes_nothing(client, world, today, unit_a, reporter_a, name):
    method, url, body, _ok, versioned, _required = writes(world, today, unit_a)[name]
    headers = bearer(make_token(reporter_a, write=True)) | {"If-Match": tag(versioned.version + 5)}
    before = snapshot(world)
    body_ = assert_error(send(client, method, url, body, headers), 412, "version_conflict")
    assert body_["details"] == {"current_version": versioned.version}
    assert snapshot(world) == before


@pytest.mark.parametrize("name", ["project-patch", "project-put", "report-patch"])
def test_missing_if_match_is_428(client, world, today, unit_a, reporter_a, name):
    method, url, body, _ok, _versioned, _required = writes(world, today, unit_a)[name]
    before = snapshot(world)
    response = send(client, method, url, body, bearer(make_token(reporter_a, write=True)))
    assert_error(response, 428, "precondition_required")
    assert snapshot(world) == before


@pytest.mark.parametrize(
    ("resource", "key"), [("projects", "project"), ("milestones", "milestone")]
)
def test_detail_has_etag_and_put_patch_return_the_new_one(client, world, reporter_a, resource, key):
    obj = world[key]
    response = client.get(f"/api/v1/{resource}/{obj.pk}/", headers=bearer(make_token(reporter_a)))
    assert response.status_code == 200
    assert response["ETag"] == tag(obj.version)


def test_report_etag_and_patch_round_trip(client, world, reporter_a):
    report = world["report"]
    headers = bearer(make_token(reporter_a, write=True))
    got = client.get(f"/api/v1/progress-reports/{report.pk}/", headers=headers)
    assert got["ETag"] == tag(report.version)
    patched = send(
        client,
        "patch",
        f"/api/v1/progress-reports/{report.pk}/",
        {"problems": "资金缺口"},
        headers | {"If-Match": got["ETag"]},
    )
    assert patched.status_code == 200, patched.content
    assert patched["ETag"] == tag(report.version + 1)
    report.refresh_from_db()
    assert report.problems == "资金缺口"
    # Fields not sent are kept.
    assert report.investment == Decimal("300.25")
    assert report.physical_progress == "路基完成80%"
    # The old ETag is now stale.
    again = send(
        client,
        "patch",
        f"/api/v1/progress-reports/{report.pk}/",
        {"problems": "别的"},
        headers | {"If-Match": got["ETag"]},
    )
    assert_error(again, 412, "version_conflict")


def test_project_writes_set_the_database(client, world, unit_a, reporter_a, today):
    headers = bearer(make_token(reporter_a, write=True))
    created = send(
        client,
        "post",
        "/api/v1/projects/",
        {
            "lead_unit": unit_a.pk,
            "name": "园区污水处理厂",
            "category": "transport",
            "total_investment": "8000.50",
            "source": "attraction",
            "tags": ["民生实事"],
        },
        headers,
    )
    assert created.status_code == 201, created.content
    project = Project.objects.get(pk=created.json()["id"])
    assert project.name == "园区污水处理厂"
    assert project.total_investment == Decimal("8000.50")
    assert project.stage == "lead"  # investment attraction enters at 线索
    assert project.created_by == reporter_a
    assert [t.name for t in project.tags.all()] == ["民生实事"]
    assert created.json()["tags"] == ["民生实事"]

    # Stage and red card are not written by PATCH: naming them is an error, not a silent no-op.
    refused = send(
        client,
        "patch",
        f"/api/v1/projects/{project.pk}/",
        {"owner": "县城投公司", "stage": "completed", "red_card": True},
        headers | {"If-Match": created["ETag"]},
    )
    assert refused.status_code == 400, refused.content
    assert set(refused.json()["details"]) == {"stage", "red_card"}
    patched = send(
        client,
        "patch",
        f"/api/v1/projects/{project.pk}/",
        {"owner": "县城投公司"},
        headers | {"If-Match": created["ETag"]},
    )
    assert patched.status_code == 200, patched.content
    project.refresh_from_db()
    assert (project.owner, project.stage, project.red_card) == ("县城投公司", "lead", False)
    assert project.version == 2

    staged = send(
        client,
        "post",
        f"/api/v1/projects/{project.pk}/stage/",
        {"to_stage": "negotiating", "changed_on": today.isoformat()},
        headers | {"If-Match": patched["ETag"]},
    )
    assert staged.status_code == 200, staged.content
    project.refresh_from_db()
    assert project.stage == "negotiating"
    assert staged["ETag"] == tag(project.version)
    assert StageChange.objects.filter(project=project, to_stage="negotiating").exists()


def test_project_validation_errors_are_400_with_field_details(client, world, reporter_a, today):
    project = world["project"]
    headers = bearer(make_token(reporter_a, write=True))
    response = send(
        client,
        "patch",
        f"/api/v1/projects/{project.pk}/",
        {"total_investment": "-5"},
        headers | {"If-Match": tag(project.version)},
    )
    body = assert_error(response, 400, "invalid")
    assert "total_investment" in body["details"]
    # A rule of the service (a future stage date) comes back per field too.
    response = send(
        client,
        "post",
        f"/api/v1/projects/{project.pk}/stage/",
        {"to_stage": "preparing", "changed_on": (today + dt.timedelta(days=3)).isoformat()},
        headers,
    )
    body = assert_error(response, 400, "invalid")
    assert list(body["details"]) == ["changed_on"]
    project.refresh_from_db()
    assert project.stage == "reserve"


def test_milestone_writes(client, world, reporter_a, today):
    project, milestone = world["project"], world["milestone"]
    headers = bearer(make_token(reporter_a, write=True))
    created = send(
        client,
        "post",
        "/api/v1/milestones/",
        {"project": project.pk, "name": "竣工验收", "due_date": "2027-12-31"},
        headers,
    )
    assert created.status_code == 201, created.content
    new = Milestone.objects.get(pk=created.json()["id"])
    assert (new.name, new.due_date, new.original_due_date) == (
        "竣工验收",
        dt.date(2027, 12, 31),
        dt.date(2027, 12, 31),
    )

    no_reason = send(
        client,
        "post",
        f"/api/v1/milestones/{milestone.pk}/revise/",
        {"new_due_date": "2027-01-15", "reason": "  "},
        headers,
    )
    assert "reason" in assert_error(no_reason, 400, "invalid")["details"]
    revised = send(
        client,
        "post",
        f"/api/v1/milestones/{milestone.pk}/revise/",
        {"new_due_date": "2027-01-15", "reason": "征地延后"},
        headers | {"If-Match": tag(milestone.version)},
    )
    assert revised.status_code == 200, revised.content
    assert revised.json()["revisions"][0]["reason"] == "征地延后"
    milestone.refresh_from_db()
    assert milestone.due_date == dt.date(2027, 1, 15)
    assert revised["ETag"] == tag(milestone.version)

    future = send(
        client,
        "post",
        f"/api/v1/milestones/{milestone.pk}/complete/",
        {"done_date": (today + dt.timedelta(days=1)).isoformat()},
        headers,
    )
    assert "done_date" in assert_error(future, 400, "invalid")["details"]
    done = send(
        client,
        "post",
        f"/api/v1/milestones/{milestone.pk}/complete/",
        {"done_date": today.isoformat()},
        headers | {"If-Match": revised["ETag"]},
    )
    assert done.status_code == 200, done.content
    milestone.refresh_from_db()
    assert milestone.done_date == today


def test_report_validation_errors(client, world, reporter_a):
    project = world["project"]
    headers = bearer(make_token(reporter_a, write=True))
    before = ProgressReport.objects.count()
    negative = send(
        client,
        "post",
        "/api/v1/progress-reports/",
        {"project": project.pk, "period": "2026-11", "investment": "-1"},
        headers,
    )
    assert "investment" in assert_error(negative, 400, "invalid")["details"]
    bad_period = send(
        client,
        "post",
        "/api/v1/progress-reports/",
        {"project": project.pk, "period": "not-a-period", "investment": "1"},
        headers,
    )
    assert "period" in assert_error(bad_period, 400, "invalid")["details"]
    future = send(
        client,
        "post",
        "/api/v1/progress-reports/",
        {"project": project.pk, "period": "2026-12", "investment": "1"},
        headers,
    )
    assert "period" in assert_error(future, 400, "invalid")["details"]
    assert ProgressReport.objects.count() == before


def test_report_workflow(client, world, reporter_a, head_a):
    project = world["project"]
    reporter = bearer(make_token(reporter_a, write=True))
    head = bearer(make_token(head_a, write=True))
    url = "/api/v1/progress-reports/"

    saved = send(
        client,
        "post",
        url,
        {"project": project.pk, "period": "2026-11", "investment": "88", "next_steps": "浇筑"},
        reporter,
    )
    assert saved.status_code == 201, saved.content
    pk = saved.json()["id"]
    report = ProgressReport.objects.get(pk=pk)
    assert (report.status, report.investment, report.next_steps) == ("draft", Decimal("88"), "浇筑")

    # Saving the same period again updates the draft (200, same object).
    again = send(
        client,
        "post",
        url,
        {"project": project.pk, "period": "2026-11", "investment": "90"},
        reporter | {"If-Match": saved["ETag"]},
    )
    assert again.status_code == 200, again.content
    assert again.json()["id"] == pk

    submitted = send(client, "post", f"{url}{pk}/submit/", {}, reporter)
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "submitted"

    no_reason = send(client, "post", f"{url}{pk}/return/", {"reason": ""}, head)
    assert "reason" in assert_error(no_reason, 400, "invalid")["details"]
    assert_error(
        send(client, "post", f"{url}{pk}/return/", {"reason": "数据有误"}, reporter),
        403,
        "permission_denied",
    )
    returned = send(client, "post", f"{url}{pk}/return/", {"reason": "投资数据有误"}, head)
    assert returned.status_code == 200, returned.content
    report.refresh_from_db()
    assert (report.status, report.return_reason) == ("returned", "投资数据有误")

    fixed = send(
        client,
        "patch",
        f"{url}{pk}/",
        {"investment": "95"},
        reporter | {"If-Match": returned["ETag"]},
    )
    assert fixed.status_code == 200, fixed.content
    resubmitted = send(client, "post", f"{url}{pk}/submit/", {}, reporter)
    assert resubmitted.status_code == 200

    assert_error(
        send(client, "post", f"{url}{pk}/approve/", {}, reporter), 403, "permission_denied"
    )
    report.refresh_from_db()
    assert report.status == "submitted"
    approved = send(client, "post", f"{url}{pk}/approve/", {}, head)
    assert approved.status_code == 200, approved.content
    report.refresh_from_db()
    assert (report.status, report.investment, report.reviewed_by) == (
        "approved",
        Decimal("95"),
        head_a,
    )
    # An approved report is no longer editable: the service's rule, as a 400.
    locked = send(
        client,
        "patch",
        f"{url}{pk}/",
        {"investment": "1"},
        reporter | {"If-Match": approved["ETag"]},
    )
    assert_error(locked, 400, "invalid")


@pytest.mark.parametrize("resource", ["projects", "milestones", "progress-reports"])
def test_delete_stays_405(client, world, supervisor, resource):
    key = {"projects": "project", "milestones": "milestone", "progress-reports": "report"}
    pk = world[key[resource]].pk
    response = client.delete(
        f"/api/v1/{resource}/{pk}/", headers=bearer(make_token(supervisor, write=True))
    )
    assert_error(response, 405, "method_not_allowed")


def test_milestones_have_no_put_or_patch(client, world, supervisor):
    milestone = world["milestone"]
    headers = bearer(make_token(supervisor, write=True)) | {"If-Match": tag(milestone.version)}
    for method in ("put", "patch"):
        response = send(client, method, f"/api/v1/milestones/{milestone.pk}/", {}, headers)
        assert_error(response, 405, "method_not_allowed")


# --- references in writes (docs/security.md) ----------------------------------------------------
#
# 交通运输局's project lies in 城关镇 and 水利局 cooperates on it: the township's clerk and 水利局's
# reporter see it but may not change it, so no write of theirs may name it (made a bundle, it
# would stop its unit's reports and absorb theirs); nothing of the neighbouring county may be
# named by anyone here. Each persona writes on its own project and unit.


@pytest.fixture
def reference_world(
    world, today, county, unit_a, unit_b, township, township_reporter, reporter_b, stranger
):
    project_a = world["project"]
    services.project_update(
        project=project_a,
        actor=world["project"].created_by,
        township=township,
        cooperating_units=[unit_b],
    )
    neighbour = stranger.memberships.get().unit
    foreign_town = factories.UnitFactory(name="邻县镇", kind="township", parent=neighbour)
    foreign_leader = Leader.objects.create(name="赵邻县", title="副县长", unit=neighbour)
    own = {
        "reporter_a": factories.create_project(
            actor=project_a.created_by, lead_unit=unit_a, name="园区道路"
        ),
        "reporter_b": Project.objects.get(lead_unit=unit_b),
        "township_reporter": factories.create_project(
            actor=township_reporter, lead_unit=township, name="镇污水管网"
        ),
    }
    units = {"reporter_a": unit_a, "reporter_b": unit_b, "township_reporter": township}
    return {
        "project_a": project_a.pk,
        "foreign_town": foreign_town.pk,
        "foreign_unit": neighbour.pk,
        "foreign_leader": foreign_leader.pk,
        "own_project": own,
        "own_unit": {persona: u.pk for persona, u in units.items()},
    }


SEES_NOT_CHANGES = {"township_reporter": 400, "reporter_b": 400, "reporter_a": 200}
NAMED_NOWHERE = {"township_reporter": 400, "reporter_b": 400, "reporter_a": 400}
REPORTS_ON_IT = {"township_reporter": 403, "reporter_b": 403, "reporter_a": 201}

# name → (method, url, body, expected status by persona); {own_project}, {own_unit}: the persona's
REFERENCE_WRITES = {
    "parent: a project seen only": (
        "patch",
        "/api/v1/projects/{own_project}/",
        {"parent": "{project_a}"},
        SEES_NOT_CHANGES,
    ),
    "new project under a project seen only": (
        "post",
        "/api/v1/projects/",
        {
            "lead_unit": "{own_unit}",
            "name": "分项",
            "category": "transport",
            "parent": "{project_a}",
        },
        SEES_NOT_CHANGES | {"reporter_a": 201},
    ),
    "township of another county": (
        "patch",
        "/api/v1/projects/{own_project}/",
        {"township": "{foreign_town}"},
        NAMED_NOWHERE,
    ),
    "cooperating unit of another county": (
        "patch",
        "/api/v1/projects/{own_project}/",
        {"cooperating_units": ["{foreign_unit}"]},
        NAMED_NOWHERE,
    ),
    "lead leader of another county": (
        "patch",
        "/api/v1/projects/{own_project}/",
        {"lead_leader": "{foreign_leader}"},
        NAMED_NOWHERE,
    ),
    "co-leader of another county": (
        "put",
        "/api/v1/projects/{own_project}/",
        {
            "lead_unit": "{own_unit}",
            "name": "改名",
            "category": "transport",
            "co_leaders": ["{foreign_leader}"],
        },
        NAMED_NOWHERE,
    ),
    "progress report on a project seen only": (
        "post",
        "/api/v1/progress-reports/",
        {"project": "{project_a}", "period": "2026-11", "investment": "10"},
        REPORTS_ON_IT,
    ),
    "milestone on a project seen only": (
        "post",
        "/api/v1/milestones/",
        {"project": "{project_a}", "name": "通车", "due_date": "2027-06-30"},
        REPORTS_ON_IT,
    ),
    "funding of a project seen only": (
        "post",
        "/api/v1/project-funding/",
        {"project": "{project_a}", "source": "upper_special", "planned": "1", "arrived": "0"},
        REPORTS_ON_IT,
    ),
    "funding application for a project seen only": (
        "post",
        "/api/v1/funding-applications/",
        {
            "unit": "{own_unit}",
            "project": "{project_a}",
            "year": 2026,
            "title": "补助",
            "channel": "upper_special",
            "requested": "5",
        },
        SEES_NOT_CHANGES | {"reporter_a": 201},
    ),
}


def _resolve(value, ids: dict, persona: str):
    if isinstance(value, dict):
        return {k: _resolve(v, ids, persona) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, ids, persona) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        found = ids[value[1:-1]]
        found = found[persona] if isinstance(found, dict) else found
        return found.pk if isinstance(found, Project) else found
    return value


@pytest.mark.parametrize("name", REFERENCE_WRITES)
@pytest.mark.parametrize("persona", ["township_reporter", "reporter_b", "reporter_a"])
def test_references_need_write_rights(client, request, reference_world, name, persona):
    method, url, body, expected = REFERENCE_WRITES[name]
    own = reference_world["own_project"][persona]
    url = url.replace("{own_project}", str(own.pk))
    headers = bearer(make_token(request.getfixturevalue(persona), write=True))
    if method in ("put", "patch"):
        headers["If-Match"] = tag(own.version)
    before = domain_state()
    response = send(client, method, url, _resolve(body, reference_world, persona), headers)
    assert response.status_code == expected[persona], response.content[:500]
    if response.status_code >= 400:
        assert changed_tables(before, domain_state()) == []
        if response.status_code == 400:
            # Refused for the reference, the field it came in.
            assert set(response.json()["details"]) & set(body), response.json()
