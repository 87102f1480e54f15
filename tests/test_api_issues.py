"""The ledger over the API: visibility, the timeline, every write through the services with the
same rights as the pages, If-Match, and a fixed number of queries per page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from supervision.issues import services as issue_services
from supervision.models import (
    EscalationLevel,
    Issue,
    IssueAttachment,
    IssueEvent,
    IssueStatus,
)
from tests import factories
from tests.support.api import assert_error, bearer, make_token


def state():
    return (
        sorted(Issue.objects.values_list("id", "status", "level", "version", "deadline")),
        IssueEvent.objects.count(),
    )


def test_list_shows_the_callers_scope_with_the_timeline(
    client, supervisor, reporter_a, unit_a, unit_b, today
):
    mine = factories.IssueFactory(actor=supervisor, unit=unit_a)
    factories.IssueFactory(actor=supervisor, unit=unit_b)
    issue_services.issue_respond(issue=mine, actor=reporter_a, text="已约谈拆迁户")
    body = client.get("/api/v1/issues/", headers=bearer(make_token(reporter_a))).json()
    assert [row["id"] for row in body["results"]] == [mine.pk]
    row = body["results"][0]
    assert row["number"] == mine.number and row["status"] == "in_progress"
    assert [e["kind"] for e in row["timeline"]] == ["raised", "response"]
    assert row["timeline"][1]["actor_name"] == reporter_a.get_full_name() or reporter_a.username
    assert (
        client.get("/api/v1/issues/", headers=bearer(make_token(supervisor))).json()["count"] == 2
    )


def test_detail_has_an_etag_and_outside_scope_is_404(client, supervisor, reporter_b, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    response = client.get(f"/api/v1/issues/{issue.pk}/", headers=bearer(make_token(supervisor)))
    assert response.status_code == 200 and response["ETag"] == '"1"'
    response = client.get(f"/api/v1/issues/{issue.pk}/", headers=bearer(make_token(reporter_b)))
    assert_error(response, 404, "not_found")


def test_filters(client, supervisor, unit_a, unit_b, today):
    late = factories.IssueFactory(actor=supervisor, unit=unit_a)
    Issue.objects.filter(pk=late.pk).update(deadline=today - dt.timedelta(days=1))
    other = factories.IssueFactory(actor=supervisor, unit=unit_b, category="funding")
    auth = bearer(make_token(supervisor))

    def ids(query):
        return [
            r["id"] for r in client.get(f"/api/v1/issues/?{query}", headers=auth).json()["results"]
        ]

    assert ids("overdue=true") == [late.pk]
    assert ids("category=funding") == [other.pk]
    assert ids(f"unit={unit_b.pk}") == [other.pk]
    assert ids("status=open") == [late.pk, other.pk]


def test_list_keeps_a_fixed_number_of_queries(
    client, supervisor, reporter_a, unit_a, today, django_assert_max_num_queries
):
    auth = bearer(make_token(supervisor))
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    issue_services.issue_respond(issue=issue, actor=reporter_a, text="进展")
    with django_assert_max_num_queries(20) as few:
        client.get("/api/v1/issues/", headers=auth)
    for n in range(12):
        more = factories.IssueFactory(actor=supervisor, unit=unit_a, title=f"问题{n}")
        issue_services.issue_respond(issue=more, actor=reporter_a, text="进展")
        issue_services.issue_urge(issue=more, actor=supervisor, text="催办")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/api/v1/issues/", headers=auth).json()["count"] == 13


def test_supervisor_raises_and_the_unit_cannot(client, supervisor, reporter_a, unit_a, today):
    body = {
        "title": "用地指标不足",
        "source": "upper",
        "category": "land_use",
        "unit": unit_a.pk,
        "deadline": (today + dt.timedelta(days=7)).isoformat(),
    }
    response = client.post(
        "/api/v1/issues/",
        body,
        content_type="application/json",
        headers=bearer(make_token(reporter_a, write=True)),
    )
    assert_error(response, 403, "permission_denied")
    assert not Issue.objects.exists()
    response = client.post(
        "/api/v1/issues/",
        body,
        content_type="application/json",
        headers=bearer(make_token(supervisor, write=True)),
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "open"
    assert response["Location"].endswith(f"/api/v1/issues/{response.json()['id']}/")


def test_read_only_token_cannot_write(client, supervisor, reporter_a, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    before = state()
    response = client.post(
        f"/api/v1/issues/{issue.pk}/respond/",
        {"text": "只读令牌"},
        content_type="application/json",
        headers=bearer(make_token(reporter_a)),
    )
    assert response.status_code == 403
    assert state() == before


def test_the_whole_flow_through_the_api(client, supervisor, reporter_a, leader, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    unit = bearer(make_token(reporter_a, write=True))
    office = bearer(make_token(supervisor, write=True))

    def post(path, body, auth, **headers):
        return client.post(
            f"/api/v1/issues/{issue.pk}/{path}/",
            body,
            content_type="application/json",
            headers={**auth, **headers},
        )

    assert post("respond", {"text": "已开展"}, unit).json()["status"] == "in_progress"
    # A stale If-Match is refused and changes nothing.
    before = state()
    assert_error(
        post("urge", {"text": "加快"}, office, **{"If-Match": '"1"'}), 412, "version_conflict"
    )
    assert state() == before
    assert post("urge", {"text": "加快"}, office).json()["level"] == EscalationLevel.URGED
    new_deadline = (today + dt.timedelta(days=20)).isoformat()
    assert (
        post("extension", {"new_deadline": new_deadline, "reason": "雨季"}, unit).status_code == 200
    )
    assert_error(post("extension-decision", {"grant": True}, unit), 403, "permission_denied")
    assert post("extension-decision", {"grant": True}, office).json()["deadline"] == new_deadline
    assert post("escalate", {"level": 3, "reason": "进展缓慢"}, office).json()["level"] == 3
    assert post("rectified", {"text": "已完成"}, unit).json()["status"] == "resolved"
    assert_error(post("close", {}, unit), 403, "permission_denied")
    assert post("close", {"note": "核实"}, office).json()["status"] == "closed"
    instruct = post("instruct", {"text": "做得好"}, bearer(make_token(leader, write=True)))
    assert instruct.status_code == 200
    kinds = [e["kind"] for e in instruct.json()["timeline"]]
    assert kinds == [
        "raised",
        "response",
        "urged",
        "extension_requested",
        "extension_granted",
        "escalated",
        "rectified",
        "closed",
        "instruction",
    ]


def test_bad_payloads_are_400_in_chinese_and_change_nothing(client, supervisor, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    office = bearer(make_token(supervisor, write=True))
    before = state()
    for path, body in [
        ("escalate", {"level": 9, "reason": "x"}),
        ("escalate", {"level": 0, "reason": "x"}),
        ("escalate", {"level": 2, "reason": ""}),
        ("send-back", {"reason": "not rectified yet"}),
        ("extension-decision", {"grant": True}),
        ("urge", {}),
    ]:
        response = client.post(
            f"/api/v1/issues/{issue.pk}/{path}/",
            body,
            content_type="application/json",
            headers=office,
        )
        assert response.status_code == 400, (path, body, response.content)
    assert state() == before


def test_unit_asks_for_help_and_the_office_accepts(
    client, supervisor, reporter_a, unit_a, unit_b, today
):
    response = client.post(
        "/api/v1/issues/request-help/",
        {
            "requesting_unit": unit_a.pk,
            "title": "管线迁改",
            "description": "请协调",
            "target_unit": unit_b.pk,
        },
        content_type="application/json",
        headers=bearer(make_token(reporter_a, write=True)),
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == IssueStatus.PENDING and created["awaiting_office"] is True
    office = bearer(make_token(supervisor, write=True))
    assert [
        r["id"]
        for r in client.get("/api/v1/issues/?awaiting_office=true", headers=office).json()[
            "results"
        ]
    ] == [created["id"]]
    response = client.post(
        f"/api/v1/issues/{created['id']}/accept/",
        {"unit": unit_b.pk, "deadline": (today + dt.timedelta(days=5)).isoformat()},
        content_type="application/json",
        headers=office,
    )
    assert response.status_code == 200 and response.json()["status"] == "open"


# ---------------------------------------------------------------------------------------------
# Files with a response or a rectification (multipart/form-data)
# ---------------------------------------------------------------------------------------------


def _files(*names_and_contents):
    return [SimpleUploadedFile(name, content) for name, content in names_and_contents]


def _stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_a_response_carries_files_and_the_token_downloads_them(
    client, supervisor, reporter_a, reporter_b, unit_a, today
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    auth = bearer(make_token(reporter_a, write=True))
    files = _files(("现场.jpg", b"\xff\xd8\xff" + b"0" * 100), ("凭证.pdf", b"%PDF-1.4 x"))
    response = client.post(
        f"/api/v1/issues/{issue.pk}/respond/",
        {"text": "已完成50%兑付", "files": files},
        headers=auth,
    )
    assert response.status_code == 200, response.content
    event = response.json()["timeline"][-1]
    assert (event["kind"], event["text"]) == ("response", "已完成50%兑付")
    assert [(a["name"], a["size"]) for a in event["attachments"]] == [
        ("现场.jpg", 103),
        ("凭证.pdf", 10),
    ]
    assert len(_stored_files()) == 2
    download = client.get(event["attachments"][1]["url"], headers=auth)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"%PDF-1.4 x"
    # Someone who does not see the issue does not get its files, with a token or without one.
    other = client.get(event["attachments"][1]["url"], headers=bearer(make_token(reporter_b)))
    assert other.status_code == 404
    assert client.get(event["attachments"][1]["url"]).status_code == 302  # to the login page
    bad_token = client.get(event["attachments"][1]["url"], headers=bearer("nope"))
    assert bad_token.status_code == 401


def test_rectified_with_evidence(client, supervisor, reporter_a, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    response = client.post(
        f"/api/v1/issues/{issue.pk}/rectified/",
        {"text": "全部兑付，附凭证", "files": _files(("兑付凭证.xlsx", b"PK\x03\x04data"))},
        headers=bearer(make_token(reporter_a, write=True)),
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == IssueStatus.RESOLVED
    assert list(IssueAttachment.objects.values_list("name", "event__kind")) == [
        ("兑付凭证.xlsx", "rectified")
    ]


@pytest.mark.parametrize(
    ("action", "files", "limit", "message"),
    [
        ("respond", [("virus.exe", b"MZ0000")], None, "不是台账可保存的文件类型"),
        ("respond", [("现场.jpg", b"\xff\xd8\xff"), ("空.pdf", b"")], None, "是空文件"),
        ("rectified", [("大图.jpg", b"\xff\xd8\xff" + b"0" * 2000)], 1024, "“大图.jpg”超过"),
        ("rectified", [(f"{n}.jpg", b"\xff\xd8\xff") for n in range(11)], None, "最多上传 10 个"),
    ],
)
def test_refused_files_write_nothing_and_say_why_in_chinese(
    client, settings, supervisor, reporter_a, unit_a, today, action, files, limit, message
):
    if limit:
        settings.TRACKER_ATTACHMENT_MAX_BYTES = limit
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    before = state()
    response = client.post(
        f"/api/v1/issues/{issue.pk}/{action}/",
        {"text": "见附件", "files": _files(*files)},
        headers=bearer(make_token(reporter_a, write=True)),
    )
    body = assert_error(response, 400, "invalid")
    assert message in body["message"] + str(body["details"])
    assert state() == before
    assert not IssueAttachment.objects.exists()
    assert _stored_files() == []


def test_files_only_on_the_actions_that_take_them(client, supervisor, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    before = state()
    response = client.post(
        f"/api/v1/issues/{issue.pk}/urge/",
        {"text": "请加快", "files": _files(("现场.jpg", b"\xff\xd8\xff"))},
        headers=bearer(make_token(supervisor, write=True)),
    )
    assert_error(response, 415, "unsupported_media_type")
    assert state() == before


def test_files_need_a_write_token_and_the_unit(
    client, supervisor, reporter_a, reporter_b, unit_a, today
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    before = state()

    def send(user, write=True):
        return client.post(
            f"/api/v1/issues/{issue.pk}/respond/",
            {"text": "见附件", "files": _files(("现场.jpg", b"\xff\xd8\xff"))},
            headers=bearer(make_token(user, write=write)),
        )

    assert send(reporter_b).status_code == 404
    assert_error(send(reporter_a, write=False), 403, "token_read_only")
    assert state() == before and _stored_files() == []
