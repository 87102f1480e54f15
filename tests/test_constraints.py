"""Rules the database itself enforces, whatever path a write takes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from projects.models import (
    Milestone,
    MilestoneRevision,
    Project,
    ProjectFunding,
    ProjectYearPlan,
    Target,
)


def refused(callable_):
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


def test_amounts_cannot_be_negative(project_a, unit_a):
    refused(lambda: Project.objects.filter(pk=project_a.pk).update(total_investment=-1))
    refused(
        lambda: ProjectFunding.objects.create(
            project=project_a, source="bank_loan", planned=Decimal("-5")
        )
    )
    refused(
        lambda: ProjectYearPlan.objects.create(
            project=project_a, year=2026, planned_investment=Decimal("-1")
        )
    )
    refused(
        lambda: Target.objects.create(
            unit=unit_a, year=2026, metric="funding", target_value=Decimal("0")
        )
    )


def test_red_card_needs_a_reason(project_a):
    refused(lambda: Project.objects.filter(pk=project_a.pk).update(red_card=True))


def test_one_funding_row_per_source_and_one_plan_per_year(project_a):
    ProjectFunding.objects.create(project=project_a, source="special_bond")
    refused(lambda: ProjectFunding.objects.create(project=project_a, source="special_bond"))
    ProjectYearPlan.objects.create(project=project_a, year=2026)
    refused(lambda: ProjectYearPlan.objects.create(project=project_a, year=2026))


def test_plan_completion_after_start(project_a):
    refused(
        lambda: ProjectYearPlan.objects.create(
            project=project_a,
            year=2027,
            planned_start=dt.date(2027, 5, 1),
            planned_completion=dt.date(2027, 4, 1),
        )
    )


def test_revision_needs_reason(project_a):
    milestone = Milestone.objects.create(
        project=project_a, name="开工", due_date=dt.date(2026, 5, 1)
    )
    refused(
        lambda: MilestoneRevision.objects.create(
            milestone=milestone,
            previous_due_date=dt.date(2026, 5, 1),
            new_due_date=dt.date(2026, 6, 1),
            reason="",
        )
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"approved": Decimal("100"), "arrived": Decimal("150"), "status": "arrived"}, "arrived"),
        ({"status": "approved"}, "approved"),
        ({"status": "arrived", "approved": Decimal("100")}, "arrived"),
        ({"status": "preparing", "approved": Decimal("100")}, "status"),
        (
            {"applied_on": dt.date(2026, 5, 1), "approved_on": dt.date(2026, 4, 1)},
            "approved_on",
        ),
    ],
)
def test_inconsistent_funding_applications_are_refused(unit_a, reporter_a, fields, field):
    from django.core.exceptions import ValidationError

    from projects import services
    from projects.models import FundingApplication

    with pytest.raises(ValidationError) as refused_:
        services.funding_application_save(
            actor=reporter_a,
            unit=unit_a,
            year=2026,
            title="中央预算内投资申报",
            channel="central_budget",
            requested=Decimal("300"),
            **fields,
        )
    assert field in refused_.value.message_dict
    assert not FundingApplication.objects.exists()
