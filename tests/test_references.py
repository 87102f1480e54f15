"""A reference to an object outside the caller's scope answers exactly like a reference to an id
that does not exist: same status, same code, same message (no existence oracle). Across every
write of the API that names an object in its body, and the pages' forms.

The objects "not yours" belong to the neighbouring county: a project, a unit, a township and a
leader that exist but that nobody of ours may see or name.
"""

from __future__ import annotations

import json
import re

import pytest

from projects import selectors
from projects.models import Leader, Project, Unit
from supervision.issues import services as ledger
from tests import factories
from tests.support.api import bearer, make_token

PROJECT, UNIT, TOWNSHIP, LEADER = "project", "unit", "township", "leader"
MODELS = {PROJECT: Project, UNIT: Unit, TOWNSHIP: Unit, LEADER: Leader}

# (persona, method, url, body with X where the reference goes, what X is)
API_CASES = {
    "report's project": (
        "reporter_a",
        "post",
        "/api/v1/progress-reports/",
        {"project": "X", "period": "2026-11", "investment": "1"},
        PROJECT,
    ),
    "milestone's project": (
        "reporter_a",
        "post",
        "/api/v1/milestones/",
        {"project": "X", "name": "开工", "due_date": "2027-01-01"},
        PROJECT,
    ),
    "funding's project": (
        "reporter_a",
        "post",
        "/api/v1/project-funding/",
        {"project": "X", "source": "county_fiscal", "planned": "1", "arrived": "0"},
        PROJECT,
    ),
    "new project's unit": (
        "reporter_a",
        "post",
        "/api/v1/projects/",
        {"lead_unit": "X", "name": "新项目", "category": "transport"},
        UNIT,
    ),
    "project handed over": ("reporter_a", "patch", "{project_a}", {"lead_unit": "X"}, UNIT),
    "project's parent": ("reporter_a", "patch", "{project_a}", {"parent": "X"}, PROJECT),
    "project's township": ("reporter_a", "patch", "{project_a}", {"township": "X"}, TOWNSHIP),
    "project's co-unit": (
        "reporter_a",
        "patch",
        "{project_a}",
        {"cooperating_units": ["X"]},
        UNIT,
    ),
    "project's leader": ("reporter_a", "patch", "{project_a}", {"lead_leader": "X"}, LEADER),
    "application's unit": (
        "reporter_a",
        "post",
        "/api/v1/funding-applications/",
        {"unit": "X", "year": 2026, "title": "补助", "channel": "upper_special"},
        UNIT,
    ),
    "application's project": (
        "reporter_a",
        "post",
        "/api/v1/funding-applications/",
        {
            "unit": "{unit_a}",
            "project": "X",
            "year": 2026,
            "title": "补助",
            "channel": "upper_special",
        },
        PROJECT,
    ),
    "target's unit": (
        "supervisor",
        "post",
        "/api/v1/targets/",
        {"unit": "X", "year": 2026, "metric": "funding", "target_value": "10"},
        UNIT,
    ),
    "issue's unit": (
        "supervisor",
        "post",
        "/api/v1/issues/",
        {
            "title": "问题",
            "source": "upper",
            "category": "other",
            "unit": "X",
            "deadline": "2026-12-31",
        },
        UNIT,
    ),
    "issue's project": (
        "supervisor",
        "post",
        "/api/v1/issues/",
        {
            "title": "问题",
            "source": "upper",
            "category": "other",
            "unit": "{unit_a}",
            "project": "X",
            "deadline": "2026-12-31",
        },
        PROJECT,
    ),
    "issue's leader": (
        "supervisor",
        "post",
        "/api/v1/issues/",
        {
            "title": "问题",
            "source": "upper",
            "category": "other",
            "unit": "{unit_a}",
            "leader": "X",
            "deadline": "2026-12-31",
        },
        LEADER,
    ),
    "help asked on behalf of a unit": (
        "reporter_a",
        "post",
        "/api/v1/issues/request-help/",
        {"requesting_unit": "X", "title": "协调", "description": "协调用电"},
        UNIT,
    ),
    "help asked to push a unit": (
        "reporter_a",
        "post",
        "/api/v1/issues/request-help/",
        {"requesting_unit": "{unit_a}", "title": "协调", "description": "协调", "target_unit": "X"},
        UNIT,
    ),
    "unit urged": (
        "supervisor",
        "post",
        "/api/v1/issues/{issue}/urge/",
        {"text": "请加快", "target_unit": "X"},
        UNIT,
    ),
    "request accepted for a unit": (
        "supervisor",
        "post",
        "/api/v1/issues/{pending}/accept/",
        {"unit": "X", "deadline": "2026-12-31"},
        UNIT,
    ),
    "inspection's project": (
        "supervisor",
        "post",
        "/api/v1/inspections/",
        {
            "title": "督查",
            "kind": "special",
            "held_on": "2026-11-20",
            "unit": "{county}",
            "inspectors": "甲",
            "projects": ["X"],
        },
        PROJECT,
    ),
    "unit visited": (
        "supervisor",
        "post",
        "/api/v1/inspections/",
        {
            "title": "督查",
            "kind": "special",
            "held_on": "2026-11-20",
            "unit": "{county}",
            "inspectors": "甲",
            "units_visited": ["X"],
        },
        UNIT,
    ),
    "project scored": (
        "supervisor",
        "post",
        "/api/v1/inspections/{inspection}/scores/",
        {"scores": [{"project": "X", "score": "90"}]},
        PROJECT,
    ),
    "finding's unit": (
        "supervisor",
        "post",
        "/api/v1/inspections/{inspection}/issues/",
        {"issues": [{"title": "扬尘", "category": "other", "unit": "X", "deadline": "2026-12-31"}]},
        UNIT,
    ),
    "meeting's host": (
        "supervisor",
        "post",
        "/api/v1/meetings/",
        {
            "title": "调度会",
            "kind": "dispatch",
            "held_on": "2026-11-20",
            "unit": "{county}",
            "host": "X",
        },
        LEADER,
    ),
    "unit absent": (
        "supervisor",
        "post",
        "/api/v1/meetings/",
        {
            "title": "调度会",
            "kind": "dispatch",
            "held_on": "2026-11-20",
            "unit": "{county}",
            "absentees": ["X"],
        },
        UNIT,
    ),
    "notice's project": (
        "supervisor",
        "post",
        "/api/v1/project-notices/",
        {"project": "X", "kind": "red_card", "requirement": "整改"},
        PROJECT,
    ),
}


@pytest.fixture
def world(today, county, unit_a, reporter_a, supervisor, project_a, inspection, stranger_project):
    neighbour = stranger_project.lead_unit
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a, project=project_a)
    pending = ledger.issue_request_help(
        actor=reporter_a, requesting_unit=unit_a, title="请求协调", description="协调用地"
    )
    return {
        "ids": {
            "project_a": project_a.pk,
            "unit_a": unit_a.pk,
            "county": county.pk,
            "issue": issue.pk,
            "pending": pending.pk,
            "inspection": inspection.pk,
        },
        "not_yours": {
            PROJECT: stranger_project.pk,
            UNIT: neighbour.pk,
            TOWNSHIP: factories.UnitFactory(name="邻县镇", kind="township", parent=neighbour).pk,
            LEADER: Leader.objects.create(name="赵邻县", title="副县长", unit=neighbour).pk,
        },
    }


def missing_id(kind: str) -> int:
    return (MODELS[kind].objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


def fill(value, ids: dict, x: int):
    if isinstance(value, dict):
        return {k: fill(v, ids, x) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, ids, x) for v in value]
    if value == "X":
        return x
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def answer(response, x: int) -> tuple[int, str]:
    """Status and body, the id sent written as <id> (an "invalid id" message quotes it)."""
    return response.status_code, re.sub(rf"\b{x}\b", "<id>", response.content.decode())


@pytest.mark.parametrize("case", API_CASES)
def test_api_answers_not_yours_as_does_not_exist(client, request, world, case):
    persona, method, url, body, kind = API_CASES[case]
    headers = bearer(make_token(request.getfixturevalue(persona), write=True))
    if url == "{project_a}":
        url = f"/api/v1/projects/{world['ids']['project_a']}/"
        headers["If-Match"] = "*"
    url = url.format(**world["ids"])
    answers = []
    for x in (world["not_yours"][kind], missing_id(kind)):
        response = getattr(client, method)(
            url,
            data=json.dumps(fill(body, world["ids"], x)),
            content_type="application/json",
            headers=headers,
        )
        answers.append(answer(response, x))
    assert answers[0][0] in (400, 404), answers[0]
    assert answers[0] == answers[1]


# --- the pages: a choice outside the user's reach is "not one of the available choices" ------


PAGE_CASES = {
    "project form: parent": (
        "reporter_a",
        "/projects/{project_a}/edit/",
        {"name": "城区至园区公路改扩建", "category": "transport", "lead_unit": "{unit_a}"},
        "parent",
        PROJECT,
    ),
    "project form: township": (
        "reporter_a",
        "/projects/{project_a}/edit/",
        {"name": "城区至园区公路改扩建", "category": "transport", "lead_unit": "{unit_a}"},
        "township",
        TOWNSHIP,
    ),
    "issue form: unit": (
        "supervisor",
        "/supervision/issues/new/",
        {"title": "问题", "source": "upper", "category": "other", "deadline": "2026-12-31"},
        "unit",
        UNIT,
    ),
    "issue form: leader": (
        "supervisor",
        "/supervision/issues/new/",
        {
            "title": "问题",
            "source": "upper",
            "category": "other",
            "unit": "{unit_a}",
            "deadline": "2026-12-31",
        },
        "leader",
        LEADER,
    ),
    "meeting form: host": (
        "supervisor",
        "/supervision/meetings/new/",
        {"title": "调度会", "kind": "dispatch", "held_on": "2026-11-20", "unit": "{county}"},
        "host",
        LEADER,
    ),
}


@pytest.mark.parametrize("case", PAGE_CASES)
def test_pages_answer_not_yours_as_does_not_exist(client, request, world, case):
    persona, url, data, field, kind = PAGE_CASES[case]
    client.force_login(request.getfixturevalue(persona))
    url = url.format(**world["ids"])
    data = {k: v.format(**world["ids"]) for k, v in data.items()}
    answers = []
    for x in (world["not_yours"][kind], missing_id(kind)):
        response = client.post(url, {**data, field: x})
        errors = response.context["form"].errors if response.context else None
        answers.append((response.status_code, errors and errors.get(field)))
    assert answers[0][0] == 200 and answers[0][1], answers
    assert answers[0] == answers[1]


def test_the_neighbouring_county_exists_for_its_own_people(world, stranger):
    """The objects used above are real: their own county sees them."""
    assert selectors.visible_projects(stranger).filter(pk=world["not_yours"][PROJECT]).exists()
