"""Separation of duties (DESIGN.md §3; TRACKER_SEPARATE_DUTIES, on by default): whoever submits
a progress report never approves or returns it; whoever reports an issue rectified never verifies
and closes it (销号). Off, a one-person office may do both. The services refuse, the API answers
403 in Chinese, the pages offer no button and say why."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from projects import services
from projects.models import ProgressReport, ReportStatus, Role
from supervision.issues import services as ledger
from supervision.models import Issue, IssueStatus
from tests import factories
from tests.support.api import assert_error, bearer, make_token
from tracker import periods

OCTOBER = periods.parse("2026-10")


@pytest.fixture
def own_report(project_a, head_a):
    """A report the unit head wrote and submitted himself."""
    report = services.report_save(
        project=project_a, period=OCTOBER, actor=head_a, investment=Decimal("300")
    )
    return services.report_submit(report=report, actor=head_a)


@pytest.fixture
def own_rectification(supervisor, unit_a, project_a):
    """An issue a county supervisor reported rectified himself (supervisors may act for a unit)."""
    issue = factories.IssueFactory(actor=supervisor, unit=unit_a, project=project_a)
    return ledger.issue_mark_rectified(issue=issue, actor=supervisor, text="已整改，附照片")


@pytest.fixture
def second_supervisor(county):
    return factories.member(county, Role.SUPERVISOR, username="supervisor_2")


def status_of(report) -> str:
    return ProgressReport.objects.get(pk=report.pk).status


# --- the services -------------------------------------------------------------------------------


def test_the_submitter_may_neither_approve_nor_return(own_report, head_a, supervisor):
    with pytest.raises(PermissionDenied, match="本人提交"):
        services.report_approve(report=own_report, actor=head_a)
    with pytest.raises(PermissionDenied):
        services.report_return(report=own_report, actor=head_a, reason="自己退回")
    assert status_of(own_report) == ReportStatus.SUBMITTED
    services.report_approve(report=own_report, actor=supervisor)
    assert status_of(own_report) == ReportStatus.APPROVED


def test_whoever_submitted_last_is_the_one_kept_out(project_a, reporter_a, head_a):
    report = services.report_save(
        project=project_a, period=OCTOBER, actor=head_a, investment=Decimal("1")
    )
    services.report_submit(report=report, actor=head_a)
    services.report_return(
        report=report,
        actor=factories.member(project_a.lead_unit, Role.UNIT_HEAD, username="head_a2"),
        reason="数据有误",
    )
    services.report_submit(report=report, actor=reporter_a)  # corrected and sent by the clerk
    services.report_approve(report=report, actor=head_a)
    assert status_of(report) == ReportStatus.APPROVED


def test_the_rectifier_may_not_close_but_may_be_verified_by_another(
    own_rectification, supervisor, second_supervisor
):
    with pytest.raises(PermissionDenied):
        ledger.issue_close(issue=own_rectification, actor=supervisor)
    assert Issue.objects.get(pk=own_rectification.pk).status == IssueStatus.RESOLVED
    ledger.issue_close(issue=own_rectification, actor=second_supervisor)
    closed = Issue.objects.get(pk=own_rectification.pk)
    assert (closed.status, closed.closed_by) == (IssueStatus.CLOSED, second_supervisor)


def test_off_a_one_person_office_does_both(
    settings, own_report, head_a, own_rectification, supervisor
):
    settings.TRACKER_SEPARATE_DUTIES = False
    services.report_approve(report=own_report, actor=head_a)
    assert status_of(own_report) == ReportStatus.APPROVED
    ledger.issue_close(issue=own_rectification, actor=supervisor)
    assert Issue.objects.get(pk=own_rectification.pk).status == IssueStatus.CLOSED


# --- the API ------------------------------------------------------------------------------------


def test_api_refuses_the_submitters_review_with_a_403_in_chinese(client, own_report, head_a):
    headers = bearer(make_token(head_a, write=True))
    url = f"/api/v1/progress-reports/{own_report.pk}/"
    body = assert_error(client.post(f"{url}approve/", headers=headers), 403, "permission_denied")
    assert "本人提交" in body["message"]
    returned = client.post(
        f"{url}return/",
        data=json.dumps({"reason": "自己退回"}),
        content_type="application/json",
        headers=headers,
    )
    assert_error(returned, 403, "permission_denied")
    assert status_of(own_report) == ReportStatus.SUBMITTED


def test_api_refuses_the_rectifiers_close_with_a_403_in_chinese(
    client, own_rectification, supervisor, second_supervisor
):
    url = f"/api/v1/issues/{own_rectification.pk}/close/"
    own = bearer(make_token(supervisor, write=True))
    body = assert_error(
        client.post(url, content_type="application/json", headers=own), 403, "permission_denied"
    )
    assert "本人报告" in body["message"]
    assert Issue.objects.get(pk=own_rectification.pk).status == IssueStatus.RESOLVED
    other = bearer(make_token(second_supervisor, write=True))
    assert client.post(url, content_type="application/json", headers=other).status_code == 200


@pytest.mark.parametrize("separate", [True, False])
def test_api_follows_the_setting(client, settings, own_report, head_a, separate):
    settings.TRACKER_SEPARATE_DUTIES = separate
    response = client.post(
        f"/api/v1/progress-reports/{own_report.pk}/approve/",
        headers=bearer(make_token(head_a, write=True)),
    )
    assert response.status_code == (403 if separate else 200)
    assert status_of(own_report) == (ReportStatus.SUBMITTED if separate else ReportStatus.APPROVED)


# --- the pages ----------------------------------------------------------------------------------


def report_page(client, project):
    return client.get(reverse("report_form", args=[project.pk, OCTOBER.key])).content.decode()


@pytest.mark.parametrize("separate", [True, False])
def test_report_page_offers_no_review_of_ones_own_report(
    client, settings, own_report, head_a, separate
):
    settings.TRACKER_SEPARATE_DUTIES = separate
    client.force_login(head_a)
    page = report_page(client, own_report.project)
    assert ('id="approve"' in page) is not separate
    assert ("须由其他单位负责人或督查员审核" in page) is separate


def test_report_page_refuses_a_forged_review(client, own_report, head_a, supervisor):
    client.force_login(head_a)
    url = reverse("report_review", args=[own_report.project_id, OCTOBER.key])
    response = client.post(url, {"decision": "approve", "version": own_report.version})
    assert response.status_code == 403
    assert status_of(own_report) == ReportStatus.SUBMITTED
    # Another reviewer sees the buttons and approves.
    client.force_login(supervisor)
    assert 'id="approve"' in report_page(client, own_report.project)
    assert (
        client.post(url, {"decision": "approve", "version": own_report.version}).status_code == 302
    )
    assert status_of(own_report) == ReportStatus.APPROVED


@pytest.mark.parametrize("separate", [True, False])
def test_issue_page_offers_no_close_of_ones_own_rectification(
    client, settings, own_rectification, supervisor, separate
):
    settings.TRACKER_SEPARATE_DUTIES = separate
    client.force_login(supervisor)
    page = client.get(reverse("issue_detail", args=[own_rectification.pk])).content.decode()
    close = reverse("issue_action", args=[own_rectification.pk, "close"])
    assert (close in page) is not separate
    assert ("须由其他督查员核实销号" in page) is separate
    response = client.post(close, {"close-note": "核实"})
    assert response.status_code == (403 if separate else 302)
    status = Issue.objects.get(pk=own_rectification.pk).status
    assert status == (IssueStatus.RESOLVED if separate else IssueStatus.CLOSED)
