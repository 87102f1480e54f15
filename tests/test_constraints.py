"""Rules the database itself enforces, whatever path a write takes."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import translation

from projects.models import (
    Milestone,
    MilestoneRevision,
    Project,
    ProjectFunding,
    ProjectYearPlan,
    Target,
)
from tests.support.api import assert_error, bearer, make_token


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


# --- what a person is told: each constraint's own message, in Chinese, never its name --------

CHINESE = re.compile(r"[\u4e00-\u9fff]")
DOMAIN_APPS = ("projects", "supervision")


def _constraints():
    for label in DOMAIN_APPS:
        for model in apps.get_app_config(label).get_models():
            for constraint in model._meta.constraints:
                yield model, constraint


@pytest.mark.parametrize("constraint", [c for _m, c in _constraints()], ids=lambda c: c.name)
def test_every_constraint_says_in_chinese_what_is_wrong(constraint):
    assert constraint.violation_error_message != constraint.default_violation_error_message
    with translation.override("zh-hans"):
        message = str(constraint.get_violation_error_message())
    assert CHINESE.search(message), message
    assert constraint.name not in message


def test_full_clean_names_no_constraint(project_a):
    project_a.latitude = Decimal("999")
    project_a.red_card = True
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused_:
        project_a.full_clean()
    messages = [m for ms in refused_.value.message_dict.values() for m in ms]
    text = " ".join(messages)
    assert "纬度" in text or "90" in text
    assert "亮红牌须注明原因" in text
    assert "project_" not in text and "constraint" not in text.lower()


def test_a_latitude_of_999_is_refused_in_chinese_by_the_api(client, supervisor, project_a):
    headers = bearer(make_token(supervisor, write=True))
    response = client.patch(
        f"/api/v1/projects/{project_a.pk}/",
        {"latitude": "999"},
        content_type="application/json",
        headers={**headers, "If-Match": "*"},
    )
    body = assert_error(response, 400, "invalid")
    assert body["details"] == {"latitude": ["该值不能大于 90。"]}
    project_a.refresh_from_db()
    assert project_a.latitude is None
