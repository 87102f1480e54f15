"""Property-based conformance of the REST API to its own OpenAPI schema (Schemathesis).

Every operation of the schema that drf-spectacular generates (the one served at /api/schema/) is
called in-process through the WSGI application with Hypothesis-generated inputs, authenticated as
a county supervisor with a READ-WRITE token over a small real data set. Each response must pass:

- ``not_a_server_error``: no 5xx;
- ``status_code_conformance``: the status code is documented for the operation;
- ``content_type_conformance``: the Content-Type is one the operation documents;
- ``response_schema_conformance``: the body validates against the documented schema.

Writes: the token may write, so POST/PUT/PATCH/DELETE operations (those the schema documents) are
exercised too. The data set is built once for the module in a transaction rolled back at its end;
each test runs in a savepoint of it (pytest-django ``db``) and each example in a savepoint rolled
back after its request, so every example starts from the same data set (writes are checked on
their response, and do not leak into later examples or tests). The run is
bounded and deterministic: ``MAX_EXAMPLES`` examples per operation, ``derandomize=True``, no
deadline, and only the generate phase (no example database, no shrinking), so a failure is
reported as found and the same one is found again on the next run.

Schemathesis generates both valid (positive) and invalid (negative) inputs, its default. The schema
is generated when the module is imported, so new endpoints are picked up without editing this file.

Regression tests at the end pin the four bugs this test found when it was written: an
out-of-range ``page`` was an undocumented 404 (now a documented 400); a date-time filter with a UTC
offset of 16h or more was a 500 (PostgreSQL refuses it; now converted to UTC); blank read-only
choices were served as "" but documented without it; an unsafe request to an unknown /api/ URL got
Django's HTML CSRF page instead of the JSON 404.

Throttling is lifted for the module (a 429 after hundreds of calls would be the throttle doing its
job, not a schema bug), and the cache holding the throttle counters is emptied before each test.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client, override_settings
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.api_world import build_api_world
from tests.support.worlds import built_once

MAX_EXAMPLES = 25

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

APP = get_wsgi_application()

# The schema exactly as /api/schema/ serves it, generated when the module is imported so that each
# operation becomes its own test item (…[GET /api/v1/projects/] and so on).
RAW_SCHEMA = SchemaGenerator().get_schema(request=None, public=True)

schema = schemathesis.openapi.from_dict(RAW_SCHEMA)
schema.app = APP
raw_schema = schemathesis.openapi.from_dict(RAW_SCHEMA)
raw_schema.app = APP


@pytest.fixture(scope="module")
def _keep_the_test_connection():
    """Let in-process WSGI requests use the test's transaction, as Django's test client does.

    The real WSGI handler closes "old" connections at the start and end of every request; inside
    the test transaction that would close the connection the test data lives on.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def _api_world(django_db_setup, django_db_blocker, _keep_the_test_connection):
    """The county of tests/support/api_world.py, built once for the module; the header of its
    supervisor's READ-WRITE token."""
    unthrottled = override_settings(
        REST_FRAMEWORK={
            **django_settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"token": "1000000/minute", "anon": "1000000/minute"},
        }
    )
    with built_once(django_db_blocker), unthrottled:
        yield build_api_world(dt.date(2026, 11, 21)).headers


@pytest.fixture
def api_world(_api_world, db):
    """The module's world; each test runs in a savepoint of it (pytest-django's ``db``)."""
    return _api_world


SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)


def is_list_operation(operation) -> bool:
    return (
        operation.method.upper() == "GET"
        and "{" not in operation.path
        and any(p.name == "page" for p in operation.query)
    )


def _json_code(response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


# DRF's SimpleRouter matches a path parameter with [^/.]+; anything else reaches no view.
ROUTABLE = re.compile(r"[^/.]+")
# PostgreSQL accepts UTC offsets up to ±15:59.
OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)$")
DATE_TIME_FILTERS = {"updated_since", "since"}


@schema.parametrize()
@SETTINGS
def test_api_conforms_to_its_schema(case, api_world):
    # Each example runs in its own savepoint, rolled back afterwards: every example sees the same
    # data set, and a request that breaks the transaction (a 500 from a database error) does not
    # turn every later request of the test into "current transaction is aborted".
    savepoint = transaction.savepoint()
    try:
        response = case.call(headers=api_world)
    finally:
        transaction.savepoint_rollback(savepoint)
    case.validate_response(response, checks=CHECKS, headers=api_world)


# --- the known bugs, each reproduced on its own and expected to fail until it is fixed -----------

OPERATIONS = [result.ok() for result in raw_schema.get_all_operations()]
LIST_OPERATIONS = [op.path for op in OPERATIONS if is_list_operation(op)]
DATE_TIME_FILTER_OPERATIONS = [
    (op.path, p.name)
    for op in OPERATIONS
    if op.method.upper() == "GET"
    for p in op.query
    if p.name in DATE_TIME_FILTERS
]


@pytest.mark.parametrize("path", LIST_OPERATIONS)
@pytest.mark.parametrize("page", ["0", "999"])
def test_a_page_that_does_not_exist_is_a_documented_400(api_world, path, page):
    case = raw_schema[path]["GET"].Case(query={"page": page})
    response = case.call(headers=api_world)
    assert response.status_code == 400, response.text
    assert "page" in response.json()["details"]
    case.validate_response(response, checks=[status_code_conformance], headers=api_world)


@pytest.mark.parametrize(("path", "param"), DATE_TIME_FILTER_OPERATIONS)
def test_date_time_filter_with_a_large_utc_offset_is_not_a_server_error(api_world, path, param):
    case = raw_schema[path]["GET"].Case(query={param: "2026-01-01T00:00:00+16:00"})
    response = case.call(headers=api_world)
    case.validate_response(response, checks=[not_a_server_error], headers=api_world)


@pytest.mark.parametrize("path", ["/api/v1/projects/", "/api/v1/stage-changes/"])
def test_blank_read_only_choices_are_documented(api_world, path):
    case = raw_schema[path]["GET"].Case(query={})
    response = case.call(headers=api_world)
    assert response.status_code == 200, response.text
    case.validate_response(response, checks=[response_schema_conformance], headers=api_world)


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unsafe_request_to_an_unknown_api_url_is_a_json_404(api_world, method):
    # Django's test client skips CSRF checks unless told otherwise; real clients do not.
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(
        "/api/v1/projects/0.5/", data={}, content_type="application/json", headers=api_world
    )
    assert response["Content-Type"].startswith("application/json"), response.status_code
    assert response.status_code == 404
