"""Meetings (会议交办): who sees and writes them, attendance, decisions assigned as issues with
owner and deadline (all or nothing), the pages (fixed query counts), the API, and the demo data."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from projects.models import Leader, Role
from projects.services import VersionConflict
from supervision import notifications
from supervision.inspections import services
from supervision.inspections.demo import seed_inspections_and_meetings
from supervision.models import (
    Inspection,
    InspectionScore,
    Issue,
    IssueEvent,
    Meeting,
    NoticeKind,
    NoticeStatus,
    Notification,
    ProjectNotice,
)
from tests import factories
from tests.support.api import assert_error, bearer, make_token
from tests.support.forms import formset_data, issue_row
from tests.support.pages import count_queries, login

# ---------------------------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------------------------


def test_create_records_attendance_and_agenda(meeting, supervisor, unit_a, unit_b, project_a):
    meeting.refresh_from_db()
    assert (meeting.created_by, meeting.version, meeting.host.name) == (supervisor, 1, "张海波")
    assert list(meeting.attendees.all()) == [unit_a]
    assert list(meeting.absentees.all()) == [unit_b]
    assert list(meeting.projects.all()) == [project_a]
    assert meeting.history.first().history_user == supervisor


@pytest.mark.parametrize("persona", ["reporter_a", "head_a", "leader", "unit_supervisor"])
def test_only_a_supervisor_over_the_convening_unit_records(request, persona, county, today):
    with pytest.raises(PermissionDenied):
        services.meeting_create(
            actor=request.getfixturevalue(persona),
            title="调度会",
            kind="dispatch",
            held_on=today,
            unit=county,
        )
    assert not Meeting.objects.exists()


def test_a_unit_cannot_attend_and_be_absent(supervisor, county, unit_a, today):
    with pytest.raises(ValidationError) as caught:
        services.meeting_create(
            actor=supervisor,
            title="调度会",
            kind="dispatch",
            held_on=today,
            unit=county,
            attendees=[unit_a],
            absentees=[unit_a],
        )
    assert "absentees" in caught.value.message_dict
    assert not Meeting.objects.exists()


def test_attendance_is_checked_against_the_side_kept(meeting, supervisor, unit_a, unit_b):
    with pytest.raises(ValidationError):
        services.meeting_update(meeting=meeting, actor=supervisor, attendees=[unit_a, unit_b])
    updated = services.meeting_update(
        meeting=meeting, actor=supervisor, attendees=[unit_a, unit_b], absentees=[]
    )
    assert set(updated.attendees.all()) == {unit_a, unit_b}
    assert not updated.absentees.exists()
    assert updated.version == 2


def test_create_refuses_what_is_out_of_scope(
    supervisor, county, today, stranger, stranger_project, county_leader
):
    county_leader.is_active = False
    county_leader.save()
    with pytest.raises(ValidationError) as caught:
        services.meeting_create(
            actor=supervisor,
            title="调度会",
            kind="dispatch",
            held_on=today + dt.timedelta(days=1),
            unit=county,
            host=county_leader,
            attendees=[stranger.memberships.get().unit],
            projects=[stranger_project],
        )
    assert set(caught.value.message_dict) == {"held_on", "host", "attendees", "projects"}


def test_update_detects_conflicts(meeting, supervisor):
    services.meeting_update(meeting=meeting, actor=supervisor, expected_version=1, minutes="补充")
    with pytest.raises(VersionConflict):
        services.meeting_update(meeting=meeting, actor=supervisor, expected_version=1, minutes="x")
    assert Meeting.objects.get(pk=meeting.pk).minutes == "补充"


def test_decisions_become_issues_with_owner_and_deadline(
    meeting, supervisor, unit_a, unit_b, project_a, county_leader, today
):
    issues = services.meeting_record_decisions(
        meeting=meeting,
        actor=supervisor,
        decisions=[
            issue_row(
                unit_a, today + dt.timedelta(days=14), title="协调施工用电", project=project_a
            ),
            issue_row(
                unit_b,
                today + dt.timedelta(days=30),
                title="完成用地报批",
                category="land_use",
                leader=county_leader,
            ),
        ],
    )
    assert [(i.title, i.source, i.meeting_id, i.unit_id, i.deadline) for i in issues] == [
        ("协调施工用电", "meeting", meeting.pk, unit_a.pk, today + dt.timedelta(days=14)),
        ("完成用地报批", "meeting", meeting.pk, unit_b.pk, today + dt.timedelta(days=30)),
    ]
    assert issues[1].leader == county_leader
    assert IssueEvent.objects.filter(issue__in=issues, kind="raised").count() == 2
    assert Meeting.objects.get(pk=meeting.pk).version == 2


def test_one_bad_decision_and_none_is_assigned(meeting, supervisor, unit_a, today):
    good = issue_row(unit_a, today + dt.timedelta(days=14))
    with pytest.raises(services.RowErrors) as caught:
        services.meeting_record_decisions(
            meeting=meeting,
            actor=supervisor,
            decisions=[good, good, {**good, "deadline": today - dt.timedelta(days=1)}],
        )
    assert list(caught.value.rows) == [2]
    assert not Issue.objects.exists()
    assert Meeting.objects.get(pk=meeting.pk).version == 1


@pytest.mark.parametrize("persona", ["reporter_a", "leader", "unit_supervisor"])
def test_only_supervisors_assign_decisions(request, meeting, unit_b, today, persona):
    with pytest.raises(PermissionDenied):
        services.meeting_record_decisions(
            meeting=meeting,
            actor=request.getfixturevalue(persona),
            decisions=[issue_row(unit_b, today + dt.timedelta(days=9))],
        )
    assert not Issue.objects.exists()


def test_the_units_named_by_the_meeting_are_told(
    meeting,
    supervisor,
    reporter_a,
    reporter_b,
    head_a,
    unit_a,
    today,
    django_capture_on_commit_callbacks,
):
    if "meeting.decisions" not in notifications.EVENTS:
        pytest.skip("the notifications module does not know meeting.decisions yet")
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_record_decisions(
            meeting=meeting,
            actor=supervisor,
            decisions=[issue_row(unit_a, today + dt.timedelta(days=14), title="协调施工用电")],
        )
    told = Notification.objects.filter(event="meeting.decisions")
    # The owner unit (attending) and the absent unit both hear of it; the actor does not.
    assert set(told.values_list("recipient__username", flat=True)) == {
        "reporter_a",
        "head_a",
        "reporter_b",
    }
    assert "协调施工用电" in told.first().body
    assert told.first().url == f"/supervision/meetings/{meeting.pk}/"


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------

# persona → (listed, detail, may write). unit_b was absent: absent units see the meeting too.
PAGE_MATRIX = [
    ("reporter_a", True, 200, False),
    ("head_a", True, 200, False),
    ("reporter_b", True, 200, False),
    ("leader", True, 200, False),
    ("supervisor", True, 200, True),
    ("stranger", False, 404, False),
]


@pytest.mark.parametrize(("persona", "listed", "detail", "writes"), PAGE_MATRIX)
def test_pages_by_persona(client, request, meeting, persona, listed, detail, writes):
    login(client, request, persona)
    listing = client.get("/supervision/meetings/")
    assert listing.status_code == 200
    assert (meeting.title in listing.content.decode()) is listed
    page = client.get(f"/supervision/meetings/{meeting.pk}/")
    assert page.status_code == detail
    if detail == 200:
        html = page.content.decode()
        assert "会议听取了各项目进展汇报" in html and "县政府三楼会议室" in html
        assert (f"/supervision/meetings/{meeting.pk}/decisions/" in html) is writes
    edit = client.get(f"/supervision/meetings/{meeting.pk}/edit/")
    assert edit.status_code == (200 if writes else 403 if detail == 200 else 404)
    new = client.get("/supervision/meetings/new/")
    assert new.status_code == (200 if persona in {"supervisor", "stranger"} else 403)


def test_a_meeting_of_another_unit_is_hidden(client, supervisor, reporter_a, county, unit_b, today):
    hidden = services.meeting_create(
        actor=supervisor,
        title="水利专题会",
        kind="special",
        held_on=today,
        unit=county,
        attendees=[unit_b],
    )
    client.force_login(reporter_a)
    assert client.get(f"/supervision/meetings/{hidden.pk}/").status_code == 404


@pytest.mark.parametrize("persona", ["reporter_a", "leader", "stranger"])
def test_no_write_without_the_right(client, request, meeting, unit_a, persona):
    login(client, request, persona)
    status = 404 if persona == "stranger" else 403
    data = formset_data(
        "decisions",
        [{"title": "任务", "category": "other", "unit": unit_a.pk, "deadline": "2026-12-30"}],
    )
    assert client.post(f"/supervision/meetings/{meeting.pk}/decisions/", data).status_code == status
    assert (
        client.post(f"/supervision/meetings/{meeting.pk}/edit/", {"title": "改"}).status_code
        == status
    )
    assert client.post("/supervision/meetings/new/", {"title": "新会"}).status_code == (
        200 if persona == "stranger" else 403
    )
    assert not Issue.objects.exists()
    assert Meeting.objects.count() == 1 and Meeting.objects.get().version == 1


def test_anonymous_is_sent_to_log_in(client, meeting):
    for url in (
        "/supervision/meetings/",
        "/supervision/meetings/new/",
        f"/supervision/meetings/{meeting.pk}/",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")
    assert client.post(f"/supervision/meetings/{meeting.pk}/decisions/", {}).status_code == 302


def test_create_through_the_page(
    client, supervisor, county, unit_a, unit_b, project_a, county_leader, today
):
    client.force_login(supervisor)
    data = {
        "title": "产业园区项目推进会",
        "kind": "promotion",
        "held_on": today.isoformat(),
        "unit": county.pk,
        "host": county_leader.pk,
        "location": "经开区管委会",
        "attendees": [unit_a.pk],
        "absentees": [unit_a.pk, unit_b.pk],
        "projects": [project_a.pk],
        "minutes": "研究园区配套。",
    }
    bad = client.post("/supervision/meetings/new/", data)
    assert bad.status_code == 200
    assert bad.context["form"].errors["absentees"]
    assert "研究园区配套。" in bad.content.decode()
    assert not Meeting.objects.exists()
    good = client.post("/supervision/meetings/new/", {**data, "absentees": [unit_b.pk]})
    meeting = Meeting.objects.get()
    assert good["Location"] == f"/supervision/meetings/{meeting.pk}/"
    assert list(meeting.absentees.all()) == [unit_b]


def test_decisions_through_the_page(client, meeting, supervisor, unit_a, unit_b, project_a):
    client.force_login(supervisor)
    rows = [
        {
            "title": "协调施工用电",
            "category": "other",
            "project": project_a.pk,
            "deadline": "2026-12-05",
        },
        {
            "title": "完成用地报批",
            "category": "land_use",
            "unit": unit_b.pk,
            "deadline": "2026-11-01",
        },
    ]
    bad = client.post(
        f"/supervision/meetings/{meeting.pk}/decisions/", formset_data("decisions", rows)
    )
    assert bad.status_code == 200
    assert "协调施工用电" in bad.content.decode() and "完成用地报批" in bad.content.decode()
    assert not Issue.objects.exists()
    rows[1]["deadline"] = "2026-12-20"
    good = client.post(
        f"/supervision/meetings/{meeting.pk}/decisions/", formset_data("decisions", rows)
    )
    assert good.status_code == 302
    assert list(Issue.objects.order_by("id").values_list("unit", "deadline", "meeting")) == [
        (unit_a.pk, dt.date(2026, 12, 5), meeting.pk),
        (unit_b.pk, dt.date(2026, 12, 20), meeting.pk),
    ]
    page = client.get(f"/supervision/meetings/{meeting.pk}/")
    html = page.content.decode()
    assert "协调施工用电" in html and "/supervision/issues/" in html
    assert [d.status for d in page.context["decisions"]] == ["open", "open"]


def test_list_filters(client, meeting, supervisor, county, unit_b, today):
    other = services.meeting_create(
        actor=supervisor,
        title="水利专题议定会",
        kind="special",
        held_on=today - dt.timedelta(days=60),
        unit=county,
        attendees=[unit_b],
    )
    client.force_login(supervisor)

    def titles(query: str) -> set[str]:
        return {m.title for m in client.get(f"/supervision/meetings/?{query}").context["page_obj"]}

    assert titles("kind=special") == {other.title}
    assert titles(f"unit={unit_b.pk}") == {meeting.title, other.title}  # absent from the first
    assert titles(f"held_on_before={(today - dt.timedelta(days=30)).isoformat()}") == {other.title}


def test_list_runs_a_fixed_number_of_queries(
    client, supervisor, county, unit_a, unit_b, project_a, today
):
    def add(n: int) -> None:
        for index in range(n):
            made = services.meeting_create(
                actor=supervisor,
                title=f"调度会{index}",
                kind="dispatch",
                held_on=today,
                unit=county,
                attendees=[unit_a],
                absentees=[unit_b],
                projects=[project_a],
            )
            services.meeting_record_decisions(
                meeting=made,
                actor=supervisor,
                decisions=[issue_row(unit_a, today + dt.timedelta(days=5))],
            )

    client.force_login(supervisor)
    add(2)
    few = count_queries(client, "/supervision/meetings/", cache_state="warm")
    add(18)
    assert count_queries(client, "/supervision/meetings/", cache_state="warm") == few
    assert few <= 8


def test_detail_runs_a_bounded_number_of_queries(client, meeting, supervisor, unit_a, today):
    client.force_login(supervisor)
    few = count_queries(client, f"/supervision/meetings/{meeting.pk}/", cache_state="warm")
    for n in range(4):
        project = factories.create_project(actor=supervisor, lead_unit=unit_a, name=f"项目{n}")
        meeting.projects.add(project)
        services.meeting_record_decisions(
            meeting=meeting,
            actor=supervisor,
            decisions=[issue_row(unit_a, today + dt.timedelta(days=5), project=project)],
        )
    assert count_queries(client, f"/supervision/meetings/{meeting.pk}/", cache_state="warm") == few


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "seen"),
    [
        ("reporter_a", True),
        ("reporter_b", True),
        ("leader", True),
        ("supervisor", True),
        ("stranger", False),
    ],
)
def test_api_by_persona(client, request, meeting, persona, seen):
    auth = bearer(make_token(request.getfixturevalue(persona)))
    assert client.get("/api/v1/meetings/", headers=auth).json()["count"] == (1 if seen else 0)
    detail = client.get(f"/api/v1/meetings/{meeting.pk}/", headers=auth)
    if seen:
        assert detail.status_code == 200 and detail["ETag"] == '"1"'
    else:
        assert_error(detail, 404, "not_found")


def test_api_needs_authentication(client, meeting):
    assert_error(client.get("/api/v1/meetings/"), 401, "not_authenticated")


def test_api_shape(
    client, meeting, supervisor, reporter_a, unit_a, unit_b, project_a, county_leader, today
):
    [issue] = services.meeting_record_decisions(
        meeting=meeting,
        actor=supervisor,
        decisions=[issue_row(unit_a, today + dt.timedelta(days=5))],
    )
    body = client.get(
        f"/api/v1/meetings/{meeting.pk}/", headers=bearer(make_token(reporter_a))
    ).json()
    assert body == {
        "id": meeting.pk,
        "title": "全县重点项目调度会（第11期）",
        "kind": "dispatch",
        "held_on": (today - dt.timedelta(days=2)).isoformat(),
        "unit": meeting.unit_id,
        "host": county_leader.pk,
        "location": "县政府三楼会议室",
        "attendees": [unit_a.pk],
        "absentees": [unit_b.pk],
        "attendee_names": "",
        "projects": [project_a.pk],
        "minutes": "会议听取了各项目进展汇报。",
        "decisions": [issue.pk],
        "version": 2,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }


def test_api_writes(client, meeting, supervisor, reporter_a, county, unit_a, unit_b, today):
    write = bearer(make_token(supervisor, write=True))
    created = client.post(
        "/api/v1/meetings/",
        {
            "title": "推进会",
            "kind": "promotion",
            "held_on": today.isoformat(),
            "unit": county.pk,
            "attendees": [unit_a.pk],
        },
        content_type="application/json",
        headers=write,
    )
    assert created.status_code == 201, created.content
    assert created["Location"].endswith(f"/api/v1/meetings/{created.json()['id']}/")
    url = f"/api/v1/meetings/{meeting.pk}/"
    assert_error(
        client.patch(url, {"minutes": "改"}, content_type="application/json", headers=write),
        428,
        "precondition_required",
    )
    patched = client.patch(
        url,
        {"minutes": "补充纪要"},
        content_type="application/json",
        headers={**write, "If-Match": '"1"'},
    )
    assert patched.status_code == 200 and patched["ETag"] == '"2"'
    assert_error(
        client.patch(
            url,
            {"minutes": "x"},
            content_type="application/json",
            headers={**write, "If-Match": '"1"'},
        ),
        412,
        "version_conflict",
    )
    decisions = {
        "decisions": [
            {"title": "协调用电", "category": "other", "unit": unit_a.pk, "deadline": "2026-12-31"},
            {
                "title": "用地报批",
                "category": "land_use",
                "unit": unit_b.pk,
                "deadline": "2026-10-01",
            },
        ]
    }
    bad = client.post(f"{url}decisions/", decisions, content_type="application/json", headers=write)
    assert "1.deadline" in assert_error(bad, 400, "invalid")["details"]
    assert not Issue.objects.exists()
    decisions["decisions"][1]["deadline"] = "2026-12-20"
    good = client.post(
        f"{url}decisions/", decisions, content_type="application/json", headers=write
    )
    assert good.status_code == 201
    assert sorted(good.json()["issues"]) == sorted(Issue.objects.values_list("pk", flat=True))
    reader = bearer(make_token(reporter_a, write=True))
    # 水利局 is no unit of the reader's: named, it is answered as an id that does not exist.
    assert (
        "decisions"
        in assert_error(
            client.post(
                f"{url}decisions/", decisions, content_type="application/json", headers=reader
            ),
            400,
            "invalid",
        )["details"]
    )
    own_unit_only = {"decisions": decisions["decisions"][:1]}
    assert_error(
        client.post(
            f"{url}decisions/", own_unit_only, content_type="application/json", headers=reader
        ),
        403,
        "permission_denied",
    )
    assert Issue.objects.count() == 2


def test_api_list_runs_a_fixed_number_of_queries(
    client, supervisor, county, unit_a, unit_b, project_a, today
):
    auth = bearer(make_token(supervisor))

    def add(n: int) -> None:
        for index in range(n):
            made = services.meeting_create(
                actor=supervisor,
                title=f"会{index}",
                kind="dispatch",
                held_on=today,
                unit=county,
                attendees=[unit_a],
                absentees=[unit_b],
                projects=[project_a],
            )
            services.meeting_record_decisions(
                meeting=made,
                actor=supervisor,
                decisions=[issue_row(unit_a, today + dt.timedelta(days=5))],
            )

    add(2)
    few = count_queries(client, "/api/v1/meetings/", headers=auth, cache_state="warm")
    add(18)
    assert count_queries(client, "/api/v1/meetings/", headers=auth, cache_state="warm") == few


# ---------------------------------------------------------------------------------------------
# Demo data
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def small_county(today, county, unit_a, unit_b, reporter_a, reporter_b, supervisor):
    """Two departments, a park, seven leaders, twelve projects building and three waiting."""
    park = factories.UnitFactory(name="经开区", kind="zone", parent=county)
    factories.member(park, Role.REPORTER, username="park")
    for n, title in enumerate(
        ["县委书记", "县长", "常务副县长", "副县长", "副县长", "副县长", "副县长"]
    ):
        Leader.objects.create(name=f"领导{n}", title=title, unit=county, sort_order=n)
    units = [unit_a, unit_b, park]
    for n in range(15):
        factories.create_project(
            actor=supervisor,
            lead_unit=units[n % 3],
            name=f"示范项目{n:02d}",
            stage="under_construction" if n < 12 else "preparing",
        )
    return county


def test_demo_inspections_meetings_and_notices(small_county, supervisor, today):
    made = seed_inspections_and_meetings(today=today, county=small_county, supervisor=supervisor)
    assert len(made["inspections"]) == 6 and len(made["meetings"]) == 4
    assert len(made["notices"]) == 4 and len(made["issues"]) == 18

    inspections = Inspection.objects.order_by("held_on")
    assert {i.kind for i in inspections} == {"regular", "special", "unannounced", "site_visit"}
    site_visit = inspections.get(kind="site_visit")
    assert 8 <= InspectionScore.objects.filter(inspection=site_visit).count() <= 10
    assert all(0 <= s.score <= 100 for s in InspectionScore.objects.all())
    assert inspections.first().held_on == today - dt.timedelta(days=150)
    assert all(i.created_at.date() <= i.held_on + dt.timedelta(days=1) for i in inspections)

    meetings = Meeting.objects.all()
    assert {m.kind for m in meetings} == {"dispatch", "promotion", "on_site", "special"}
    assert meetings.filter(absentees__isnull=False).distinct().count() == 3
    for m in meetings:
        assert not set(m.attendees.all()) & set(m.absentees.all())

    issues = Issue.objects.filter(pk__in=[i.pk for i in made["issues"]])
    assert issues.filter(source="inspection").count() == 10
    assert issues.filter(source="meeting").count() == 8
    # Months of work: raised in the past, some deadlines past, some closed, some still open.
    assert all(i.raised_on < today for i in issues)
    assert issues.filter(raised_on__lte=today - dt.timedelta(days=90)).exists()
    assert issues.filter(deadline__lt=today).count() >= 8
    assert issues.filter(status="closed").count() >= 5
    assert issues.filter(status__in=["open", "in_progress"], deadline__lt=today).exists()
    assert issues.filter(status__in=["open", "in_progress"], deadline__gte=today).exists()
    for issue in issues.filter(status="closed"):
        events = list(issue.events.order_by("created_at"))
        assert events[0].kind == "raised" and events[-1].kind == "closed"
        assert events[0].created_at.date() == issue.raised_on
        assert issue.closed_at == events[-1].created_at

    notices = ProjectNotice.objects.all()
    red = notices.filter(kind=NoticeKind.RED_CARD)
    assert red.count() == 2 and all(n.project.red_card for n in red)
    deadline = notices.filter(kind=NoticeKind.DEADLINE)
    assert deadline.count() == 2
    assert [n.is_overdue(today) for n in deadline.order_by("deadline")] == [True, False]
    assert all(n.status == NoticeStatus.ACTIVE and n.issued_on < today for n in notices)
    assert all("取消" in n.consequence for n in deadline)


# ---------------------------------------------------------------------------------------------
# Admin: the same services
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def admin_client(client, county):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pass12345")
    client.force_login(root)
    client.root = root
    return client


def inlines(*prefixes: str) -> dict[str, str]:
    """The management forms of the (read-only) inlines, as the browser posts them."""
    data = {}
    for prefix in prefixes:
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    return data


def test_admin_records_inspections_and_meetings_through_the_services(
    admin_client, county, unit_a, unit_b, project_a, today
):
    inspection_inlines = inlines("scores", "photos", "issues")
    response = admin_client.post(
        "/admin/supervision/inspection/add/",
        {
            "title": "节后复工督查",
            "kind": "regular",
            "held_on": today.isoformat(),
            "unit": county.pk,
            "inspectors": "甲",
            "projects": [project_a.pk],
            "units_visited": [unit_a.pk],
            "findings": "",
            **inspection_inlines,
        },
    )
    assert response.status_code == 302
    inspection = Inspection.objects.get()
    assert (inspection.created_by, inspection.version) == (admin_client.root, 1)
    assert list(inspection.projects.all()) == [project_a]
    page = admin_client.get(f"/admin/supervision/inspection/{inspection.pk}/change/")
    assert page.status_code == 200
    changed = admin_client.post(
        f"/admin/supervision/inspection/{inspection.pk}/change/",
        {
            "title": "节后复工督查",
            "kind": "regular",
            "held_on": today.isoformat(),
            "unit": county.pk,
            "inspectors": "甲、乙",
            "projects": [project_a.pk],
            "units_visited": [unit_a.pk, unit_b.pk],
            "findings": "",
            **inspection_inlines,
        },
    )
    assert changed.status_code == 302
    inspection.refresh_from_db()
    assert (inspection.inspectors, inspection.version) == ("甲、乙", 2)
    assert inspection.units_visited.count() == 2
    bad = admin_client.post(
        "/admin/supervision/meeting/add/",
        {
            "title": "调度会",
            "kind": "dispatch",
            "held_on": today.isoformat(),
            "unit": county.pk,
            "attendees": [unit_a.pk],
            "absentees": [unit_a.pk],
            **inlines("issues"),
        },
    )
    assert bad.status_code == 200 and not Meeting.objects.exists()
    good = admin_client.post(
        "/admin/supervision/meeting/add/",
        {
            "title": "调度会",
            "kind": "dispatch",
            "held_on": today.isoformat(),
            "unit": county.pk,
            "attendees": [unit_a.pk],
            "absentees": [unit_b.pk],
            **inlines("issues"),
        },
    )
    assert good.status_code == 302
    assert Meeting.objects.get().created_by == admin_client.root


def test_admin_issues_and_settles_notices_through_the_services(admin_client, project_a, today):
    from projects.models import Project

    added = admin_client.post(
        "/admin/supervision/projectnotice/add/",
        {"project": project_a.pk, "kind": "red_card", "requirement": "亮红牌督办"},
    )
    assert added.status_code == 302
    notice = ProjectNotice.objects.get()
    assert Project.objects.get(pk=project_a.pk).red_card
    refused = admin_client.post(
        "/admin/supervision/projectnotice/add/",
        {"project": project_a.pk, "kind": "deadline", "requirement": "限期开工"},
    )
    assert refused.status_code == 200 and ProjectNotice.objects.count() == 1
    settled = admin_client.post(
        f"/admin/supervision/projectnotice/{notice.pk}/change/",
        {"status": "fulfilled", "outcome": "已整改"},
    )
    assert settled.status_code == 302
    notice.refresh_from_db()
    assert (notice.status, notice.settled_by) == ("fulfilled", admin_client.root)
    assert not Project.objects.get(pk=project_a.pk).red_card
    # Settled: read-only from now on.
    again = admin_client.post(
        f"/admin/supervision/projectnotice/{notice.pk}/change/",
        {"status": "withdrawn", "outcome": "x"},
    )
    assert again.status_code == 403
    assert ProjectNotice.objects.get().status == "fulfilled"
