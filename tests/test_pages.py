"""The base layout, login, home and health pages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests import factories


def test_login_page_is_in_chinese(client, db):
    response = client.get(reverse("login"))
    page = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in page
    assert "登录" in page and "重点项目调度督查平台" in page


def test_home_requires_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_wrong_password_is_explained(client, reporter_a):
    response = client.post(reverse("login"), {"username": "reporter_a", "password": "nope"})
    assert response.status_code == 200
    assert "用户名和密码不匹配" in response.content.decode()


def test_login_then_home_shows_my_scope(client, reporter_a, project_a, project_b):
    response = client.post(
        reverse("login"), {"username": "reporter_a", "password": "pass12345"}, follow=True
    )
    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/"
    assert "我的工作台" in page
    assert "交通运输局 · 填报员" in page
    assert project_a.name in page
    assert project_b.name not in page


def test_home_runs_a_fixed_number_of_queries(
    client, reporter_a, unit_a, django_assert_max_num_queries
):
    client.force_login(reporter_a)
    for n in range(3):
        factories.create_project(actor=reporter_a, lead_unit=unit_a, name=f"项目{n}")
    with django_assert_max_num_queries(12) as few:
        client.get("/")
    for n in range(3, 15):
        factories.create_project(actor=reporter_a, lead_unit=unit_a, name=f"项目{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get("/")
    assert "项目14" in response.content.decode()


@pytest.mark.django_db
def test_health_reports_database_and_cache(client):
    response = client.get("/health/")
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok" and body["database"] is True and body["cache"] is True
