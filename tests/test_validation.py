"""tracker.validation: all check constraints of a model validated in one query, with exactly the
errors Django's own ``Model.validate_constraints`` gives (compared directly, constraint by
constraint, message, code and field key)."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.db.models import CheckConstraint, F
from django.forms import modelform_factory
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from projects.models import (
    FundingApplication,
    ImportBatch,
    MilestoneRevision,
    ProgressReport,
    Project,
    ProjectFunding,
    ProjectYearPlan,
    StageChange,
    Target,
)
from supervision.models import (
    AlertRule,
    InspectionScore,
    Issue,
    ProjectNotice,
    RankingScheme,
    RankingSnapshot,
    SchemeMetric,
)
from tracker import validation

DAY = dt.date(2026, 5, 1)
stock = models.Model.validate_constraints  # Django's, one query (and savepoint) per constraint


def errors_of(validate, *args, **kwargs) -> dict[str, list[tuple]]:
    """The ValidationError dict a validation raises, as comparable values ({} if it passes)."""
    with translation.override("zh-hans"):
        try:
            validate(*args, **kwargs)
        except ValidationError as e:
            return {
                key: [(str(error.message), error.code, error.params) for error in errors]
                for key, errors in e.error_dict.items()
            }
    return {}


def assert_same_as_django(instance, exclude=None) -> dict[str, list[tuple]]:
    ours = errors_of(validation.validate_constraints, instance, exclude=exclude)
    assert ours == errors_of(stock, instance, exclude=exclude)
    return ours


def test_every_model_with_check_constraints_uses_it():
    for model in apps.get_models():
        if any(isinstance(c, CheckConstraint) for c in model._meta.constraints):
            assert model.validate_constraints is validation.validate_constraints, model


# Unsaved instances breaking every check constraint of their model (several at once).
BROKEN = {
    "year plan": lambda p: ProjectYearPlan(
        project=p,
        year=2026,
        planned_investment=Decimal("-1"),
        planned_start=DAY,
        planned_completion=DAY - dt.timedelta(days=1),
    ),
    "stage change": lambda p: StageChange(
        project=p, from_stage="construction", to_stage="construction", changed_on=DAY
    ),
    "milestone revision": lambda p: MilestoneRevision(
        previous_due_date=DAY, new_due_date=DAY, reason=""
    ),
    "report, submitted": lambda p: ProgressReport(
        project=p,
        period_start=DAY,
        period_end=DAY - dt.timedelta(days=1),
        investment=Decimal("-3"),
        status="submitted",
    ),
    "report, returned": lambda p: ProgressReport(
        project=p, period_start=DAY, period_end=DAY, status="returned", return_reason=""
    ),
    "funding": lambda p: ProjectFunding(project=p, source="bank_loan", planned=Decimal("-5")),
    "funding application": lambda p: FundingApplication(requested=Decimal("-1")),
    "target": lambda p: Target(
        year=2026, metric="funding", target_value=Decimal("0"), actual_value=Decimal("-1")
    ),
    "import batch": lambda p: ImportBatch(kind="progress", period_key=""),
    "ranking scheme": lambda p: RankingScheme(name="x", co_unit_weight=Decimal("2")),
    "scheme metric": lambda p: SchemeMetric(weight=Decimal("0")),
    "ranking snapshot": lambda p: RankingSnapshot(status="published", published_at=None),
    "alert rule": lambda p: AlertRule(key="x", yellow_at=Decimal("5"), red_at=Decimal("1")),
    "inspection score": lambda p: InspectionScore(score=Decimal("101")),
    "issue": lambda p: Issue(status="closed", closed_at=None, deadline=None),
    "notice": lambda p: ProjectNotice(project=p, kind="deadline", deadline=None),
}


@pytest.mark.parametrize("build", BROKEN.values(), ids=BROKEN.keys())
def test_violations_give_djangos_errors(project_a, build):
    instance = build(project_a)
    errors = assert_same_as_django(instance)
    assert errors  # each of them breaks something


def test_project_all_five_checks_and_the_unique_code(project_a, project_b):
    Project.objects.filter(pk=project_a.pk).update(code="XM-1")
    project_b.code = "XM-1"  # the single-field unique rule: filed under "code"
    project_b.total_investment = Decimal("-1")
    project_b.prior_investment = Decimal("-1")
    project_b.red_card = True
    project_b.red_card_reason = ""
    project_b.latitude = Decimal("999")
    project_b.longitude = Decimal("-500")
    errors = assert_same_as_django(project_b)
    assert set(errors) == {"__all__", "code"}
    assert len(errors["__all__"]) == 5
    assert errors["code"][0][1] == "unique"
    with translation.override("zh-hans"):
        assert str(Project._meta.constraints[3].violation_error_message) in {
            message for message, _code, _params in errors["__all__"]
        }


def test_valid_instances_pass(project_a):
    assert errors_of(validation.validate_constraints, project_a) == {}
    project_a.full_clean()
    plan = ProjectYearPlan(project=project_a, year=2026, planned_start=DAY, planned_completion=DAY)
    assert assert_same_as_django(plan) == {}


def test_a_constraint_using_an_excluded_field_is_skipped(project_a):
    report = BROKEN["report, submitted"](project_a)
    full = assert_same_as_django(report)
    # period_end >= F("period_start") cannot be checked without period_start: skipped, as Django.
    partial = assert_same_as_django(report, exclude={"period_start"})
    assert len(partial["__all__"]) == len(full["__all__"]) - 1
    # Every field excluded: nothing left to check.
    everything = {f.name for f in ProgressReport._meta.fields} | {"pk"}
    assert assert_same_as_django(report, exclude=everything) == {}


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        # Bound after total_investment, so every Q.check() fails to bind: all skipped.
        (F("prior_investment") - 1, 0),
        # Text minus one: a database error, Q.check() logs it and passes; the latitude counts.
        (F("name") + 1, 1),
        # Bound before: checked, and negative.
        (F("id") - F("id") - 1, 2),
    ],
    ids=["later field", "query error", "earlier field"],
)
def test_an_expression_assigned_to_a_field_is_validated_as_django_does(project_a, value, refused):
    project_a.total_investment = value
    project_a.latitude = Decimal("999")
    with transaction.atomic():
        errors = assert_same_as_django(project_a)
        assert Project.objects.filter(pk=project_a.pk).exists()
    assert len(errors.get("__all__", [])) == refused


def test_full_clean_and_model_forms_give_djangos_errors(project_a, monkeypatch):
    def plan():
        return ProjectYearPlan(
            project=project_a,
            year=2026,
            planned_investment=Decimal("-1"),
            planned_start=DAY,
            planned_completion=DAY - dt.timedelta(days=1),
        )

    PlanForm = modelform_factory(
        ProjectYearPlan, fields=["year", "planned_investment", "planned_completion"]
    )
    data = {"year": "2026", "planned_investment": "-1", "planned_completion": "2026-04-30"}

    def form_errors():
        form = PlanForm(data, instance=plan())
        with translation.override("zh-hans"):
            return form.errors.get_json_data()

    with CaptureQueriesContext(connection) as queries:
        ours = errors_of(plan().full_clean), form_errors()
    assert sum('"_check_0"' in q["sql"] for q in queries) == 2  # the one query, each time
    monkeypatch.setattr(ProjectYearPlan, "validate_constraints", stock)
    assert ours == (errors_of(plan().full_clean), form_errors())
    # clean() already files the date order under planned_completion, so full_clean() excludes
    # that field and the constraint using it is skipped: only the amount is left, as in Django.
    assert ours[0] == {
        "planned_completion": [("计划完工日期早于计划开工日期。", None, None)],
        "__all__": [("计划投资不能为负数。", None, None)],
    }


def check_queries(captured) -> list[str]:
    """Q.check()'s queries ("SELECT 1 AS _check WHERE ...") and ours ("... AS _check_0, ...")."""
    return [q["sql"] for q in captured if '"_check' in q["sql"]]


def test_one_query_and_one_savepoint_for_all_check_constraints(project_a):
    revision = BROKEN["milestone revision"](project_a)  # two check constraints, nothing else
    assert connection.in_atomic_block  # as in the services: inside transaction.atomic
    with CaptureQueriesContext(connection) as ours:
        errors_of(validation.validate_constraints, revision)
    with CaptureQueriesContext(connection) as djangos:
        errors_of(stock, revision)
    assert len(djangos) == 3 * 2  # SAVEPOINT, SELECT, RELEASE SAVEPOINT per constraint
    assert len(ours) == 3
    assert ours[0]["sql"].startswith("SAVEPOINT")
    assert ours[2]["sql"].startswith("RELEASE SAVEPOINT")
    assert len(check_queries(ours)) == 1

    # The project: five check constraints in one query instead of five; its unique constraint
    # (with a condition, so a Q.check() of its own) is validated as Django does.
    with CaptureQueriesContext(connection) as ours:
        validation.validate_constraints(project_a)
    with CaptureQueriesContext(connection) as djangos:
        stock(project_a)
    assert len(check_queries(djangos)) == 5 + 1
    assert len(check_queries(ours)) == 1 + 1
    batched = check_queries(ours)[0]
    assert '"_check_4"' in batched and '"_check_5"' not in batched
    assert len(djangos) - len(ours) == 3 * 5 - 3


def test_a_violation_leaves_the_outer_transaction_usable(project_a):
    with transaction.atomic():
        project_a.latitude = Decimal("999")
        with pytest.raises(ValidationError):
            validation.validate_constraints(project_a)
        assert Project.objects.filter(pk=project_a.pk).exists()


def test_a_database_error_falls_back_to_djangos_per_constraint_checks(project_a, caplog):
    # A number PostgreSQL cannot hold: the one query fails. Its savepoint keeps the outer
    # transaction usable, and each constraint is then checked on its own, as Django does: the
    # one the database cannot evaluate passes (and is logged), the others still count.
    # (full_clean() would not get here: the field's own validation excludes the value.)
    project_a.total_investment = Decimal("-1e200000")
    project_a.latitude = Decimal("999")
    with transaction.atomic(), caplog.at_level(logging.WARNING, logger="django.db.models"):
        ours = errors_of(validation.validate_constraints, project_a)
        assert "database error calling check()" in caplog.text  # Django's Q.check() ran
        assert Project.objects.filter(pk=project_a.pk).exists()
        assert ours == errors_of(stock, project_a)
    assert len(ours["__all__"]) == 1  # the latitude
