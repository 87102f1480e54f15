"""The supervision ledger: raising, the unit's responses, only supervisors close, extensions,
two-way urging, the escalation ladder and its daily step, instructions — services first, then
the pages (permission matrix, forms that keep what was typed, the Excel export)."""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from projects.models import Leader, Role
from supervision import selectors
from supervision.issues import services as issue_services
from supervision.models import (
    AlertRule,
    EscalationLevel,
    ExtensionStatus,
    Issue,
    IssueAttachment,
    IssueCategory,
    IssueEvent,
    IssueEventKind,
    IssueSource,
    IssueStatus,
)
from tests import factories


@pytest.fixture
def county_leader(county, leader):
    return Leader.objects.create(name="王副县长", title="副县长", unit=county, user=leader)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10), tzinfo=ZoneInfo("Asia/Shanghai"))


def kinds(issue):
    return list(issue.events.order_by("created_at", "id").values_list("kind", flat=True))


# ---------------------------------------------------------------------------------------------
# Raising
# ---------------------------------------------------------------------------------------------


def test_supervisor_raises_an_issue_on_the_ledger(supervisor, unit_a, project_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a, project=project_a)
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN
    assert issue.level == EscalationLevel.NORMAL
    assert issue.raised_on == today
    assert issue.original_deadline == issue.deadline == today + dt.timedelta(days=10)
    assert issue.number == f"{today.year}-{issue.pk:04d}"
    assert kinds(issue) == [IssueEventKind.RAISED]
    assert issue.events.get().actor == supervisor
    assert issue.history.count() == 1


@pytest.mark.parametrize("who", ["reporter_a", "head_a", "leader"])
def test_only_supervisors_raise_issues(request, who, unit_a, today):
    with pytest.raises(PermissionDenied):
        factories.IssueFactory(actor=request.getfixturevalue(who), unit=unit_a)
    assert not Issue.objects.exists()


def test_raising_checks_deadline_and_source_link(supervisor, unit_a, today):
    with pytest.raises(ValidationError) as exc:
        factories.IssueFactory(actor=supervisor, unit=unit_a, deadline=today - dt.timedelta(days=1))
    assert "deadline" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:
        factories.IssueFactory(actor=supervisor, unit=unit_a, source=IssueSource.INSPECTION)
    assert "inspection" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:
        factories.IssueFactory(actor=supervisor, unit=unit_a, title="  ")
    assert "title" in exc.value.error_dict
    assert not Issue.objects.exists() and not IssueEvent.objects.exists()


def test_issue_from_a_report_takes_its_project_and_leader(
    supervisor, reporter_a, unit_a, project_a, county_leader, today
):
    from decimal import Decimal

    from projects.services import report_save
    from tracker import periods

    project_a.lead_leader = county_leader
    project_a.save()
    period = periods.containing(periods.PeriodKind.MONTH, today)
    report = report_save(
        project=project_a,
        period=period,
        actor=reporter_a,
        investment=Decimal("10"),
        problems="征地未完成",
    )
    issue = factories.IssueFactory(
        actor=supervisor, unit=unit_a, source=IssueSource.REPORT, report=report
    )
    assert issue.project == project_a
    assert issue.leader == county_leader
    assert issue.report == report


# ---------------------------------------------------------------------------------------------
# The unit's side
# ---------------------------------------------------------------------------------------------


def test_unit_responds_with_files_then_reports_rectified(supervisor, reporter_a, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    photo = SimpleUploadedFile("现场.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")
    issue_services.issue_respond(issue=issue, actor=reporter_a, text="已完成50%兑付", files=[photo])
    issue.refresh_from_db()
    assert issue.status == IssueStatus.IN_PROGRESS
    attachment = IssueAttachment.objects.get()
    assert attachment.name == "现场.jpg" and attachment.size == 103
    assert attachment.event.actor_unit == unit_a
    issue_services.issue_mark_rectified(issue=issue, actor=reporter_a, text="全部兑付，附凭证")
    issue.refresh_from_db()
    assert issue.status == IssueStatus.RESOLVED and issue.resolved_at is not None
    assert kinds(issue) == ["raised", "response", "rectified"]


def test_another_unit_cannot_respond(supervisor, reporter_b, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    with pytest.raises(PermissionDenied):
        issue_services.issue_respond(issue=issue, actor=reporter_b, text="不是我们的事")
    assert kinds(issue) == ["raised"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.exe", b"MZ" + b"0" * 10, "kind of file"),
        ("empty.pdf", b"", "empty"),
    ],
)
def test_a_refused_attachment_writes_nothing(
    supervisor, reporter_a, unit_a, today, name, content, message
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    upload = SimpleUploadedFile(name, content)
    with pytest.raises(ValidationError) as exc:
        issue_services.issue_respond(issue=issue, actor=reporter_a, text="见附件", files=[upload])
    assert message in " ".join(exc.value.messages) or exc.value.messages
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN and issue.version == 1
    assert kinds(issue) == ["raised"]
    assert not IssueAttachment.objects.exists()


def test_too_large_attachment_is_refused(settings, supervisor, reporter_a, unit_a, today):
    settings.TRACKER_ATTACHMENT_MAX_BYTES = 1024
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    with pytest.raises(ValidationError):
        issue_services.issue_respond(
            issue=issue,
            actor=reporter_a,
            text="见附件",
            files=[SimpleUploadedFile("big.pdf", b"%PDF" + b"0" * 2000)],
        )
    assert not IssueAttachment.objects.exists()


# ---------------------------------------------------------------------------------------------
# Only supervisors close; sending back
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def rectified(supervisor, reporter_a, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    return issue_services.issue_mark_rectified(issue=issue, actor=reporter_a, text="已整改")


@pytest.mark.parametrize("who", ["reporter_a", "head_a", "leader", "reporter_b"])
def test_only_supervisors_close(request, who, rectified):
    with pytest.raises(PermissionDenied):
        issue_services.issue_close(issue=rectified, actor=request.getfixturevalue(who))
    rectified.refresh_from_db()
    assert rectified.status == IssueStatus.RESOLVED


def test_supervisor_closes_a_rectified_issue(supervisor, rectified):
    issue_services.issue_close(issue=rectified, actor=supervisor, note="现场核实")
    rectified.refresh_from_db()
    assert rectified.status == IssueStatus.CLOSED
    assert rectified.closed_by == supervisor and rectified.closed_at is not None
    assert kinds(rectified)[-1] == IssueEventKind.CLOSED


def test_an_open_issue_cannot_be_closed_without_rectification(supervisor, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    with pytest.raises(ValidationError):
        issue_services.issue_close(issue=issue, actor=supervisor)
    issue.refresh_from_db()
    assert issue.status == IssueStatus.OPEN


def test_send_back_needs_a_reason_and_reopens(supervisor, rectified):
    with pytest.raises(ValidationError):
        issue_services.issue_send_back(issue=rectified, actor=supervisor, reason=" ")
    issue_services.issue_send_back(issue=rectified, actor=supervisor, reason="凭证不全")
    rectified.refresh_from_db()
    assert rectified.status == IssueStatus.OPEN and rectified.resolved_at is None
    assert rectified.events.filter(kind=IssueEventKind.SENT_BACK, text="凭证不全").exists()


def test_stale_version_is_refused(supervisor, reporter_a, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    issue_services.issue_respond(issue=issue, actor=reporter_a, text="进展一")
    from projects.services import VersionConflict

    with pytest.raises(VersionConflict):
        issue_services.issue_respond(
            issue=issue, actor=reporter_a, text="进展二", expected_version=1
        )
    assert issue.events.filter(kind=IssueEventKind.RESPONSE).count() == 1


# ---------------------------------------------------------------------------------------------
# Extensions
# ---------------------------------------------------------------------------------------------


def test_extension_granted_moves_the_deadline(supervisor, reporter_a, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    new = today + dt.timedelta(days=30)
    request = issue_services.issue_request_extension(
        issue=issue, actor=reporter_a, new_deadline=new, reason="雨季无法施工"
    )
    with pytest.raises(ValidationError):  # one pending request at a time
        issue_services.issue_request_extension(
            issue=issue, actor=reporter_a, new_deadline=new, reason="再次申请"
        )
    with pytest.raises(PermissionDenied):
        issue_services.issue_decide_extension(request=request, actor=reporter_a, grant=True)
    issue_services.issue_decide_extension(request=request, actor=supervisor, grant=True)
    issue.refresh_from_db()
    request.refresh_from_db()
    assert request.status == ExtensionStatus.GRANTED and request.decided_by == supervisor
    assert issue.deadline == new
    assert issue.original_deadline == today + dt.timedelta(days=10)
    assert kinds(issue) == ["raised", "extension_requested", "extension_granted"]


def test_extension_refused_needs_a_reason_and_keeps_the_deadline(
    supervisor, reporter_a, unit_a, today
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    request = issue_services.issue_request_extension(
        issue=issue, actor=reporter_a, new_deadline=today + dt.timedelta(days=20), reason="资金未到"
    )
    with pytest.raises(ValidationError):
        issue_services.issue_decide_extension(request=request, actor=supervisor, grant=False)
    issue_services.issue_decide_extension(
        request=request, actor=supervisor, grant=False, note="不予延期"
    )
    issue.refresh_from_db()
    assert issue.deadline == today + dt.timedelta(days=10)
    request.refresh_from_db()
    assert request.status == ExtensionStatus.REFUSED


def test_extension_must_be_asked_before_the_deadline_and_for_a_later_date(
    supervisor, reporter_a, unit_a, today
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    with pytest.raises(ValidationError):
        issue_services.issue_request_extension(
            issue=issue, actor=reporter_a, new_deadline=issue.deadline, reason="同日"
        )
    # On the deadline day it may still be asked for; the day after, no longer.
    with time_machine.travel(at(issue.deadline), tick=False):
        issue_services.issue_request_extension(
            issue=issue,
            actor=reporter_a,
            new_deadline=issue.deadline + dt.timedelta(days=5),
            reason="x",
        )
    issue.extensions.update(status=ExtensionStatus.REFUSED)
    with (
        time_machine.travel(at(issue.deadline + dt.timedelta(days=1)), tick=False),
        pytest.raises(ValidationError),
    ):
        issue_services.issue_request_extension(
            issue=issue,
            actor=reporter_a,
            new_deadline=issue.deadline + dt.timedelta(days=9),
            reason="y",
        )


# ---------------------------------------------------------------------------------------------
# Two-way urging and the office's queue
# ---------------------------------------------------------------------------------------------


def test_supervisor_urges_down_and_the_issue_reaches_the_first_step(supervisor, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    issue_services.issue_urge(issue=issue, actor=supervisor, text="请加快进度")
    issue.refresh_from_db()
    assert issue.level == EscalationLevel.URGED
    event = issue.events.get(kind=IssueEventKind.URGED)
    assert event.actor == supervisor and event.level == EscalationLevel.URGED


def test_unit_urges_up_and_lands_in_the_office_queue(
    supervisor, reporter_a, reporter_b, unit_a, unit_b, today
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    issue_services.issue_urge_up(
        issue=issue, actor=reporter_a, text="请督促水利局配合迁改", target_unit=unit_b
    )
    issue.refresh_from_db()
    assert issue.awaiting_office
    assert list(selectors.office_queue(supervisor)) == [issue]
    assert not selectors.office_queue(reporter_b).exists()
    event = issue.events.get(kind=IssueEventKind.URGED_UP)
    assert event.target_unit == unit_b and event.actor_unit == unit_a
    # The office acts: it urges the other unit and the request leaves the queue.
    issue_services.issue_urge(
        issue=issue, actor=supervisor, text="请水利局配合", target_unit=unit_b
    )
    issue.refresh_from_db()
    assert not issue.awaiting_office
    assert not selectors.office_queue(supervisor).exists()


def test_unit_request_for_coordination_is_accepted_or_declined(
    supervisor, reporter_a, unit_a, unit_b, today
):
    request = issue_services.issue_request_help(
        actor=reporter_a,
        requesting_unit=unit_a,
        title="管线迁改协调",
        description="请县里协调水利局迁改管线",
        target_unit=unit_b,
    )
    assert request.status == IssueStatus.PENDING and request.deadline is None
    assert request.unit == unit_b and request.requested_by_unit == unit_a
    assert list(selectors.office_queue(supervisor)) == [request]
    with pytest.raises(PermissionDenied):
        issue_services.issue_accept(
            issue=request, actor=reporter_a, unit=unit_b, deadline=today + dt.timedelta(days=7)
        )
    issue_services.issue_accept(
        issue=request, actor=supervisor, unit=unit_b, deadline=today + dt.timedelta(days=7)
    )
    request.refresh_from_db()
    assert request.status == IssueStatus.OPEN and request.deadline == today + dt.timedelta(days=7)
    assert not selectors.office_queue(supervisor).exists()

    other = issue_services.issue_request_help(
        actor=reporter_a, requesting_unit=unit_a, title="资金协调", description="请协调资金"
    )
    with pytest.raises(ValidationError):
        issue_services.issue_decline(issue=other, actor=supervisor, reason="")
    issue_services.issue_decline(issue=other, actor=supervisor, reason="属单位职责")
    other.refresh_from_db()
    assert other.status == IssueStatus.DECLINED


def test_help_only_on_behalf_of_ones_own_unit(reporter_a, unit_b):
    with pytest.raises(PermissionDenied):
        issue_services.issue_request_help(
            actor=reporter_a, requesting_unit=unit_b, title="x", description="y"
        )


# ---------------------------------------------------------------------------------------------
# The ladder
# ---------------------------------------------------------------------------------------------


def test_escalation_needs_a_supervisor_a_higher_step_and_a_reason(
    supervisor, head_a, unit_a, today
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    with pytest.raises(PermissionDenied):
        issue_services.issue_escalate(issue=issue, actor=head_a, level=3, reason="x")
    with pytest.raises(ValidationError):
        issue_services.issue_escalate(issue=issue, actor=supervisor, level=3, reason="")
    issue_services.issue_escalate(
        issue=issue, actor=supervisor, level=EscalationLevel.LISTED, reason="多次催办未果"
    )
    with pytest.raises(ValidationError):
        issue_services.issue_escalate(
            issue=issue, actor=supervisor, level=EscalationLevel.URGED, reason="降级"
        )
    issue.refresh_from_db()
    assert issue.level == EscalationLevel.LISTED
    event = issue.events.get(kind=IssueEventKind.ESCALATED)
    assert (event.actor, event.level, event.text) == (supervisor, 3, "多次催办未果")


@pytest.mark.parametrize(("days_overdue", "stepped"), [(7, False), (8, True), (9, True)])
def test_the_daily_job_steps_overdue_issues_to_supervision_after_the_grace_days(
    supervisor, unit_a, today, days_overdue, stepped
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    Issue.objects.filter(pk=issue.pk).update(deadline=today - dt.timedelta(days=days_overdue))
    assert (issue_services.escalate_overdue(today=today) == [issue.pk]) is stepped
    issue.refresh_from_db()
    assert issue.level == (EscalationLevel.SUPERVISED if stepped else EscalationLevel.NORMAL)
    if stepped:
        event = issue.events.get(kind=IssueEventKind.ESCALATED)
        assert event.actor is None and event.level == EscalationLevel.SUPERVISED
    # A second run writes nothing new.
    assert issue_services.escalate_overdue(today=today) == []
    assert issue.events.filter(kind=IssueEventKind.ESCALATED).count() == int(stepped)


def test_grace_days_follow_the_issue_overdue_rule(supervisor, unit_a, today):
    from supervision.alerts import ensure_rules

    ensure_rules()
    AlertRule.objects.filter(key="issue_overdue").update(red_at=3)
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    Issue.objects.filter(pk=issue.pk).update(deadline=today - dt.timedelta(days=3))
    assert issue_services.escalate_overdue(today=today) == [issue.pk]


def test_the_job_never_lowers_nor_touches_finished_issues(supervisor, reporter_a, unit_a, today):
    high = factories.IssueFactory(actor=supervisor, unit=unit_a)
    issue_services.issue_escalate(
        issue=high, actor=supervisor, level=EscalationLevel.INTERVIEW, reason="约谈"
    )
    done = factories.IssueFactory(actor=supervisor, unit=unit_a)
    issue_services.issue_mark_rectified(issue=done, actor=reporter_a, text="已整改")
    Issue.objects.update(deadline=today - dt.timedelta(days=30))
    assert issue_services.escalate_overdue(today=today) == []
    high.refresh_from_db()
    done.refresh_from_db()
    assert high.level == EscalationLevel.INTERVIEW
    assert done.level == EscalationLevel.NORMAL


# ---------------------------------------------------------------------------------------------
# Instructions
# ---------------------------------------------------------------------------------------------


def test_leaders_write_instructions(supervisor, leader, reporter_a, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    issue_services.issue_instruct(issue=issue, actor=leader, text="请交通局主要负责人亲自抓")
    with pytest.raises(PermissionDenied):
        issue_services.issue_instruct(issue=issue, actor=reporter_a, text="我也批示")
    event = issue.events.get(kind=IssueEventKind.INSTRUCTION)
    assert event.actor == leader


def test_the_issues_own_leader_may_instruct(supervisor, unit_a, county, today):
    user = factories.member(unit_a, Role.REPORTER, username="包联领导")
    user.memberships.all().delete()
    own = Leader.objects.create(name="李副县长", title="副县长", unit=county, user=user)
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a, leader=own)
    issue_services.issue_instruct(issue=issue, actor=user, text="本周内解决")
    assert issue.events.filter(kind=IssueEventKind.INSTRUCTION, actor=user).exists()


# ---------------------------------------------------------------------------------------------
# Pages
# ---------------------------------------------------------------------------------------------


def test_pages_need_a_login(client, supervisor, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    for url in [
        reverse("issue_list"),
        reverse("issue_detail", args=[issue.pk]),
        reverse("issue_export"),
        reverse("issue_create"),
        reverse("issue_request_help"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_list_shows_only_the_issues_in_scope(client, supervisor, reporter_a, unit_a, unit_b, today):
    mine = factories.IssueFactory(actor=supervisor, unit=unit_a, title="交通局的问题")
    theirs = factories.IssueFactory(actor=supervisor, unit=unit_b, title="水利局的问题")
    client.force_login(reporter_a)
    page = client.get(reverse("issue_list")).content.decode()
    assert mine.title in page and theirs.title not in page
    assert client.get(reverse("issue_detail", args=[theirs.pk])).status_code == 404
    client.force_login(supervisor)
    page = client.get(reverse("issue_list")).content.decode()
    assert mine.title in page and theirs.title in page


def test_list_filters(client, supervisor, unit_a, unit_b, today):
    late = factories.IssueFactory(actor=supervisor, unit=unit_a, title="逾期问题")
    Issue.objects.filter(pk=late.pk).update(deadline=today - dt.timedelta(days=2))
    factories.IssueFactory(
        actor=supervisor, unit=unit_b, title="按期问题", category=IssueCategory.FUNDING
    )
    client.force_login(supervisor)
    page = client.get(reverse("issue_list"), {"overdue": "true"}).content.decode()
    assert "逾期问题" in page and "按期问题" not in page
    page = client.get(reverse("issue_list"), {"category": "funding"}).content.decode()
    assert "逾期问题" not in page and "按期问题" in page
    page = client.get(reverse("issue_list"), {"unit": unit_a.pk}).content.decode()
    assert "逾期问题" in page and "按期问题" not in page


def test_list_keeps_a_fixed_number_of_queries(
    client, supervisor, unit_a, today, django_assert_max_num_queries
):
    factories.IssueFactory(actor=supervisor, unit=unit_a)
    client.force_login(supervisor)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("issue_list"))
    for n in range(15):
        factories.IssueFactory(actor=supervisor, unit=unit_a, title=f"问题{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(reverse("issue_list")).status_code == 200


def test_detail_offers_each_persona_its_own_actions(
    client, supervisor, reporter_a, leader, unit_a, today
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    url = reverse("issue_detail", args=[issue.pk])
    actions = {
        "respond": reverse("issue_action", args=[issue.pk, "respond"]),
        "urge": reverse("issue_action", args=[issue.pk, "urge"]),
        "instruct": reverse("issue_action", args=[issue.pk, "instruct"]),
    }
    client.force_login(reporter_a)
    page = client.get(url).content.decode()
    assert actions["respond"] in page and actions["urge"] not in page
    client.force_login(supervisor)
    page = client.get(url).content.decode()
    assert actions["urge"] in page and actions["respond"] in page  # supervisors may also act
    client.force_login(leader)
    page = client.get(url).content.decode()
    assert actions["instruct"] in page and actions["urge"] not in page


def test_responding_through_the_page_stores_files(client, supervisor, reporter_a, unit_a, today):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    client.force_login(reporter_a)
    response = client.post(
        reverse("issue_action", args=[issue.pk, "respond"]),
        {
            "respond-text": "已进场施工",
            "respond-version": issue.version,
            "respond-files": [
                SimpleUploadedFile("一.pdf", b"%PDF-1.4 one"),
                SimpleUploadedFile("二.png", b"\x89PNG two"),
            ],
        },
    )
    assert response.status_code == 302
    event = issue.events.get(kind=IssueEventKind.RESPONSE)
    assert sorted(event.attachments.values_list("name", flat=True)) == ["一.pdf", "二.png"]
    attachment = event.attachments.first()
    assert client.get(reverse("issue_attachment", args=[attachment.pk])).status_code == 200


def test_an_invalid_action_keeps_the_text_and_changes_nothing(
    client, supervisor, reporter_a, unit_a, today
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    client.force_login(reporter_a)
    response = client.post(
        reverse("issue_action", args=[issue.pk, "extension"]),
        {"extension-new_deadline": "2026-02-30", "extension-reason": "我写的理由"},
    )
    assert response.status_code == 400
    assert "我写的理由" in response.content.decode()
    assert not issue.extensions.exists()


def test_a_unit_cannot_close_through_the_page(client, rectified, reporter_a):
    client.force_login(reporter_a)
    response = client.post(reverse("issue_action", args=[rectified.pk, "close"]), {})
    assert response.status_code == 403
    rectified.refresh_from_db()
    assert rectified.status == IssueStatus.RESOLVED


def test_attachments_are_not_served_outside_scope(
    client, supervisor, reporter_a, reporter_b, unit_a, today
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a)
    issue_services.issue_respond(
        issue=issue, actor=reporter_a, text="附件", files=[SimpleUploadedFile("a.pdf", b"%PDF")]
    )
    attachment = IssueAttachment.objects.get()
    client.force_login(reporter_b)
    assert client.get(reverse("issue_attachment", args=[attachment.pk])).status_code == 404


def test_supervisor_raises_through_the_page(client, supervisor, unit_a, today):
    client.force_login(supervisor)
    response = client.post(
        reverse("issue_create"),
        {
            "title": "施工许可迟迟未办",
            "source": "upper",
            "category": "planning",
            "unit": unit_a.pk,
            "deadline": (today + dt.timedelta(days=5)).isoformat(),
        },
    )
    issue = Issue.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "issue_detail", args=[issue.pk]
    )


def test_reporter_cannot_open_the_raise_form(client, reporter_a):
    client.force_login(reporter_a)
    assert client.get(reverse("issue_create")).status_code == 403
    assert client.get(reverse("issue_request_help")).status_code == 200


def test_excel_export_has_the_ledger_columns(
    client, supervisor, reporter_a, unit_a, project_a, today
):
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a, project=project_a)
    issue_services.issue_respond(issue=issue, actor=reporter_a, text="已兑付一半")
    Issue.objects.filter(pk=issue.pk).update(deadline=today - dt.timedelta(days=3))
    client.force_login(supervisor)
    response = client.get(reverse("issue_export"))
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert len(rows) == 1
    row = rows[0]
    assert row[0] == 1 and row[1] == issue.number
    assert row[4] == project_a.name and row[7] == unit_a.name
    assert row[10].date() == today - dt.timedelta(days=3)
    assert row[12] == "已兑付一半"
    assert row[15] == 3
    assert sheet.max_column == 16


def test_workspace_lists_my_units_issues_and_the_office_queue(
    client, supervisor, reporter_a, reporter_b, unit_a, unit_b, today
):
    mine = factories.IssueFactory(actor=supervisor, unit=unit_a, title="交通局待整改")
    Issue.objects.filter(pk=mine.pk).update(deadline=today - dt.timedelta(days=2))
    factories.IssueFactory(actor=supervisor, unit=unit_b, title="水利局待整改")
    issue_services.issue_request_help(
        actor=reporter_b, requesting_unit=unit_b, title="请求协调", description="请协调"
    )
    client.force_login(reporter_a)
    page = client.get(reverse("home")).content.decode()
    assert "交通局待整改" in page and "水利局待整改" not in page
    assert reverse("issue_detail", args=[mine.pk]) in page
    client.force_login(supervisor)
    response = client.get(reverse("home"))
    panel = response.context["panels"][0].context
    assert panel["office"] == {"queue": 1, "to_verify": 0, "overdue": 1}
