"""Progress reports: one per project and period, draft → submitted → approved | returned."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from projects import selectors, services
from projects.models import ProgressReport, Project, ReportStatus
from tracker import periods

OCTOBER = periods.parse("2026-10")
SEPTEMBER = periods.parse("2026-09")


def write(project, actor, period=OCTOBER, amount="300", **texts):
    return services.report_save(
        project=project, period=period, actor=actor, investment=Decimal(amount), **texts
    )


def test_full_workflow_with_return_and_resubmission(project_a, reporter_a, head_a):
    report = write(project_a, reporter_a, physical_progress="路基完成60%")
    assert report.status == ReportStatus.DRAFT
    assert report.deadline == dt.date(2026, 11, 5)
    services.report_submit(report=report, actor=reporter_a)
    services.report_return(report=report, actor=head_a, reason="投资额与台账不符")
    report.refresh_from_db()
    assert report.status == ReportStatus.RETURNED
    assert report.return_reason == "投资额与台账不符"
    assert report.reviewed_by == head_a

    write(project_a, reporter_a, amount="280", physical_progress="路基完成60%")
    services.report_submit(report=report, actor=reporter_a)
    services.report_approve(report=report, actor=head_a)
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED
    assert report.investment == Decimal("280")
    assert report.submitted_by == reporter_a
    statuses = [h.status for h in report.history.order_by("history_date", "history_id")]
    assert statuses == ["draft", "submitted", "returned", "returned", "submitted", "approved"]


def test_reporter_cannot_approve_and_other_unit_cannot_review(
    project_a, reporter_a, reporter_b, supervisor
):
    report = services.report_submit(report=write(project_a, reporter_a), actor=reporter_a)
    with pytest.raises(PermissionDenied):
        services.report_approve(report=report, actor=reporter_a)
    with pytest.raises(PermissionDenied):
        services.report_return(report=report, actor=reporter_b, reason="x")
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED
    services.report_approve(report=report, actor=supervisor)
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED


def test_other_unit_cannot_write_reports(project_a, reporter_b):
    with pytest.raises(PermissionDenied):
        write(project_a, reporter_b)
    assert not ProgressReport.objects.exists()


def test_submitted_reports_cannot_be_edited(project_a, reporter_a):
    report = services.report_submit(report=write(project_a, reporter_a), actor=reporter_a)
    with pytest.raises(ValidationError):
        write(project_a, reporter_a, amount="999")
    report.refresh_from_db()
    assert report.investment == Decimal("300")


def test_return_needs_a_reason(project_a, reporter_a, head_a):
    report = services.report_submit(report=write(project_a, reporter_a), actor=reporter_a)
    with pytest.raises(ValidationError):
        services.report_return(report=report, actor=head_a, reason=" ")
    report.refresh_from_db()
    assert report.status == ReportStatus.SUBMITTED


def test_one_report_per_project_and_period(project_a, reporter_a):
    write(project_a, reporter_a)
    write(project_a, reporter_a, amount="310")
    assert ProgressReport.objects.filter(project=project_a).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        ProgressReport.objects.create(
            project=project_a,
            period_kind="month",
            period_key="2026-10",
            period_start=OCTOBER.start,
            period_end=OCTOBER.end,
            deadline=OCTOBER.end,
        )


def test_no_reports_for_future_periods_or_other_cadences(project_a, reporter_a):
    with pytest.raises(ValidationError):
        write(project_a, reporter_a, period=periods.parse("2026-12"))
    with pytest.raises(ValidationError):
        write(project_a, reporter_a, period=periods.parse("2026-Q3"))
    assert not ProgressReport.objects.exists()


def test_prefill_comes_from_the_last_report(project_a, reporter_a):
    write(
        project_a,
        reporter_a,
        period=SEPTEMBER,
        physical_progress="桥梁桩基完成",
        problems="征地拆迁滞后",
        next_steps="推进墩柱施工",
    )
    initial = selectors.report_initial(project_a, OCTOBER)
    assert initial == {
        "investment": Decimal("0"),
        "physical_progress": "桥梁桩基完成",
        "problems": "征地拆迁滞后",
        "next_steps": "推进墩柱施工",
    }


def test_lateness_is_measured_against_the_deadline(project_a, reporter_a):
    report = write(project_a, reporter_a)
    services.report_submit(report=report, actor=reporter_a)  # 2026-11-21, deadline 2026-11-05
    report.refresh_from_db()
    assert report.is_late
    with time_machine.travel(dt.datetime(2026, 10, 3, 9, tzinfo=dt.UTC), tick=False):
        on_time = write(project_a, reporter_a, period=SEPTEMBER)
        services.report_submit(report=on_time, actor=reporter_a)
    on_time.refresh_from_db()
    assert not on_time.is_late


def test_investment_totals_are_derived_from_counted_reports(project_a, reporter_a, head_a):
    with time_machine.travel(dt.datetime(2026, 1, 3, 9, tzinfo=dt.UTC), tick=False):
        last_year = write(project_a, reporter_a, period=periods.parse("2025-12"), amount="1000")
        services.report_submit(report=last_year, actor=reporter_a)
    services.report_submit(
        report=write(project_a, reporter_a, period=SEPTEMBER, amount="200"), actor=reporter_a
    )
    write(project_a, reporter_a, amount="999")  # a draft does not count
    totals = selectors.project_investment_totals(project_a, dt.date(2026, 11, 21))
    assert totals == {"cumulative": Decimal("1200"), "year_to_date": Decimal("200")}


def test_concurrent_edit_is_refused(project_a, reporter_a):
    report = write(project_a, reporter_a)
    write(project_a, reporter_a, amount="310", expected_version=report.version)
    with pytest.raises(services.VersionConflict):
        write(project_a, reporter_a, amount="320", expected_version=report.version)
    report.refresh_from_db()
    assert report.investment == Decimal("310")


def test_timeliness_counts_the_first_submission(project_a, reporter_a, head_a):
    with time_machine.travel(dt.datetime(2026, 10, 3, 9, tzinfo=dt.UTC), tick=False):
        report = write(project_a, reporter_a, period=SEPTEMBER)
        services.report_submit(report=report, actor=reporter_a)
        services.report_return(report=report, actor=head_a, reason="缺少现场照片")
    write(project_a, reporter_a, period=SEPTEMBER, amount="320")
    services.report_submit(report=report, actor=reporter_a)  # 2026-11-21, after the deadline
    report.refresh_from_db()
    assert report.submitted_at.date() == dt.date(2026, 11, 21)
    assert report.first_submitted_at.date() == dt.date(2026, 10, 3)
    assert not report.is_late


def test_a_bundle_reports_through_its_sub_projects(project_a, reporter_a, unit_a):
    child = services.project_create(
        actor=reporter_a,
        lead_unit=unit_a,
        name="子项目一",
        category="transport",
        parent=project_a,
        prior_investment=Decimal("500"),
    )
    with pytest.raises(ValidationError, match="打捆项目"):
        write(project_a, reporter_a)
    assert project_a not in Project.objects.reporting()
    assert child in Project.objects.reporting()
    services.report_submit(report=write(child, reporter_a, amount="120.5"), actor=reporter_a)
    assert selectors.project_investment_totals(project_a, dt.date(2026, 11, 21)) == {
        "cumulative": Decimal("620.50"),
        "year_to_date": Decimal("120.50"),
    }
