"""Project notices: red cards (亮红牌) set and clear Project.red_card, deadline notices (限期开工)
and their settlement, cancelling the project only when chosen; the page, the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from projects.models import Project, Stage, StageChange
from supervision import notifications
from supervision.inspections import services
from supervision.models import NoticeKind, NoticeStatus, Notification, ProjectNotice
from tests.support.api import assert_error, bearer, make_token
from tests.support.pages import count_queries, login


@pytest.fixture
def red_card(project_a, supervisor):
    return services.notice_issue(
        project=project_a,
        actor=supervisor,
        kind=NoticeKind.RED_CARD,
        requirement="连续三期未完成序时进度，亮红牌督办",
    )


@pytest.fixture
def deadline_notice(project_a, supervisor, today):
    return services.notice_issue(
        project=project_a,
        actor=supervisor,
        kind=NoticeKind.DEADLINE,
        requirement="限期开工",
        deadline=today + dt.timedelta(days=30),
        consequence="逾期取消项目",
    )


def project(pk: int) -> Project:
    return Project.objects.get(pk=pk)


# ---------------------------------------------------------------------------------------------
# Red cards
# ---------------------------------------------------------------------------------------------


def test_a_red_card_sets_the_projects_red_card(red_card, project_a, supervisor, today):
    assert (red_card.status, red_card.issued_on, red_card.issued_by) == (
        "active",
        today,
        supervisor,
    )
    fresh = project(project_a.pk)
    assert fresh.red_card and fresh.red_card_reason == "连续三期未完成序时进度，亮红牌督办"
    assert fresh.version == project_a.version + 1


def test_settling_the_last_red_card_withdraws_it(red_card, project_a, supervisor):
    settled = services.notice_settle(
        notice=red_card, actor=supervisor, status=NoticeStatus.FULFILLED, outcome="已达到序时进度"
    )
    assert (settled.status, settled.settled_by, settled.outcome) == (
        "fulfilled",
        supervisor,
        "已达到序时进度",
    )
    assert settled.settled_at is not None
    fresh = project(project_a.pk)
    assert (fresh.red_card, fresh.red_card_reason) == (False, "")


def test_a_second_red_card_keeps_the_project_red(red_card, project_a, supervisor):
    second = services.notice_issue(
        project=project_a, actor=supervisor, kind=NoticeKind.RED_CARD, requirement="停工两个月"
    )
    assert project(project_a.pk).red_card_reason == "停工两个月"
    services.notice_settle(
        notice=second, actor=supervisor, status=NoticeStatus.WITHDRAWN, outcome="误发，撤销"
    )
    # The first card is still in force: the project stays red, with that card's reason.
    fresh = project(project_a.pk)
    assert (fresh.red_card, fresh.red_card_reason) == (True, "连续三期未完成序时进度，亮红牌督办")
    services.notice_settle(
        notice=red_card, actor=supervisor, status=NoticeStatus.ENFORCED, outcome="已约谈"
    )
    assert not project(project_a.pk).red_card


def test_a_deadline_notice_does_not_touch_the_red_card(deadline_notice, project_a):
    assert not project(project_a.pk).red_card


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"kind": NoticeKind.RED_CARD, "requirement": " "}, {"requirement"}),
        ({"kind": NoticeKind.DEADLINE, "requirement": "限期开工"}, {"deadline", "consequence"}),
        (
            {
                "kind": NoticeKind.DEADLINE,
                "requirement": "限期开工",
                "deadline": dt.date(2026, 11, 20),
                "consequence": "逾期取消",
            },
            {"deadline"},
        ),
        ({"kind": "yellow_card", "requirement": "警告"}, {"kind"}),
    ],
)
def test_bad_notices_change_nothing(project_a, supervisor, fields, errors):
    with pytest.raises(ValidationError) as caught:
        services.notice_issue(project=project_a, actor=supervisor, **fields)
    assert set(caught.value.message_dict) == errors
    assert not ProjectNotice.objects.exists()
    assert not project(project_a.pk).red_card


@pytest.mark.parametrize(
    "persona", ["reporter_a", "head_a", "leader", "unit_supervisor", "stranger"]
)
def test_only_a_supervisor_over_the_project_issues(request, project_a, persona):
    with pytest.raises(PermissionDenied):
        services.notice_issue(
            project=project_a,
            actor=request.getfixturevalue(persona),
            kind=NoticeKind.RED_CARD,
            requirement="亮红牌",
        )
    assert not ProjectNotice.objects.exists()
    assert not project(project_a.pk).red_card


@pytest.mark.parametrize("persona", ["reporter_a", "leader", "unit_supervisor"])
def test_only_a_supervisor_settles(request, red_card, project_a, persona):
    with pytest.raises(PermissionDenied):
        services.notice_settle(
            notice=red_card,
            actor=request.getfixturevalue(persona),
            status=NoticeStatus.FULFILLED,
            outcome="已整改",
        )
    assert ProjectNotice.objects.get().status == "active"
    assert project(project_a.pk).red_card


# ---------------------------------------------------------------------------------------------
# Deadline notices
# ---------------------------------------------------------------------------------------------


def test_fulfilled_deadline_notice(deadline_notice, project_a, supervisor):
    services.notice_settle(
        notice=deadline_notice, actor=supervisor, status=NoticeStatus.FULFILLED, outcome="已开工"
    )
    assert ProjectNotice.objects.get().status == "fulfilled"
    assert project(project_a.pk).stage == project_a.stage


def test_consequence_applied_cancels_the_project_only_when_chosen(
    deadline_notice, project_a, supervisor, today
):
    services.notice_settle(
        notice=deadline_notice, actor=supervisor, status=NoticeStatus.ENFORCED, outcome="逾期未开工"
    )
    assert project(project_a.pk).stage == project_a.stage  # not chosen: the stage stays
    second = services.notice_issue(
        project=project_a,
        actor=supervisor,
        kind=NoticeKind.DEADLINE,
        requirement="再次限期开工",
        deadline=today + dt.timedelta(days=10),
        consequence="逾期取消项目",
    )
    services.notice_settle(
        notice=second,
        actor=supervisor,
        status=NoticeStatus.ENFORCED,
        outcome="逾期仍未开工，按通知取消",
        cancel_project=True,
    )
    fresh = project(project_a.pk)
    assert fresh.stage == Stage.CANCELLED
    change = StageChange.objects.filter(project=project_a).latest("id")
    assert (change.to_stage, change.changed_on, change.actor) == ("cancelled", today, supervisor)
    assert "逾期仍未开工" in change.note


@pytest.mark.parametrize(
    ("status", "consequence"),
    [
        (NoticeStatus.FULFILLED, "逾期取消项目"),  # not the consequence applied
        (NoticeStatus.ENFORCED, "逾期约谈项目业主"),  # the consequence is not a cancellation
    ],
)
def test_cancelling_is_refused_where_it_does_not_apply(
    project_a, supervisor, today, status, consequence
):
    notice = services.notice_issue(
        project=project_a,
        actor=supervisor,
        kind=NoticeKind.DEADLINE,
        requirement="限期开工",
        deadline=today + dt.timedelta(days=10),
        consequence=consequence,
    )
    with pytest.raises(ValidationError) as caught:
        services.notice_settle(
            notice=notice, actor=supervisor, status=status, outcome="处理", cancel_project=True
        )
    assert "cancel_project" in caught.value.message_dict
    assert ProjectNotice.objects.get().status == "active"
    assert project(project_a.pk).stage == project_a.stage


def test_a_notice_is_settled_once(deadline_notice, supervisor):
    services.notice_settle(
        notice=deadline_notice, actor=supervisor, status=NoticeStatus.WITHDRAWN, outcome="撤销"
    )
    with pytest.raises(ValidationError):
        services.notice_settle(
            notice=deadline_notice, actor=supervisor, status=NoticeStatus.FULFILLED, outcome="再"
        )
    assert ProjectNotice.objects.get().status == "withdrawn"


@pytest.mark.parametrize(
    ("status", "outcome", "field"),
    [("active", "仍在执行", "status"), ("fulfilled", "  ", "outcome")],
)
def test_settling_needs_a_status_and_a_follow_up(
    deadline_notice, supervisor, status, outcome, field
):
    with pytest.raises(ValidationError) as caught:
        services.notice_settle(
            notice=deadline_notice, actor=supervisor, status=status, outcome=outcome
        )
    assert field in caught.value.message_dict
    assert ProjectNotice.objects.get().status == "active"


def test_overdue(deadline_notice, today):
    assert not deadline_notice.is_overdue(today)
    assert deadline_notice.is_overdue(today + dt.timedelta(days=31))


def test_the_unit_and_the_leader_are_told(
    red_card, project_a, supervisor, reporter_a, django_capture_on_commit_callbacks
):
    if "notice.settled" not in notifications.EVENTS:
        pytest.skip("the notifications module does not know notice.settled yet")
    with django_capture_on_commit_callbacks(execute=True):
        services.notice_settle(
            notice=red_card, actor=supervisor, status=NoticeStatus.FULFILLED, outcome="已整改"
        )
    told = Notification.objects.get(event="notice.settled", recipient=reporter_a)
    assert project_a.name in told.title
    assert told.url == f"/supervision/projects/{project_a.pk}/notices/"


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "status", "forms"),
    [
        ("reporter_a", 200, False),
        ("head_a", 200, False),
        ("reporter_b", 404, False),
        ("leader", 200, False),
        ("supervisor", 200, True),
        ("unit_supervisor", 404, False),
        ("stranger", 404, False),
    ],
)
def test_page_by_persona(client, request, red_card, project_a, persona, status, forms):
    login(client, request, persona)
    url = f"/supervision/projects/{project_a.pk}/notices/"
    response = client.get(url)
    assert response.status_code == status
    if status == 200:
        html = response.content.decode()
        assert "连续三期未完成序时进度" in html
        assert (f"/supervision/notices/{red_card.pk}/settle/" in html) is forms
        assert ('id="issue-notice"' in html) is forms
    issue = client.post(url, {"kind": "red_card", "requirement": "再亮红牌"})
    assert issue.status_code == (302 if forms else 403 if status == 200 else 404)
    settle = client.post(
        f"/supervision/notices/{red_card.pk}/settle/", {"status": "withdrawn", "outcome": "撤销"}
    )
    assert settle.status_code == (302 if forms else 403 if status == 200 else 404)


def test_anonymous_is_sent_to_log_in(client, red_card, project_a):
    response = client.get(f"/supervision/projects/{project_a.pk}/notices/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    response = client.post(f"/supervision/notices/{red_card.pk}/settle/", {})
    assert response.status_code == 302
    assert ProjectNotice.objects.get().status == "active"


def test_issue_and_settle_through_the_page(client, supervisor, project_a, today):
    client.force_login(supervisor)
    url = f"/supervision/projects/{project_a.pk}/notices/"
    bad = client.post(url, {"kind": "deadline", "requirement": "限期开工，务必按期完成施工许可"})
    assert bad.status_code == 200
    assert "限期开工，务必按期完成施工许可" in bad.content.decode()
    assert set(bad.context["issue_form"].errors) == {"deadline", "consequence"}
    assert not ProjectNotice.objects.exists()
    deadline = (today + dt.timedelta(days=20)).isoformat()
    good = client.post(
        url,
        {
            "kind": "deadline",
            "requirement": "限期开工",
            "deadline": deadline,
            "consequence": "逾期取消项目",
        },
    )
    assert good.status_code == 302
    notice = ProjectNotice.objects.get()
    page = client.get(url).content.decode()
    assert 'name="cancel_project"' in page  # offered: the consequence is a cancellation
    settle = f"/supervision/notices/{notice.pk}/settle/"
    missing = client.post(settle, {"status": "enforced", "outcome": ""})
    assert missing.status_code == 200
    assert ProjectNotice.objects.get().status == "active"
    done = client.post(
        settle, {"status": "enforced", "outcome": "逾期未开工", "cancel_project": "on"}
    )
    assert done.status_code == 302
    assert project(project_a.pk).stage == Stage.CANCELLED


def test_no_cancellation_offered_for_other_consequences(client, supervisor, project_a, today):
    services.notice_issue(
        project=project_a,
        actor=supervisor,
        kind=NoticeKind.DEADLINE,
        requirement="限期整改",
        deadline=today + dt.timedelta(days=20),
        consequence="逾期约谈项目业主",
    )
    client.force_login(supervisor)
    page = client.get(f"/supervision/projects/{project_a.pk}/notices/").content.decode()
    assert 'name="cancel_project"' not in page


def test_the_project_page_links_to_its_notices(
    client, red_card, deadline_notice, project_a, reporter_a, supervisor
):
    client.force_login(reporter_a)
    html = client.get(f"/projects/{project_a.pk}/").content.decode()
    assert f"/supervision/projects/{project_a.pk}/notices/" in html
    assert 'id="notices-link"' in html
    services.notice_settle(notice=red_card, actor=supervisor, status="fulfilled", outcome="已整改")
    # One query for the count, whatever the number of notices.
    with_two = count_queries(client, f"/projects/{project_a.pk}/", cache_state="warm")
    services.notice_settle(
        notice=deadline_notice, actor=supervisor, status="withdrawn", outcome="撤"
    )
    assert count_queries(client, f"/projects/{project_a.pk}/", cache_state="warm") == with_two


# ---------------------------------------------------------------------------------------------
# API
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "seen"),
    [
        ("reporter_a", True),
        ("reporter_b", False),
        ("leader", True),
        ("supervisor", True),
        ("stranger", False),
    ],
)
def test_api_by_persona(client, request, red_card, persona, seen):
    auth = bearer(make_token(request.getfixturevalue(persona)))
    assert client.get("/api/v1/project-notices/", headers=auth).json()["count"] == (
        1 if seen else 0
    )
    detail = client.get(f"/api/v1/project-notices/{red_card.pk}/", headers=auth)
    if seen:
        assert detail.status_code == 200
    else:
        assert_error(detail, 404, "not_found")


def test_api_needs_authentication(client, red_card):
    assert_error(client.get("/api/v1/project-notices/"), 401, "not_authenticated")


def test_api_shape_and_filters(client, red_card, deadline_notice, project_a, reporter_a, today):
    auth = bearer(make_token(reporter_a))
    body = client.get(f"/api/v1/project-notices/{deadline_notice.pk}/", headers=auth).json()
    assert body == {
        "id": deadline_notice.pk,
        "project": project_a.pk,
        "kind": "deadline",
        "requirement": "限期开工",
        "deadline": (today + dt.timedelta(days=30)).isoformat(),
        "consequence": "逾期取消项目",
        "status": "active",
        "issued_on": today.isoformat(),
        "outcome": "",
        "settled_at": None,
        "overdue": False,
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
    }

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/project-notices/?{query}", headers=auth)
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("kind=red_card") == {red_card.pk}
    assert ids("status=active") == {red_card.pk, deadline_notice.pk}
    assert ids("overdue=true") == set()
    assert ids(f"project={project_a.pk}") == {red_card.pk, deadline_notice.pk}
    ProjectNotice.objects.filter(pk=deadline_notice.pk).update(
        deadline=today - dt.timedelta(days=1)
    )
    assert ids("overdue=true") == {deadline_notice.pk}
    assert ids("overdue=false") == {red_card.pk}


def test_api_writes(client, project_a, project_b, supervisor, reporter_a, today):
    write = bearer(make_token(supervisor, write=True))
    created = client.post(
        "/api/v1/project-notices/",
        {"project": project_a.pk, "kind": "red_card", "requirement": "亮红牌督办"},
        content_type="application/json",
        headers=write,
    )
    assert created.status_code == 201, created.content
    notice = created.json()
    assert project(project_a.pk).red_card
    bad = client.post(
        "/api/v1/project-notices/",
        {"project": project_a.pk, "kind": "deadline", "requirement": "限期开工"},
        content_type="application/json",
        headers=write,
    )
    assert {"deadline", "consequence"} <= set(assert_error(bad, 400, "invalid")["details"])
    settle = f"/api/v1/project-notices/{notice['id']}/settle/"
    denied = client.post(
        settle,
        {"status": "fulfilled", "outcome": "已整改"},
        content_type="application/json",
        headers=bearer(make_token(reporter_a, write=True)),
    )
    assert_error(denied, 403, "permission_denied")
    done = client.post(
        settle,
        {"status": "fulfilled", "outcome": "已整改"},
        content_type="application/json",
        headers=write,
    )
    assert done.status_code == 200 and done.json()["status"] == "fulfilled"
    assert not project(project_a.pk).red_card
    read_only = bearer(make_token(supervisor))
    assert_error(
        client.post(
            settle,
            {"status": "withdrawn", "outcome": "x"},
            content_type="application/json",
            headers=read_only,
        ),
        403,
        "token_read_only",
    )
    assert_error(
        client.put(
            f"/api/v1/project-notices/{notice['id']}/",
            {},
            content_type="application/json",
            headers=write,
        ),
        405,
        "method_not_allowed",
    )
