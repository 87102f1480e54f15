"""The permission matrix of the supervision pages and API (issue #6, "Done means").

Every page and endpoint of the supervision side — the ledger, the alert board, inspections,
meetings, project notices, notifications and their preferences, rankings and bulletins, the
dashboard and a unit's scorecard, and their /api/v1/ counterparts — against five personas:

- ``anonymous``: pages send to the login page, the API answers 401 in JSON;
- ``other``: a reporter of another unit (水利局): 403 or 404, never the data;
- ``own``: a reporter of the responsible unit (交通运输局);
- ``supervisor``: the county's supervision office;
- ``leader``: a county leader.

The table is checked one persona per test over one small dataset: each request runs in a
savepoint rolled back afterwards, so a write allowed to one row does not change the next.
A status of 200 on a row with a marker also says whether the marker (a name only the
dataset's unit 交通运输局 may see) is in the answer: ``SEEN`` it must be, ``HIDDEN`` it must not.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from openpyxl import load_workbook

from supervision import rankings
from supervision.alerts import scan_alerts
from supervision.inspections import services as inspection_services
from supervision.issues import services as ledger
from supervision.models import (
    Notification,
    RankingScheme,
    SchemeMetric,
)
from tests import factories
from tests.support.api import bearer, make_token
from tests.support.files import jpeg_bytes, upload
from tests.support.state import changed_tables, domain_state
from tracker import periods

PERSONAS = ["anonymous", "other", "own", "supervisor", "leader"]
SEEN, HIDDEN = "seen", "hidden"  # 200, with or without the marker
LOGIN = "login"  # a page: 302 to the login page
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    url: str  # formatted with the dataset's ids
    expect: dict[str, Any]  # persona → status, SEEN, HIDDEN (anonymous: implied)
    marker: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    api: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def page(name, url, marker="", **expect):
    return Row(name, "get", url, expect, marker)


def post(name, url, data=None, **expect):
    return Row(name, "post", url, expect, data=data or {})


def api(name, url, marker="", **expect):
    return Row(name, "get", url, expect, marker, api=True)


def api_post(name, url, data=None, method="post", headers=None, **expect):
    return Row(name, method, url, expect, data=data or {}, api=True, headers=headers or {})


def everyone(status, **overrides):
    return {"other": status, "own": status, "supervisor": status, "leader": status, **overrides}


ISSUE = "征地补偿款未兑付"  # the issue's title
MILESTONE = "征地完成节点"  # an overdue milestone: the alert's detail
INSPECTION = "重点项目专项督查"
MEETING = "重点项目调度会"
NOTICE = "限期开工否则取消"  # a notice's requirement
NOTE = "通知：征地问题"  # reporter_a's notification

IN_SCOPE = {"other": HIDDEN, "own": SEEN, "supervisor": SEEN, "leader": SEEN}
OWN_ONLY = {"other": HIDDEN, "own": SEEN, "supervisor": HIDDEN, "leader": HIDDEN}
DETAIL = {"other": 404, "own": 200, "supervisor": 200, "leader": 200}
DETAIL_SEEN = {"other": 404, "own": SEEN, "supervisor": SEEN, "leader": SEEN}
SUPERVISOR_WRITES = {"other": 404, "own": 403, "supervisor": 302, "leader": 403}
DRAFT = {"other": 404, "own": 404, "supervisor": 200, "leader": 404}
SUPERVISOR_CREATES = {"other": 403, "own": 403, "supervisor": 200, "leader": 403}

UNIT_WRITES = {"other": 404, "own": 302, "supervisor": 302, "leader": 403}
INSPECTION_FORM = {
    "title": "暗访督查",
    "kind": "unannounced",
    "held_on": "2026-11-20",
    "unit": "{county}",
    "inspectors": "甲、乙",
}
MEETING_FORM = {"title": "推进会", "kind": "dispatch", "held_on": "2026-11-20", "unit": "{county}"}

PAGES = [
    # The ledger
    page("issue list", "/supervision/issues/", ISSUE, **IN_SCOPE),
    page("issue export", "/supervision/issues/export/", ISSUE, **IN_SCOPE),
    page("issue raise form", "/supervision/issues/new/", **SUPERVISOR_CREATES),
    post(
        "issue raise",
        "/supervision/issues/new/",
        {
            "title": "新问题",
            "source": "upper",
            "category": "other",
            "unit": "{unit_a}",
            "deadline": "2026-12-31",
        },
        other=403,
        own=403,
        supervisor=302,
        leader=403,
    ),
    page("ask for help form", "/supervision/issues/ask/", **everyone(200, leader=403)),
    page("issue detail", "/supervision/issues/{issue}/", ISSUE, **DETAIL_SEEN),
    post(
        "issue respond",
        "/supervision/issues/{issue}/respond/",
        {"respond-text": "已完成80%"},
        other=404,
        own=302,
        supervisor=302,
        leader=403,
    ),
    post(
        "issue rectified",
        "/supervision/issues/{issue}/rectified/",
        {"rectified-text": "已整改"},
        other=404,
        own=302,
        supervisor=302,
        leader=403,
    ),
    post(
        "issue urge",
        "/supervision/issues/{issue}/urge/",
        {"urge-text": "请加快"},
        **SUPERVISOR_WRITES,
    ),
    post(
        "issue escalate",
        "/supervision/issues/{issue}/escalate/",
        {"escalate-level": "3", "escalate-reason": "多次催办未果"},
        **SUPERVISOR_WRITES,
    ),
    post(
        "issue instruct",
        "/supervision/issues/{issue}/instruct/",
        {"instruct-text": "请主要负责人亲自抓"},
        other=404,
        own=403,
        supervisor=403,
        leader=302,
    ),
    post("issue unknown action", "/supervision/issues/{issue}/nonsense/", **everyone(404)),
    post(
        "issue extension",
        "/supervision/issues/{issue}/extension/",
        {"extension-new_deadline": "2027-01-31", "extension-reason": "雨季停工"},
        **UNIT_WRITES,
    ),
    post(
        "issue urge up",
        "/supervision/issues/{issue}/urge_up/",
        {"urge_up-text": "请县里协调供电公司"},
        **UNIT_WRITES,
    ),
    post(
        "issue close",
        "/supervision/issues/{rectified}/close/",
        {"close-note": "核实销号"},
        **SUPERVISOR_WRITES,
    ),
    post(
        "issue send back",
        "/supervision/issues/{rectified}/send_back/",
        {"send_back-reason": "凭证不全"},
        **SUPERVISOR_WRITES,
    ),
    post(
        "issue extension decision",
        "/supervision/issues/{extended}/decide_extension/",
        {"decide_extension-grant": "1"},
        **SUPERVISOR_WRITES,
    ),
    post(
        "issue accept",
        "/supervision/issues/{pending}/accept/",
        {"accept-unit": "{unit_a}", "accept-deadline": "2026-12-31"},
        # The form offers only the units one supervises: refused as invalid, nothing written.
        **SUPERVISOR_WRITES | {"own": 400, "leader": 400},
    ),
    post(
        "issue decline",
        "/supervision/issues/{pending}/decline/",
        {"decline-reason": "不属于督查范围"},
        **SUPERVISOR_WRITES,
    ),
    post(
        "ask for help",
        "/supervision/issues/ask/",
        {
            "requesting_unit": "{unit_a}",
            "title": "请求协调",
            "description": "协调电力迁改",
            "category": "other",
        },
        other=200,  # the form re-shown: 交通运输局 is no unit of theirs; nothing written
        own=302,
        supervisor=302,
        leader=403,
    ),
    Row("issue action by GET", "get", "/supervision/issues/{issue}/respond/", everyone(405)),
    page("issue attachment", "/supervision/attachments/{attachment}/", **DETAIL),
    # Alerts
    page("alert board", "/supervision/alerts/", MILESTONE, **IN_SCOPE),
    # Inspections
    page("inspection list", "/supervision/inspections/", INSPECTION, **IN_SCOPE),
    page("inspection form", "/supervision/inspections/new/", **SUPERVISOR_CREATES),
    page("inspection detail", "/supervision/inspections/{inspection}/", INSPECTION, **DETAIL_SEEN),
    post(
        "inspection create",
        "/supervision/inspections/new/",
        INSPECTION_FORM,
        **SUPERVISOR_CREATES | {"supervisor": 302},
    ),
    post(
        "inspection save",
        "/supervision/inspections/{inspection}/edit/",
        INSPECTION_FORM | {"projects": "{project_a}", "units_visited": "{unit_a}"},
        **SUPERVISOR_WRITES,
    ),
    post(
        "inspection photos",
        "/supervision/inspections/{inspection}/photos/",
        {"photos": lambda: upload(jpeg_bytes()), "project": "{project_a}"},
        **SUPERVISOR_WRITES,
    ),
    page(
        "inspection edit",
        "/supervision/inspections/{inspection}/edit/",
        other=404,
        own=403,
        supervisor=200,
        leader=403,
    ),
    post(
        "inspection scores",
        "/supervision/inspections/{inspection}/scores/",
        {
            "scores-TOTAL_FORMS": "1",
            "scores-INITIAL_FORMS": "1",
            "scores-0-project": "{project_a}",
            "scores-0-score": "90",
        },
        **SUPERVISOR_WRITES,
    ),
    post(
        "inspection issues",
        "/supervision/inspections/{inspection}/issues/",
        {
            "issues-TOTAL_FORMS": "1",
            "issues-INITIAL_FORMS": "0",
            "issues-0-title": "扬尘管控不到位",
            "issues-0-category": "other",
            "issues-0-unit": "{unit_a}",
            "issues-0-deadline": "2026-12-31",
        },
        **SUPERVISOR_WRITES,
    ),
    post(
        "inspection photo remove",
        "/supervision/inspections/{inspection}/photos/{photo}/remove/",
        **SUPERVISOR_WRITES,
    ),
    page("inspection photo", "/supervision/inspection-photos/{photo}/thumb/", **DETAIL),
    # Meetings
    page("meeting list", "/supervision/meetings/", MEETING, **IN_SCOPE),
    page("meeting form", "/supervision/meetings/new/", **SUPERVISOR_CREATES),
    page("meeting detail", "/supervision/meetings/{meeting}/", MEETING, **DETAIL_SEEN),
    post(
        "meeting create",
        "/supervision/meetings/new/",
        MEETING_FORM,
        **SUPERVISOR_CREATES | {"supervisor": 302},
    ),
    post(
        "meeting save",
        "/supervision/meetings/{meeting}/edit/",
        MEETING_FORM | {"attendees": "{unit_a}", "projects": "{project_a}"},
        **SUPERVISOR_WRITES,
    ),
    page(
        "meeting edit",
        "/supervision/meetings/{meeting}/edit/",
        other=404,
        own=403,
        supervisor=200,
        leader=403,
    ),
    post(
        "meeting decisions",
        "/supervision/meetings/{meeting}/decisions/",
        {
            "decisions-TOTAL_FORMS": "1",
            "decisions-INITIAL_FORMS": "0",
            "decisions-0-title": "协调电力迁改",
            "decisions-0-category": "other",
            "decisions-0-unit": "{unit_a}",
            "decisions-0-deadline": "2026-12-31",
        },
        **SUPERVISOR_WRITES,
    ),
    # Project notices
    page("project notices", "/supervision/projects/{project_a}/notices/", NOTICE, **DETAIL_SEEN),
    post(
        "notice issue",
        "/supervision/projects/{project_a}/notices/",
        {"kind": "red_card", "requirement": "整改"},
        **SUPERVISOR_WRITES,
    ),
    post(
        "notice settle",
        "/supervision/notices/{notice}/settle/",
        {"status": "fulfilled", "outcome": "已开工"},
        **SUPERVISOR_WRITES,
    ),
    # Notifications
    page("notification inbox", "/notifications/", NOTE, **OWN_ONLY),
    page("notification preferences", "/notifications/preferences/", **everyone(200)),
    post("notifications read all", "/notifications/read-all/", **everyone(302)),
    post(
        "notification read",
        "/notifications/{notification}/read/",
        other=404,
        own=302,
        supervisor=404,
        leader=404,
    ),
    # Rankings and bulletins (a draft: the supervision office's only)
    page("ranking index", "/rankings/", **everyone(200)),
    page("ranking draft", "/rankings/{draft}/", **DRAFT),
    page("ranking published", "/rankings/{published}/", **everyone(200)),
    page("bulletin draft", "/rankings/{draft}/bulletin/", **DRAFT),
    page("bulletin xlsx", "/rankings/{draft}/bulletin.xlsx", **DRAFT),
    page("bulletin docx", "/rankings/{draft}/bulletin.docx", **DRAFT),
    post(
        "ranking commentary",
        "/rankings/{draft}/commentary/",
        {"commentary": "总体平稳"},
        **DRAFT | {"supervisor": 302},
    ),
    post("ranking publish", "/rankings/{closed_draft}/publish/", **DRAFT | {"supervisor": 302}),
    post("ranking recompute", "/rankings/{draft}/recompute/", **DRAFT | {"supervisor": 302}),
    page(
        "ranking unit history",
        "/rankings/scheme/{scheme}/unit/{unit_a}/",
        **everyone(200),
    ),
    # The dashboard
    page("dashboard", "/dashboard/", **everyone(200)),
    page("dashboard of a unit", "/dashboard/?unit={unit_a}", **everyone(200, other=403)),
    page("dashboard export", "/dashboard/export.xlsx?unit={unit_a}", **everyone(200, other=403)),
    post(
        "dashboard refresh", "/dashboard/refresh/", {"unit": "{unit_a}"}, **everyone(302, other=403)
    ),
    page("unit scorecard", "/units/{unit_a}/", **DETAIL),
]

API_WRITES = {"other": 404, "own": 403, "supervisor": 200, "leader": 403}

API = [
    # The ledger
    api("issues", "/api/v1/issues/", ISSUE, **IN_SCOPE),
    api("issue", "/api/v1/issues/{issue}/", ISSUE, **DETAIL_SEEN),
    api_post(
        "issue raise",
        "/api/v1/issues/",
        {
            "title": "新问题",
            "source": "upper",
            "category": "other",
            "unit": "{unit_a}",
            "deadline": "2026-12-31",
        },
        other=400,  # 交通运输局 is no unit of theirs: "no such object in your scope"
        own=403,
        supervisor=201,
        leader=403,
    ),
    api_post(
        "issue request help",
        "/api/v1/issues/request-help/",
        {"requesting_unit": "{unit_a}", "title": "请求协调", "description": "电力迁改"},
        other=400,  # 交通运输局 is no unit of theirs: "does not exist", as an unknown id
        own=201,
        supervisor=201,
        leader=403,
    ),
    api_post(
        "issue respond",
        "/api/v1/issues/{issue}/respond/",
        {"text": "已完成80%"},
        other=404,
        own=200,
        supervisor=200,
        leader=403,
    ),
    api_post(
        "issue rectified",
        "/api/v1/issues/{issue}/rectified/",
        {"text": "已整改"},
        other=404,
        own=200,
        supervisor=200,
        leader=403,
    ),
    api_post(
        "issue extension",
        "/api/v1/issues/{issue}/extension/",
        {"new_deadline": "2027-01-31", "reason": "雨季"},
        other=404,
        own=200,
        supervisor=200,
        leader=403,
    ),
    api_post(
        "issue urge up",
        "/api/v1/issues/{issue}/urge-up/",
        {"text": "请县里协调"},
        other=404,
        own=200,
        supervisor=200,
        leader=403,
    ),
    api_post("issue urge", "/api/v1/issues/{issue}/urge/", {"text": "请加快"}, **API_WRITES),
    api_post(
        "issue escalate",
        "/api/v1/issues/{issue}/escalate/",
        {"level": 3, "reason": "多次催办未果"},
        **API_WRITES,
    ),
    api_post(
        "issue close",
        "/api/v1/issues/{rectified}/close/",
        {"note": "核实销号"},
        **API_WRITES,
    ),
    api_post(
        "issue send back",
        "/api/v1/issues/{rectified}/send-back/",
        {"reason": "凭证不全"},
        **API_WRITES,
    ),
    api_post(
        "issue extension decision",
        "/api/v1/issues/{extended}/extension-decision/",
        {"grant": True},
        **API_WRITES,
    ),
    api_post(
        "issue accept",
        "/api/v1/issues/{pending}/accept/",
        {"unit": "{unit_a}", "deadline": "2026-12-31"},
        **API_WRITES,
    ),
    api_post(
        "issue decline",
        "/api/v1/issues/{pending}/decline/",
        {"reason": "不属于督查范围"},
        **API_WRITES,
    ),
    api_post(
        "issue instruct",
        "/api/v1/issues/{issue}/instruct/",
        {"text": "请主要负责人亲自抓"},
        other=404,
        own=403,
        supervisor=403,
        leader=200,
    ),
    # Alerts
    api("alerts", "/api/v1/alerts/", MILESTONE, **IN_SCOPE),
    api("alert", "/api/v1/alerts/{alert}/", MILESTONE, **DETAIL_SEEN),
    # Inspections
    api("inspections", "/api/v1/inspections/", INSPECTION, **IN_SCOPE),
    api("inspection", "/api/v1/inspections/{inspection}/", INSPECTION, **DETAIL_SEEN),
    api_post(
        "inspection change",
        "/api/v1/inspections/{inspection}/",
        {"findings": "复查：已整改"},
        method="patch",
        headers={"If-Match": "*"},
        **API_WRITES,
    ),
    api_post(
        "inspection create",
        "/api/v1/inspections/",
        {
            "title": "暗访",
            "kind": "unannounced",
            "held_on": "2026-11-20",
            "unit": "{county}",
            "inspectors": "甲",
        },
        other=400,
        own=400,
        supervisor=201,
        leader=400,
    ),
    api_post(
        "inspection scores",
        "/api/v1/inspections/{inspection}/scores/",
        {"scores": [{"project": "{project_a}", "score": "90"}]},
        **API_WRITES,
    ),
    api_post(
        "inspection issues",
        "/api/v1/inspections/{inspection}/issues/",
        {
            "issues": [
                {
                    "title": "扬尘管控不到位",
                    "category": "other",
                    "unit": "{unit_a}",
                    "deadline": "2026-12-31",
                }
            ]
        },
        **API_WRITES | {"supervisor": 201},
    ),
    # Meetings
    api("meetings", "/api/v1/meetings/", MEETING, **IN_SCOPE),
    api("meeting", "/api/v1/meetings/{meeting}/", MEETING, **DETAIL_SEEN),
    api_post(
        "meeting create",
        "/api/v1/meetings/",
        {"title": "推进会", "kind": "dispatch", "held_on": "2026-11-20", "unit": "{county}"},
        other=400,
        own=400,
        supervisor=201,
        leader=400,
    ),
    api_post(
        "meeting change",
        "/api/v1/meetings/{meeting}/",
        {"minutes": "补充纪要"},
        method="patch",
        headers={"If-Match": "*"},
        **API_WRITES,
    ),
    api_post(
        "meeting decisions",
        "/api/v1/meetings/{meeting}/decisions/",
        {
            "decisions": [
                {
                    "title": "协调电力迁改",
                    "category": "other",
                    "unit": "{unit_a}",
                    "deadline": "2026-12-31",
                }
            ]
        },
        **API_WRITES | {"supervisor": 201},
    ),
    # Project notices
    api("project notices", "/api/v1/project-notices/", NOTICE, **IN_SCOPE),
    api("project notice", "/api/v1/project-notices/{notice}/", NOTICE, **DETAIL_SEEN),
    api_post(
        "project notice issue",
        "/api/v1/project-notices/",
        {"project": "{project_a}", "kind": "red_card", "requirement": "整改"},
        other=400,
        own=403,
        supervisor=201,
        leader=403,
    ),
    api_post(
        "project notice settle",
        "/api/v1/project-notices/{notice}/settle/",
        {"status": "fulfilled", "outcome": "已开工"},
        **API_WRITES,
    ),
    # Notifications
    api("notifications", "/api/v1/notifications/", NOTE, **OWN_ONLY),
    api(
        "notification",
        "/api/v1/notifications/{notification}/",
        NOTE,
        other=404,
        own=SEEN,
        supervisor=404,
        leader=404,
    ),
    api_post(
        "notification read",
        "/api/v1/notifications/{notification}/read/",
        other=404,
        own=200,
        supervisor=404,
        leader=404,
    ),
    api_post("notifications read all", "/api/v1/notifications/read-all/", **everyone(200)),
    # Rankings
    api("ranking schemes", "/api/v1/ranking-schemes/", **everyone(200)),
    api("rankings", "/api/v1/rankings/", **everyone(200)),
    api("ranking draft", "/api/v1/rankings/{draft}/", **DRAFT),
    api("ranking published", "/api/v1/rankings/{published}/", **everyone(200)),
    api("ranking scheme", "/api/v1/ranking-schemes/{scheme}/", **everyone(200)),
    # The dashboard
    api("dashboard", "/api/v1/dashboard/", **everyone(200)),
    api("dashboard of a unit", "/api/v1/dashboard/?unit={unit_a}", **everyone(200, other=403)),
]


# ---------------------------------------------------------------------------------------------
# The dataset: one unit's issues, alert, inspection, meeting, notice and notification
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def world(today, county, unit_a, unit_b, reporter_a, reporter_b, supervisor, leader, project_a):
    deadline = today + dt.timedelta(days=10)

    def raise_issue(title=ISSUE):
        return factories.IssueFactory(
            actor=supervisor, title=title, unit=unit_a, project=project_a, deadline=deadline
        )

    issue = raise_issue()
    response = ledger.issue_respond(
        issue=issue,
        actor=reporter_a,
        text="已兑付一半",
        files=[SimpleUploadedFile("凭证.pdf", b"%PDF-1.4 proof")],
    )
    rectified = raise_issue("施工便道未硬化")
    ledger.issue_mark_rectified(issue=rectified, actor=reporter_a, text="已硬化")
    extended = raise_issue("管线迁改滞后")
    ledger.issue_request_extension(
        issue=extended, actor=reporter_a, new_deadline=deadline + dt.timedelta(days=20), reason="雨"
    )
    pending = ledger.issue_request_help(
        actor=reporter_a, requesting_unit=unit_a, title="请求协调用地", description="协调国土"
    )
    factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=today - dt.timedelta(days=20), name=MILESTONE
    )
    scan_alerts(today=today)
    inspection = inspection_services.inspection_create(
        actor=supervisor,
        title=INSPECTION,
        kind="special",
        held_on=today - dt.timedelta(days=3),
        unit=county,
        inspectors="谭建军",
        findings="征地滞后",
        projects=[project_a],
        units_visited=[unit_a],
    )
    photo = inspection_services.inspection_photo_add(
        inspection=inspection, upload=upload(jpeg_bytes()), actor=supervisor, project=project_a
    )
    meeting = inspection_services.meeting_create(
        actor=supervisor,
        title=MEETING,
        kind="dispatch",
        held_on=today - dt.timedelta(days=2),
        unit=county,
        attendees=[unit_a],
        projects=[project_a],
        minutes="听取汇报",
    )
    notice = inspection_services.notice_issue(
        project=project_a,
        actor=supervisor,
        kind="deadline",
        requirement=NOTICE,
        deadline=today + dt.timedelta(days=30),
        consequence="cancel",
    )
    notification = Notification.objects.create(
        recipient=reporter_a,
        event="issue.raised",
        title=NOTE,
        url=f"/supervision/issues/{issue.pk}/",
    )
    scheme = RankingScheme.objects.create(
        name="县直部门月度排名",
        parent_unit=county,
        child_kinds=["department"],
        cadence="month",
        starts_on=dt.date(2026, 1, 1),
    )
    SchemeMetric.objects.create(scheme=scheme, metric="red_cards", weight=1)
    published = rankings.ranking_compute(scheme=scheme, period=periods.parse("2026-10"))
    rankings.ranking_publish(snapshot=published, actor=supervisor)
    draft = rankings.ranking_compute(scheme=scheme, period=periods.parse("2026-11"))
    closed_draft = rankings.ranking_compute(scheme=scheme, period=periods.parse("2026-09"))
    from supervision.models import Alert

    return {
        "county": county.pk,
        "unit_a": unit_a.pk,
        "project_a": project_a.pk,
        "issue": issue.pk,
        "attachment": response.attachments.get().pk,
        "rectified": rectified.pk,
        "extended": extended.pk,
        "pending": pending.pk,
        "alert": Alert.objects.get(rule__key="milestone_overdue").pk,
        "inspection": inspection.pk,
        "photo": photo.pk,
        "meeting": meeting.pk,
        "notice": notice.pk,
        "notification": notification.pk,
        "scheme": scheme.pk,
        "published": published.pk,
        "draft": draft.pk,
        "closed_draft": closed_draft.pk,
        "users": {
            "other": reporter_b,
            "own": reporter_a,
            "supervisor": supervisor,
            "leader": leader,
        },
    }


# ---------------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------------


def _fill(value, ids):
    if callable(value):  # a fresh upload for each request
        return value()
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {_fill(k, ids): _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


def _number(value):
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _text(response) -> str:
    if response.get("Content-Type", "").startswith(XLSX):
        book = load_workbook(BytesIO(response.content), read_only=True)
        return " ".join(
            str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
        )
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode(errors="replace")
    return response.content.decode(errors="replace")


def _expected(row: Row, persona: str):
    if persona == "anonymous":
        return 401 if row.api else LOGIN
    return row.expect.get(persona, "?")


def _outcome(row: Row, response) -> Any:
    status = response.status_code
    if status == 302 and "/accounts/login/" in response["Location"]:
        return LOGIN
    if status == 200 and row.marker:
        return SEEN if row.marker in _text(response) else HIDDEN
    return status


def _call(client, row: Row, ids, headers) -> Any:
    url = _fill(row.url, ids)
    if row.api:
        data = _fill(row.data, ids)
        for key in ("unit", "project", "requesting_unit"):
            if key in data:
                data[key] = _number(data[key])
        for key in ("scores", "issues", "decisions"):
            for item in data.get(key, []):
                for name in ("unit", "project"):
                    if name in item:
                        item[name] = _number(item[name])
        headers = {**headers, **row.headers}
        if row.method == "get":
            return client.get(url, headers=headers)
        return getattr(client, row.method)(
            url, data=json.dumps(data), content_type="application/json", headers=headers
        )
    return getattr(client, row.method)(url, _fill(row.data, ids))


def check(client, world, persona: str, rows: list[Row]) -> list[str]:
    user = world["users"].get(persona)
    headers = {}
    if user is not None:
        client.force_login(user)
        headers = bearer(make_token(user, write=True))
    wrong = []
    for row in rows:
        expected = _expected(row, persona)
        with transaction.atomic():
            try:
                response = _call(client, row, world, headers)
                got = _outcome(row, response)
                if row.api and persona == "anonymous" and got == 401:
                    assert response["Content-Type"].startswith("application/json")
                    assert response.json()["code"] == "not_authenticated"
            except Exception as exc:
                got = f"500 ({type(exc).__name__}: {exc})"
            transaction.set_rollback(True)
        if got != expected:
            wrong.append(f"{row.method.upper()} {row.name}: expected {expected}, got {got}")
    return wrong


def test_every_persona_has_an_expectation_on_every_row():
    for row in PAGES + API:
        missing = {"other", "own", "supervisor", "leader"} - set(row.expect)
        assert not missing, (row.name, missing)
        assert set(row.expect) <= set(PERSONAS), row.name


@pytest.mark.parametrize("persona", PERSONAS)
def test_pages(client, world, persona):
    wrong = check(client, world, persona, PAGES)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("persona", PERSONAS)
def test_api(client, world, persona):
    wrong = check(client, world, persona, API)
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------------------------------------
# References in writes (docs/security.md, "References in writes"): a write may name only what
# its author may change or legitimately name, not merely see. 水利局 cooperates on the project of
# 交通运输局, so its own supervisor (``unit_supervisor``) sees that project but does not supervise
# it; the county's supervisor does. Nothing is named from the neighbouring county.
# ---------------------------------------------------------------------------------------------

REFERENCE_PERSONAS = ["own", "unit_supervisor", "supervisor"]


def ref(name, url, data, method="post", api=True, **expect):
    return Row(name, method, url, expect, data=data, api=api)


def issue_body(**fields):
    return {
        "title": "新问题",
        "source": "upper",
        "category": "other",
        "unit": "{unit_b}",
        "deadline": "2026-12-31",
        **fields,
    }


def row_body(**fields):
    return {"title": "协调用地", "category": "other", "deadline": "2026-12-31", **fields}


REFERENCES = [
    ref(
        "issue on a project the author only sees",
        "/api/v1/issues/",
        issue_body(project="{project_a}"),
        own=400,  # 水利局 is no unit of theirs
        unit_supervisor=400,
        supervisor=201,
    ),
    ref(
        "issue led by another county's leader",
        "/api/v1/issues/",
        issue_body(leader="{foreign_leader}"),
        own=400,
        unit_supervisor=400,
        supervisor=400,
    ),
    ref(
        "inspection visiting a project the author only sees",
        "/api/v1/inspections/",
        {**INSPECTION_FORM, "unit": "{unit_b}", "projects": ["{project_a}"]},
        own=400,
        unit_supervisor=400,
        supervisor=201,
    ),
    ref(
        "inspection findings on a project the author only sees",
        "/api/v1/inspections/{inspection_b}/issues/",
        {"issues": [row_body(project="{project_a}")]},
        own=404,
        unit_supervisor=400,
        supervisor=201,
    ),
    ref(
        "meeting with a project the author only sees on its agenda",
        "/api/v1/meetings/",
        {**MEETING_FORM, "unit": "{unit_b}", "projects": ["{project_a}"]},
        own=400,
        unit_supervisor=400,
        supervisor=201,
    ),
    ref(
        "meeting hosted by another county's leader",
        "/api/v1/meetings/",
        {**MEETING_FORM, "unit": "{unit_b}", "host": "{foreign_leader}"},
        own=400,
        unit_supervisor=400,
        supervisor=400,
    ),
    ref(
        "meeting change: another county's unit absent",
        "/api/v1/meetings/{meeting_b}/",
        {"absentees": ["{foreign_unit}"]},
        method="patch",
        own=404,
        unit_supervisor=400,
        supervisor=400,
    ),
    ref(
        "meeting decision on a project the author only sees",
        "/api/v1/meetings/{meeting_b}/decisions/",
        {"decisions": [row_body(project="{project_a}")]},
        own=404,
        unit_supervisor=400,
        supervisor=201,
    ),
    ref(
        "notice on a project the author only sees",
        "/api/v1/project-notices/",
        {"project": "{project_a}", "kind": "red_card", "requirement": "整改"},
        own=403,
        unit_supervisor=403,
        supervisor=201,
    ),
    ref(
        "help request pushing another county's unit",
        "/api/v1/issues/request-help/",
        {
            "requesting_unit": "{unit_a}",
            "title": "请求协调",
            "description": "电力迁改",
            "target_unit": "{foreign_unit}",
        },
        own=400,
        unit_supervisor=400,
        supervisor=400,
    ),
    ref(
        "urge up pushing another county's unit",
        "/api/v1/issues/{issue}/urge-up/",
        {"text": "请县里协调", "target_unit": "{foreign_unit}"},
        own=400,
        unit_supervisor=400,
        supervisor=400,
    ),
    ref(
        "accept with another county's leader",
        "/api/v1/issues/{pending}/accept/",
        {"unit": "{unit_a}", "deadline": "2026-12-31", "leader": "{foreign_leader}"},
        own=400,
        unit_supervisor=404,
        supervisor=400,
    ),
    # The pages: a refused form is shown again (200) with the error; nothing is written.
    ref(
        "page: issue on a project the author only sees",
        "/supervision/issues/new/",
        issue_body(project="{project_a}"),
        api=False,
        own=403,
        unit_supervisor=200,
        supervisor=302,
    ),
    ref(
        "page: inspection visiting a project the author only sees",
        "/supervision/inspections/new/",
        {**INSPECTION_FORM, "unit": "{unit_b}", "projects": "{project_a}"},
        api=False,
        own=403,
        unit_supervisor=200,
        supervisor=302,
    ),
    ref(
        "page: meeting hosted by another county's leader",
        "/supervision/meetings/new/",
        {**MEETING_FORM, "unit": "{unit_b}", "host": "{foreign_leader}"},
        api=False,
        own=403,
        unit_supervisor=200,
        supervisor=200,
    ),
    ref(
        "page: notice on a project the author only sees",
        "/supervision/projects/{project_a}/notices/",
        {"kind": "red_card", "requirement": "整改"},
        api=False,
        own=403,
        unit_supervisor=403,
        supervisor=302,
    ),
    ref(
        "page: urge up pushing another county's unit",
        "/supervision/issues/{issue}/urge_up/",
        {"urge_up-text": "请县里协调", "urge_up-target_unit": "{foreign_unit}"},
        api=False,
        own=400,
        unit_supervisor=400,
        supervisor=400,
    ),
]


@pytest.fixture
def reference_world(world, today, unit_a, unit_b, reporter_a, unit_supervisor, foreign_leader):
    """The matrix's data set, with 水利局 cooperating on 交通运输局's project, an inspection and a
    meeting of 水利局's own supervisor, and a unit and a leader of the neighbouring county."""
    from projects import services as project_services
    from projects.models import Project

    project_a = Project.objects.get(pk=world["project_a"])
    project_services.project_update(project=project_a, actor=reporter_a, cooperating_units=[unit_b])
    inspection_b = inspection_services.inspection_create(
        actor=unit_supervisor,
        title="水利局自查",
        kind="special",
        held_on=today - dt.timedelta(days=1),
        unit=unit_b,
        inspectors="甲",
    )
    meeting_b = inspection_services.meeting_create(
        actor=unit_supervisor,
        title="水利局调度会",
        kind="dispatch",
        held_on=today - dt.timedelta(days=1),
        unit=unit_b,
    )
    return {
        **world,
        "unit_b": unit_b.pk,
        "inspection_b": inspection_b.pk,
        "meeting_b": meeting_b.pk,
        "foreign_leader": foreign_leader.pk,
        "foreign_unit": foreign_leader.unit_id,
        "users": {**world["users"], "unit_supervisor": unit_supervisor},
    }


def _reference_call(client, row: Row, ids, headers):
    url = _fill(row.url, ids)
    data = _fill(row.data, ids)
    if not row.api:
        return client.post(url, data)

    def numbers(value):
        if isinstance(value, dict):
            return {k: numbers(v) for k, v in value.items()}
        if isinstance(value, list):
            return [numbers(v) for v in value]
        return _number(value) if not isinstance(value, str) or value.isdigit() else value

    body = numbers(data)
    extra = {"If-Match": "*"} if row.method == "patch" else {}
    return getattr(client, row.method)(
        url, data=json.dumps(body), content_type="application/json", headers=headers | extra
    )


def test_every_reference_row_has_an_expectation_per_persona():
    for row in REFERENCES:
        assert set(row.expect) == set(REFERENCE_PERSONAS), row.name


def _names_a_reference(row: Row, body: dict) -> bool:
    """A 400's details name one of the fields of the row that refer to an object."""

    def references(data) -> set[str]:
        names = set()
        for key, value in data.items():
            values = value if isinstance(value, list) else [value]
            for item in values:
                if isinstance(item, dict):
                    names |= references(item)
                elif isinstance(item, str) and item.startswith("{"):
                    names.add(key)
        return names

    text = json.dumps(body["details"])
    return any(f'"{name}"' in text or f'.{name}"' in text for name in references(row.data))


@pytest.mark.parametrize("persona", REFERENCE_PERSONAS)
def test_references_in_writes(client, reference_world, persona):
    user = reference_world["users"][persona]
    client.force_login(user)
    headers = bearer(make_token(user, write=True))
    wrong = []
    for row in REFERENCES:
        expected = row.expect[persona]
        with transaction.atomic():
            before = domain_state()
            try:
                response = _reference_call(client, row, reference_world, headers)
                got = response.status_code
                written = changed_tables(before, domain_state())
                if row.api and got == 400 and not _names_a_reference(row, response.json()):
                    got = f"400 for another reason: {response.json()['details']}"
            except Exception as exc:
                got, written = f"500 ({type(exc).__name__}: {exc})", []
            transaction.set_rollback(True)
        if got != expected:
            wrong.append(f"{row.name}: expected {expected}, got {got}")
        # Refused (a page's 200 is the form shown again): nothing may have been written.
        elif written and (got not in (200, 201, 302) or (got == 200 and not row.api)):
            wrong.append(f"{row.name}: refused with {got} but wrote {written}")
    assert not wrong, "\n".join(wrong)
