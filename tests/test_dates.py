"""Dates stay plausible: every date a person or a client enters lies between 2000-01-01 and
2100-12-31 (tracker.dates), in model fields, forms, API fields, query parameters and ledger
imports, each refused with the same Chinese message and nothing stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import translation

from projects import ledger_parse
from projects.models import Milestone, StageChange
from tests import factories
from tests.support.api import assert_error, bearer, make_token
from tracker.dates import validate_plausible_date

WINDOW = "请填写 2000-01-01 至 2100-12-31 之间的日期"
IMPLAUSIBLE = ["0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31"]


def test_every_date_field_of_the_domain_keeps_to_the_window():
    fields = [
        f"{model._meta.label}.{field.name}"
        for label in ("projects", "supervision")
        for model in apps.get_app_config(label).get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, models.DateField)
        and not isinstance(field, models.DateTimeField)
        and validate_plausible_date not in field.validators
        and not model._meta.label.split(".")[1].startswith("Historical")
    ]
    assert not fields


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_model_refuses_an_implausible_date(project_a, day):
    milestone = Milestone(
        project=project_a,
        name="开工",
        due_date=dt.date.fromisoformat(day),
        original_due_date=dt.date(2026, 5, 1),
    )
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        milestone.full_clean()
    assert refused.value.message_dict == {"due_date": [f"{WINDOW}。"]}


@pytest.mark.parametrize("day", IMPLAUSIBLE)
def test_a_form_refuses_an_implausible_date_and_keeps_the_input(client, reporter_a, project_a, day):
    client.force_login(reporter_a)
    response = client.post(
        reverse("project_stage", args=[project_a.pk]),
        {"to_stage": "preparing", "changed_on": day, "note": "可研已批复"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert WINDOW in page and "可研已批复" in page
    assert not StageChange.objects.filter(project=project_a, to_stage="preparing").exists()


def test_date_pickers_offer_the_window_only(client, reporter_a, project_a):
    client.force_login(reporter_a)
    page = client.get(reverse("project_detail", args=[project_a.pk])).content.decode()
    assert 'type="date"' in page
    assert 'min="2000-01-01"' in page and 'max="2100-12-31"' in page


@pytest.mark.parametrize("day", IMPLAUSIBLE)
def test_the_api_refuses_an_implausible_date(client, reporter_a, project_a, day):
    milestone = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 12, 1)
    )
    response = client.post(
        f"/api/v1/milestones/{milestone.pk}/revise/",
        {"new_due_date": day, "reason": "用地报批延后"},
        content_type="application/json",
        headers=bearer(make_token(reporter_a, write=True)),
    )
    body = assert_error(response, 400, "invalid")
    assert body["details"] == {"new_due_date": [f"{WINDOW}。"]}
    milestone.refresh_from_db()
    assert milestone.due_date == dt.date(2026, 12, 1) and milestone.version == 1


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/projects/", {"updated_since": "1970-01-01T00:00:00+08:00"}),
        ("/api/v1/tombstones/", {"since": "0001-01-01T00:00:00+08:00"}),
        ("/api/v1/meetings/", {"held_on_after": "0001-01-01"}),
        ("/api/v1/project-notices/", {"issued_on_before": "9999-12-31"}),
        ("/api/v1/dashboard/", {"date": "1999-12-31"}),
    ],
)
def test_date_query_parameters_refuse_implausible_dates(client, supervisor, path, params):
    response = client.get(path, params, headers=bearer(make_token(supervisor)))
    body = assert_error(response, 400, "invalid")
    assert [WINDOW in m for ms in body["details"].values() for m in ms] == [True]


def test_a_list_filter_of_the_site_says_the_date_is_implausible(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("issue_list"), {"raised_after": "0001-01-01"})
    assert response.status_code == 200
    assert WINDOW in response.content.decode()


# openpyxl reads date cells as naive datetimes.
EXCEL_1900 = dt.datetime(1900, 1, 1)  # noqa: DTZ001
EXCEL_2000 = dt.datetime(2000, 1, 1, 8)  # noqa: DTZ001


@pytest.mark.parametrize("cell", ["1999-12-31", "1999年3月", EXCEL_1900, dt.date(2222, 2, 2)])
def test_a_ledger_cell_with_an_implausible_date_is_refused(cell):
    with translation.override("zh-hans"), pytest.raises(ledger_parse.CellError, match=WINDOW):
        ledger_parse.parse_date(cell, year=2026)


def test_a_ledger_cell_inside_the_window_is_read():
    assert ledger_parse.parse_date("2026年3月", year=2026) == dt.date(2026, 3, 1)
    assert ledger_parse.parse_date(EXCEL_2000, year=2026) == dt.date(2000, 1, 1)
