"""The REST API foundation: tokens, authentication, scope, errors, pagination, schema, docs."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.test import Client
from django.urls import reverse

from projects import tokens
from projects.models import ApiToken, Role, Unit
from tests import factories
from tests.support.api import assert_error, bearer, make_token

# --- create_api_token ---------------------------------------------------------------------------


def test_command_prints_the_token_once_and_stores_only_its_hash(reporter_a):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "create_api_token",
        "reporter_a",
        "--write",
        "--name",
        "统计导出",
        "--expires-days",
        "30",
        stdout=out,
        stderr=err,
    )
    secret = out.getvalue().strip()
    assert re.fullmatch(r"trk_[A-Za-z0-9_-]{43}", secret)
    assert secret not in err.getvalue()
    token = ApiToken.objects.get(user=reporter_a)
    assert token.name == "统计导出"
    assert token.write is True
    assert token.prefix == secret[4:12]
    assert token.token_hash == tokens.hash_secret(secret)
    assert secret not in {token.token_hash, token.prefix, token.name}
    assert token.expires_at is not None
    assert token.is_active()


def test_command_defaults_to_read_only_and_refuses_unknown_user(reporter_a):
    call_command("create_api_token", "reporter_a", stdout=io.StringIO(), stderr=io.StringIO())
    assert ApiToken.objects.get(user=reporter_a).write is False
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_token", "nobody", stdout=io.StringIO(), stderr=io.StringIO())


# --- authentication ------------------------------------------------------------------------------


def test_bearer_token_authenticates(client, reporter_a):
    response = client.get("/api/v1/me/", headers=bearer(make_token(reporter_a)))
    assert response.status_code == 200
    assert response.json()["username"] == "reporter_a"


@pytest.mark.parametrize(
    ("state", "code"),
    [("wrong", "token_invalid"), ("revoked", "token_revoked"), ("expired", "token_expired")],
)
def test_bad_token_is_401_json(client, reporter_a, today, state, code):
    secret = make_token(reporter_a, expires_at=dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=1))
    token = ApiToken.objects.get(user=reporter_a)
    if state == "wrong":
        secret = secret[:12] + ("A" if secret[12] != "A" else "B") + secret[13:]
    elif state == "revoked":
        tokens.token_revoke(token=token, actor=reporter_a)
    with time_machine.travel(dt.timedelta(days=2) if state == "expired" else dt.timedelta(0)):
        response = client.get("/api/v1/units/", headers=bearer(secret))
    assert_error(response, 401, code)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_malformed_authorization_header_is_401(client, reporter_a):
    response = client.get("/api/v1/units/", headers={"Authorization": "Bearer a b"})
    assert_error(response, 401, "token_invalid")


def test_anonymous_is_401_json_with_www_authenticate(client, county):
    response = client.get("/api/v1/units/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_disabled_user_token_is_401(client, reporter_a):
    secret = make_token(reporter_a)
    reporter_a.is_active = False
    reporter_a.save()
    assert_error(client.get("/api/v1/me/", headers=bearer(secret)), 401, "user_inactive")


def test_session_user_works_on_the_api_and_csrf_is_enforced_on_writes(reporter_a):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reporter_a)
    response = browser.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["scope"] == "session"
    assert response.json()["token"] is None
    assert_error(browser.post("/api/v1/units/", {}), 403, "csrf_failed")


# --- token scope ---------------------------------------------------------------------------------


def test_read_token_cannot_write_even_if_the_user_could(client, supervisor):
    units_before = Unit.objects.count()
    response = client.post(
        "/api/v1/units/",
        data={"name": "新单位", "kind": "department"},
        content_type="application/json",
        headers=bearer(make_token(supervisor)),
    )
    assert_error(response, 403, "token_read_only")
    assert Unit.objects.count() == units_before


def test_write_token_meets_a_read_only_endpoint(client, supervisor):
    units_before = Unit.objects.count()
    response = client.post(
        "/api/v1/units/",
        data={"name": "新单位", "kind": "department"},
        content_type="application/json",
        headers=bearer(make_token(supervisor, write=True)),
    )
    assert_error(response, 405, "method_not_allowed")
    assert Unit.objects.count() == units_before


# --- unit scope ----------------------------------------------------------------------------------


@pytest.fixture
def section_a(unit_a):
    return factories.UnitFactory(name="养护科", parent=unit_a)


def unit_names(client, user) -> set[str]:
    response = client.get("/api/v1/units/", headers=bearer(make_token(user)))
    assert response.status_code == 200
    return {u["name"] for u in response.json()["results"]}


def test_reporter_sees_only_the_subtree_of_their_unit(client, reporter_a, unit_b, section_a):
    assert unit_names(client, reporter_a) == {"交通运输局", "养护科"}


def test_supervisor_of_the_county_sees_all_of_it(client, supervisor, unit_a, unit_b, section_a):
    assert unit_names(client, supervisor) == {"示范县", "交通运输局", "水利局", "养护科"}


@pytest.mark.parametrize(
    ("persona", "status"),
    [("anonymous", 401), ("reporter_b", 404), ("reporter_a", 200), ("supervisor", 200)],
)
def test_unit_detail_permission_matrix(client, request, unit_a, persona, status):
    headers = {}
    if persona != "anonymous":
        headers = bearer(make_token(request.getfixturevalue(persona)))
    response = client.get(f"/api/v1/units/{unit_a.pk}/", headers=headers)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    if status == 200:
        body = response.json()
        assert body["id"] == unit_a.pk
        assert body["name"] == "交通运输局"
        assert body["parent"] == unit_a.parent_id
        assert body["path"] == unit_a.path
    elif status == 404:
        assert response.json()["code"] == "not_found"


# --- /me/ ----------------------------------------------------------------------------------------


def test_me_returns_user_memberships_and_token_scope(client, reporter_a, unit_a, today):
    secret = make_token(reporter_a, write=True, name="报表程序")
    body = client.get("/api/v1/me/", headers=bearer(secret)).json()
    assert body["username"] == "reporter_a"
    assert body["scope"] == "read-write"
    assert body["memberships"] == [
        {
            "unit": {
                "id": unit_a.pk,
                "name": "交通运输局",
                "kind": "department",
                "path": unit_a.path,
            },
            "role": Role.REPORTER,
            "role_display": body["memberships"][0]["role_display"],
        }
    ]
    assert body["token"]["name"] == "报表程序"
    assert body["token"]["prefix"] == secret[4:12]
    # Times carry the +08:00 offset of Asia/Shanghai.
    assert body["token"]["created_at"] == "2026-11-21T10:00:00+08:00"
    assert body["token"]["last_used_at"] == "2026-11-21T10:00:00+08:00"


# --- pagination and query count -------------------------------------------------------------------


def add_units(parent: Unit, count: int) -> None:
    created = Unit.objects.bulk_create(
        Unit(name=f"科室{i:04d}", kind="department", parent=parent, path=f"{parent.path}~{i}/")
        for i in range(count)
    )
    # bulk_create bypasses Unit.save, so the materialised paths are set here in one statement.
    Unit.objects.filter(pk__in=[u.pk for u in created]).update(
        path=Concat(Value(parent.path), Cast("id", CharField()), Value("/")),
        depth=parent.depth + 1,
    )


def test_pagination_shape_default_size_and_cap(client, supervisor, county):
    add_units(county, 560)
    total = Unit.objects.subtree(county).count()
    headers = bearer(make_token(supervisor))
    body = client.get("/api/v1/units/", headers=headers).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == total
    assert len(body["results"]) == 50
    assert body["previous"] is None
    assert "page=2" in body["next"]
    assert len(client.get("/api/v1/units/?page_size=7", headers=headers).json()["results"]) == 7
    capped = client.get("/api/v1/units/?page_size=100000", headers=headers).json()
    assert len(capped["results"]) == 500
    last = client.get("/api/v1/units/?page=2&page_size=500", headers=headers).json()
    assert len(last["results"]) == total - 500
    assert last["next"] is None
    response = client.get("/api/v1/units/?page=99", headers=headers)
    assert_error(response, 400, "invalid")  # a page past the end is a bad parameter
    assert "page" in response.json()["details"]


@pytest.mark.parametrize("count", [5, 50])
def test_unit_list_query_count_does_not_grow(
    client, supervisor, county, today, count, django_assert_num_queries
):
    add_units(county, count)
    headers = bearer(make_token(supervisor))
    client.get("/api/v1/me/", headers=headers)  # the token's first use writes last_used_at
    # token lookup, memberships, count, page
    with django_assert_num_queries(4):
        response = client.get("/api/v1/units/?page_size=500", headers=headers)
    assert len(response.json()["results"]) == count + 1


# --- last_used_at and throttling -----------------------------------------------------------------


def test_last_used_at_is_written_at_most_once_a_minute(
    client, reporter_a, today, django_assert_num_queries
):
    secret = make_token(reporter_a)
    token = ApiToken.objects.get(user=reporter_a)
    assert token.last_used_at is None
    client.get("/api/v1/me/", headers=bearer(secret))
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    # token lookup and memberships only: no UPDATE
    with time_machine.travel(dt.timedelta(seconds=30), tick=False), django_assert_num_queries(2):
        client.get("/api/v1/me/", headers=bearer(secret))
    token.refresh_from_db()
    assert token.last_used_at == first
    with time_machine.travel(dt.timedelta(seconds=61), tick=False):
        client.get("/api/v1/me/", headers=bearer(secret))
    token.refresh_from_db()
    assert token.last_used_at == first + dt.timedelta(seconds=61)


def test_throttle_answers_429_json_per_token(client, settings, reporter_a):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "2/minute", "anon": "1/minute"},
    }
    first, second = make_token(reporter_a, name="a"), make_token(reporter_a, name="b")
    for _ in range(2):
        assert client.get("/api/v1/me/", headers=bearer(first)).status_code == 200
    body = assert_error(client.get("/api/v1/me/", headers=bearer(first)), 429, "throttled")
    assert body["details"]["retry_after"] > 0
    # Another token of the same user has its own bucket.
    assert client.get("/api/v1/me/", headers=bearer(second)).status_code == 200


# --- errors, schema, docs -----------------------------------------------------------------------


def test_unknown_address_under_api_is_json_404(client, reporter_a):
    assert_error(client.get("/api/v1/nothing-here/"), 404, "not_found")
    assert_error(client.get("/api/nothing"), 404, "not_found")


def test_schema_is_openapi_3(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/units/" in schema["paths"]
    assert "/api/v1/units/{id}/" in schema["paths"]
    assert "/api/v1/me/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    yaml_response = client.get("/api/schema/")
    assert yaml_response.status_code == 200
    assert b"openapi: 3." in yaml_response.content


def test_docs_are_served_without_internet(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    assert not re.search(r"https?://", html), re.findall(r"https?://[^\"' ]+", html)
    assets = re.findall(r"(?:src|href)=\"([^\"]+)\"", html)
    assert any("swagger-ui-bundle.js" in a for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset


# --- the tokens page ------------------------------------------------------------------------------


def test_tokens_page_requires_login(client):
    response = client.get(reverse("api_tokens"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_tokens_page_creates_a_token_and_shows_the_secret_once(client, reporter_a):
    client.force_login(reporter_a)
    response = client.post(
        reverse("api_tokens"), {"name": "数据大屏", "write": "on", "expires_days": "90"}
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = re.search(r"trk_[A-Za-z0-9_-]{43}", response.content.decode()).group(0)
    token = ApiToken.objects.get(user=reporter_a)
    assert token.name == "数据大屏"
    assert token.write is True
    assert token.token_hash == tokens.hash_secret(secret)
    page = client.get(reverse("api_tokens")).content.decode()
    assert secret not in page
    assert f"trk_{token.prefix}" in page
    assert client.get("/api/v1/me/", headers=bearer(secret)).status_code == 200


def test_tokens_page_revokes_own_token_only(client, reporter_a, reporter_b):
    secret = make_token(reporter_a)
    token = ApiToken.objects.get(user=reporter_a)
    client.force_login(reporter_b)
    response = client.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    client.force_login(reporter_a)
    response = client.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not token.is_active()
    assert_error(client.get("/api/v1/me/", headers=bearer(secret)), 401, "token_revoked")


def test_service_refuses_to_revoke_another_users_token(reporter_a, reporter_b):
    from django.core.exceptions import PermissionDenied

    token, _secret = tokens.token_create(user=reporter_a, name="x", write=False, actor=reporter_a)
    with pytest.raises(PermissionDenied):
        tokens.token_revoke(token=token, actor=reporter_b)
    with pytest.raises(PermissionDenied):
        tokens.token_create(user=reporter_a, name="y", write=True, actor=reporter_b)


# --- admin ---------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_logged(db):
    admin_user = factories.UserFactory(username="root", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(admin_user)
    return browser


def test_admin_changelist_and_add_and_revoke(admin_client_logged, reporter_a):
    make_token(reporter_a, name="已有")
    response = admin_client_logged.get(reverse("admin:projects_apitoken_changelist"))
    assert response.status_code == 200
    assert "已有" in response.content.decode()

    response = admin_client_logged.post(
        reverse("admin:projects_apitoken_add"),
        {
            "user": reporter_a.pk,
            "name": "管理员发放",
            "write": "on",
            "expires_at_0": "",
            "expires_at_1": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    created = ApiToken.objects.get(name="管理员发放")
    secret = re.search(r"trk_[A-Za-z0-9_-]{43}", response.content.decode()).group(0)
    assert created.token_hash == tokens.hash_secret(secret)
    assert created.write is True

    response = admin_client_logged.post(
        reverse("admin:projects_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [created.pk]},
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.revoked_at is not None
