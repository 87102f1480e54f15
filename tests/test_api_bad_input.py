"""Every bad request to the API is a 4xx with a Chinese message, and changes nothing.

For every write operation of the schema drf-spectacular generates (the one /api/schema/ serves,
so a new endpoint is covered without editing this file) a catalogue of bad bodies is sent as a
county supervisor with a READ-WRITE token: not JSON, empty, an array, a bare value, JSON nested
too deep, a body too large, an unknown field, and for each field of the request body a value of
the wrong type, a huge string, numbers out of range, impossible or implausible dates and ids of
objects that do not exist. Each answer must be a 4xx (never a 5xx), a JSON error whose message
and every detail contain Chinese, and nothing may have been written to the database
(PostgreSQL's count of rows written in the transaction does not move).

The module's data set is built once (tests/support/api_world.py) and each case runs in a
savepoint rolled back after it. Throttling is lifted: a 429 after hundreds of calls would be the
throttle doing its job. The run takes some seconds: about a thousand requests.

Below the catalogue, the rules it relies on are tested one by one: DRF's own messages are in our
catalog without changing Django's, constraints speak Chinese, and a write that races another
into the database's constraint gets a 409 in Chinese, not a 500.
"""

from __future__ import annotations

import datetime as dt
import gettext as gettext_module
import inspect
import json
import re
from dataclasses import dataclass
from pathlib import Path

import django
import pytest
import rest_framework.exceptions
import rest_framework.fields
import rest_framework.pagination
import rest_framework.relations
import rest_framework.serializers
import rest_framework.validators
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import override_settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from drf_spectacular.generators import SchemaGenerator
from rest_framework.validators import UniqueValidator

from projects.api import drf_messages as drf_messages_module
from projects.api.parsers import MAX_DEPTH, nesting_depth_exceeds
from projects.api.serializers import TEXT_MAX_LENGTH
from projects.models import ApiToken, Project
from supervision.issues import services as ledger
from tests.support.api import assert_error
from tests.support.api_world import build_api_world
from tests.support.worlds import built_once

CHINESE = re.compile(r"[\u4e00-\u9fff]")
HUGE = "长" * (TEXT_MAX_LENGTH + 1)  # longer than any field takes, well under the body limit
MISSING_ID = 2_000_000_000  # fits a PostgreSQL integer, names nothing
OUT_OF_RANGE = 10**20  # beyond a PostgreSQL bigint

RAW_SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
COMPONENTS = RAW_SCHEMA["components"]["schemas"]


def resolve(schema: dict) -> dict:
    """A property's schema with references, single allOf and the oneOf of blank choices
    followed."""
    if "$ref" in schema:
        return resolve(COMPONENTS[schema["$ref"].rsplit("/", 1)[-1]])
    if "allOf" in schema:
        return resolve(schema["allOf"][0])
    if "oneOf" in schema:
        return resolve(next(s for s in schema["oneOf"] if "BlankEnum" not in s.get("$ref", "")))
    return schema


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    body: dict  # the JSON request body's schema

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


WRITE_OPERATIONS = [
    Operation(method, path, resolve(op["requestBody"]["content"]["application/json"]["schema"]))
    for path, operations in RAW_SCHEMA["paths"].items()
    for method, op in operations.items()
    if method in {"post", "put", "patch", "delete"}
    # Actions without a body (submit, approve, mark read) have no body to get wrong.
    and "application/json" in op.get("requestBody", {}).get("content", {})
]


# --- the catalogue ----------------------------------------------------------------------------


def _nested(depth: int) -> str:
    return '{"x": ' + "[" * depth + "]" * depth + "}"


def _wrong_values(schema: dict) -> list[object]:
    """For a field of ``schema``: a value of the wrong type, and the values most likely to pass
    a field's own check and break something behind it (out of range, implausible, naming
    nothing, too long)."""
    kind, fmt = schema.get("type"), schema.get("format")
    if "enum" in schema:
        return ["no-such-choice"]
    if kind == "boolean":
        return ["maybe"]
    if kind == "integer":
        values: list[object] = ["abc", MISSING_ID]
        values.append(schema["maximum"] + 1 if "maximum" in schema else OUT_OF_RANGE)
        if "minimum" in schema:
            values.append(schema["minimum"] - 1)
        return values
    if kind == "number" or fmt == "decimal":
        return ["abc", "1e20", "-1e20"]
    if fmt == "date":
        return ["0001-01-01", "9999-12-31", "2026-02-30"]
    if kind == "string":
        return [{"a": 1}, HUGE]
    if kind == "array":
        item = resolve(schema["items"])
        if item.get("type") == "object":
            # A row of a batch, bad through the one wrong value it carries.
            return ["abc", *([{name: value}] for name, value in _each_wrong(item))]
        return ["abc", *([value] for value in _wrong_values(item))]
    raise AssertionError(f"no bad values for {schema}")  # a new kind of field: add it here


def _each_wrong(schema: dict):
    for name, field in schema.get("properties", {}).items():
        field = resolve(field)
        if not field.get("readOnly"):
            for value in _wrong_values(field):
                yield name, value


def catalogue(operation: Operation) -> list[tuple[str, bytes]]:
    """(what, body) pairs, every one of them bad for ``operation``."""
    cases: list[tuple[str, bytes]] = [
        ("not JSON", b'{"title": "unterminated'),
        ("not UTF-8", b'{"title": "\xff\xfe"}'),
        ("an array", b"[]"),
        ("an array of an object", b"[{}]"),
        ("null", b"null"),
        ("a bare string", b'"text"'),
        ("NaN", b'{"x": NaN}'),
        ("nested 40 deep", _nested(40).encode()),
        ("nested 100000 deep", _nested(100_000).encode()),
        ("too large", b'{"x": "' + b"a" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'),
        ("an unknown field", b'{"no_such_field": 1}'),
    ]
    if operation.body.get("required"):
        cases += [("empty", b""), ("an empty object", b"{}")]
    for name, value in _each_wrong(operation.body):
        shown = repr(value) if len(repr(value)) < 40 else f"{repr(value)[:30]}…"
        cases.append((f"{name}={shown}", json.dumps({name: value}).encode()))
    return cases


# --- the database's fingerprint ---------------------------------------------------------------

# Rows inserted, updated or deleted so far in this transaction, in any table: PostgreSQL counts
# them per transaction, savepoints included (the counts stay after a rollback to a savepoint),
# so a request that wrote anything, anywhere, moves it. One cheap query per case, where counting
# rows and latest changes of every table would cost a query over some seventy tables. The API
# token's "last used" time is written by any request, good or bad (projects.tokens), and left out.
WRITES_SQL = (
    "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables "
    "WHERE relname <> %s"
)


def fingerprint() -> int:
    with connection.cursor() as cursor:
        cursor.execute(WRITES_SQL, [ApiToken._meta.db_table])
        return cursor.fetchone()[0]


# --- the module's data set --------------------------------------------------------------------


@pytest.fixture(scope="module")
def _world(django_db_setup, django_db_blocker):
    unthrottled = override_settings(
        REST_FRAMEWORK={
            **django_settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {"token": "1000000/minute", "anon": "1000000/minute"},
        }
    )
    with built_once(django_db_blocker), unthrottled:
        world = build_api_world(dt.date(2026, 11, 21))
        # An issue on the ledger, so that every issue action meets a real one.
        ledger.issue_raise(
            actor=world.supervisor,
            title="征地拆迁滞后",
            source="upper",
            category="land_acquisition",
            unit=world.unit_a,
            deadline=dt.date(2026, 12, 31),
            project=world.project_a,
        )
        yield world


@pytest.fixture
def world(_world, db, today):
    return _world


def _existing_id(client, headers, path: str) -> int:
    """The id of an object the path's {id} can name: the first of the resource's list."""
    listing = path.split("{", 1)[0]
    response = client.get(listing, headers=headers)
    assert response.status_code == 200, (listing, response.content[:300])
    results = response.json()["results"]
    assert results, f"the data set has nothing at {listing}: add one to tests/support/api_world"
    return results[0]["id"]


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _problem(response, before: int) -> str | None:
    """What is wrong with the answer to a bad body, or None."""
    if not 400 <= response.status_code < 500:
        return f"status {response.status_code}: {response.content[:200]!r}"
    if not response.get("Content-Type", "").startswith("application/json"):
        return f"not JSON: {response.get('Content-Type')}"
    body = response.json()
    if not CHINESE.search(body.get("message", "")):
        return f"message not in Chinese: {body.get('message')!r}"
    english = [s for s in _strings(body.get("details", {})) if not CHINESE.search(s)]
    if english:
        return f"details not in Chinese: {english[:3]}"
    if fingerprint() != before:
        return "the database changed"
    return None


@pytest.mark.parametrize("operation", WRITE_OPERATIONS, ids=str)
def test_every_bad_body_is_a_4xx_in_chinese_and_changes_nothing(client, world, operation):
    path = operation.path
    if "{id}" in path:
        path = path.replace("{id}", str(_existing_id(client, world.headers, path)))
    headers = {**world.headers, "If-Match": "*"}  # past the version check, to the body
    failures = []
    for what, body in catalogue(operation):
        savepoint = transaction.savepoint()
        before = fingerprint()
        try:
            response = getattr(client, operation.method)(
                path, data=body, content_type="application/json", headers=headers
            )
            problem = _problem(response, before)
        finally:
            transaction.savepoint_rollback(savepoint)
        if problem:
            failures.append(f"{what}: {problem}")
    assert not failures, "\n".join(failures)


def test_the_fingerprint_sees_a_write(client, world):
    # The check above is not vacuous: a good request that writes moves it.
    before = fingerprint()
    project = world.project_a
    response = client.patch(
        f"/api/v1/projects/{project.pk}/",
        data={"remarks": "已核实"},
        content_type="application/json",
        headers={**world.headers, "If-Match": "*"},
    )
    assert response.status_code == 200, response.content[:300]
    assert fingerprint() != before


def test_the_catalogue_covers_the_api():
    # The schema is read, not listed by hand: new endpoints join the catalogue by themselves.
    assert len(WRITE_OPERATIONS) >= 40
    assert {"post", "put", "patch"} <= {op.method for op in WRITE_OPERATIONS}


# --- DRF's own messages -----------------------------------------------------------------------

DRF_MODULES = [
    rest_framework.fields,
    rest_framework.serializers,
    rest_framework.relations,
    rest_framework.validators,
    rest_framework.exceptions,
    rest_framework.pagination,
]
# Texts of the browsable API and of pagination's schema, not errors.
NOT_ERRORS = {"html_cutoff_text", "page_query_description", "page_size_query_description"}
NOT_ERRORS |= {"limit_query_description", "offset_query_description"}
NOT_ERRORS |= {"cursor_query_description"}


def drf_messages() -> dict[str, str]:
    """msgid → where, for every lazily translated message DRF's classes carry."""
    found: dict[str, str] = {}
    for module in DRF_MODULES:
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if not cls.__module__.startswith("rest_framework"):
                continue
            for attribute, value in vars(cls).items():
                values = value.items() if isinstance(value, dict) else [(None, value)]
                for key, text in values:
                    if isinstance(text, Promise) and attribute not in NOT_ERRORS:
                        found.setdefault(text._args[0], f"{name}.{attribute}[{key}]")
    return found


def test_every_error_message_drf_can_return_comes_out_in_chinese():
    messages = drf_messages()
    assert len(messages) > 70  # the enumeration works
    placeholders = re.compile(r"\{(\w+)(?::\w+)?\}")
    with translation.override("zh-hans"):
        english = {
            where: msgid
            for msgid, where in messages.items()
            if not CHINESE.search(
                gettext(msgid).format(**dict.fromkeys(placeholders.findall(msgid), 1))
            )
        }
    assert not english, english


def test_our_catalog_adds_drf_messages_without_changing_djangos():
    # Django translates "This field is required." on every form; our catalog must not give it
    # (or any message Django has) a second translation (the reason rest_framework is not an app).
    django_catalog = gettext_module.translation(
        "django", str(Path(django.__file__).parent / "conf" / "locale"), ["zh_Hans"]
    )
    listed = set(drf_messages_module.MESSAGES)
    assert listed <= set(drf_messages())
    assert not {m for m in listed if django_catalog.gettext(m) != m}
    with translation.override("zh-hans"):
        assert gettext("This field is required.") == django_catalog.gettext(
            "This field is required."
        )


# --- bodies the parser refuses ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "too_deep"),
    [
        ("[" * 32 + "]" * 32, False),
        ("[" * 33 + "]" * 33, True),
        ('{"a": "' + "[" * 100 + '"}', False),  # brackets inside a string are text
        ('{"a": "\\"' + "{" * 100 + '"}', False),  # an escaped quote does not end the string
        ('{"a": [{"b": [{"c": []}]}]}', False),
    ],
)
def test_nesting_is_measured_outside_strings(text, too_deep):
    assert nesting_depth_exceeds(text, MAX_DEPTH) is too_deep


def test_json_nested_at_the_limit_reaches_the_serializer(client, world):
    # 32 levels are parsed (and then refused by the serializer), 33 are refused by the parser.
    url = f"/api/v1/projects/{world.project_a.pk}/"
    headers = {**world.headers, "If-Match": "*"}
    for depth, code in [(MAX_DEPTH - 1, "invalid"), (MAX_DEPTH, "nested_too_deeply")]:
        body = '{"tags": ' + "[" * depth + "]" * depth + "}"
        response = client.patch(url, data=body, content_type="application/json", headers=headers)
        assert_error(response, 400, code)


def test_an_oversized_body_is_a_413_before_it_is_read(client, world):
    body = b'{"remarks": "' + b"a" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    response = client.post(
        "/api/v1/projects/", data=body, content_type="application/json", headers=world.headers
    )
    error = assert_error(response, 413, "request_too_large")
    assert error["message"] == "提交的数据过大：每次最多提交 2.5 MB。"
    assert error["details"] == {"max_bytes": django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE}


def test_an_oversized_form_is_a_chinese_page_of_the_site(client, world):
    client.force_login(world.supervisor)
    response = client.post(
        "/projects/new/", {"name": "a" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
    )
    assert response.status_code == 413
    page = response.content.decode()
    assert "提交的数据过多" in page and "每次最多提交 2.5 MB" in page
    assert "我的工作台" in page  # inside the site's layout, with its menu


def test_uploads_are_left_to_their_own_limits(client, world):
    # Files in a multipart body do not count against the body limit (photos and attachments
    # have their own): a large upload reaches the view, here a 404 for an issue that is not.
    upload = SimpleUploadedFile("现场.pdf", b"%PDF-" + b"0" * 3_000_000)
    response = client.post(
        f"/api/v1/issues/{MISSING_ID}/respond/",
        {"text": "已整改", "files": [upload]},
        headers=world.headers,
    )
    assert response.status_code == 404


# --- writes that race into a constraint -------------------------------------------------------


@pytest.fixture
def raced(monkeypatch):
    """The moment two requests race: each checked before the other wrote (the API's uniqueness
    check, the model's constraints), so the checks pass and the database refuses the insert."""
    monkeypatch.setattr(Project, "validate_constraints", lambda self, exclude=None: None)
    monkeypatch.setattr(UniqueValidator, "__call__", lambda self, value, field: None)


def test_a_write_the_database_refuses_is_a_409_in_chinese(client, world, raced):
    Project.objects.filter(pk=world.project_a.pk).update(code="2026-520100-48-01-000001")
    before = Project.objects.count()
    response = client.post(
        "/api/v1/projects/",
        {
            "name": "同代码项目",
            "category": "transport",
            "lead_unit": world.unit_a.pk,
            "code": "2026-520100-48-01-000001",
        },
        content_type="application/json",
        headers=world.headers,
    )
    error = assert_error(response, 409, "conflict")
    assert error["message"] == "该项目代码已被其他项目使用。请刷新查看已保存的内容后重试。"
    assert Project.objects.count() == before


def test_a_page_whose_write_the_database_refuses_says_why(client, world, raced):
    Project.objects.filter(pk=world.project_a.pk).update(code="2026-520100-48-01-000001")
    client.force_login(world.supervisor)
    before = Project.objects.count()
    response = client.post(
        "/projects/new/",
        {
            "name": "同代码项目",
            "kind": "project",
            "level": "county",
            "category": "transport",
            "lead_unit": world.unit_a.pk,
            "code": "2026-520100-48-01-000001",
            "total_investment": "100",
            "prior_investment": "0",
        },
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "该项目代码已被其他项目使用" in page and "未保存" in page
    assert Project.objects.count() == before


def _boolean_filters() -> list[tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (path, parameter["name"])
        for path, operations in schema["paths"].items()
        if "{" not in path and "get" in operations
        for parameter in operations["get"].get("parameters", [])
        if parameter["in"] == "query" and parameter.get("schema", {}).get("type") == "boolean"
    )


BOOLEAN_FILTERS = _boolean_filters()


def test_the_api_has_boolean_filters_to_check():
    assert len(BOOLEAN_FILTERS) >= 8


@pytest.mark.parametrize(("path", "name"), BOOLEAN_FILTERS)
def test_a_yes_no_filter_refuses_what_is_neither(client, world, path, name):
    """ "maybe" used to be read as no filter at all: the client silently got everything."""
    body = assert_error(client.get(f"{path}?{name}=maybe", headers=world.headers), 400, "invalid")
    assert body["details"][name] == ["请填写 true 或 false。"]
    for value in ("true", "false", "1", "0", "True"):
        assert client.get(f"{path}?{name}={value}", headers=world.headers).status_code == 200
