"""A POST sent twice, or several times at once, answers consistently and writes once.

Creating a period's progress report: the first request creates it (201); the same report sent
again answers 200 with the same object and writes nothing; other content is a 409. Any API POST
may carry an ``Idempotency-Key``: the same key with the same request answers the first answer
again, without writing; with another request, 422. The concurrent cases run real threads, each
with its own PostgreSQL connection, in transactional tests (committed data, as in production).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from projects.api import idempotency
from projects.models import IdempotencyKey, ProgressReport
from projects.tasks import prune_idempotency_keys
from supervision.models import Issue
from tests.support.api import assert_error, bearer, make_token

URL = "/api/v1/progress-reports/"


@pytest.fixture
def auth(reporter_a):
    return bearer(make_token(reporter_a, write=True))


def body(project, **fields):
    return {"project": project.pk, "period": "2026-11", "investment": "120.50", **fields}


def post(client, data, headers, url=URL):
    return client.post(url, data=json.dumps(data), content_type="application/json", headers=headers)


def history_rows() -> int:
    return ProgressReport.history.count()


# --- the same report again --------------------------------------------------------------------


def test_the_same_report_again_answers_the_same_object_and_writes_nothing(client, auth, project_a):
    first = post(client, body(project_a, problems="征地"), auth)
    assert first.status_code == 201, first.content
    written = history_rows()
    again = post(client, body(project_a, problems="征地"), auth)
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert again["ETag"] == first["ETag"] == '"1"'
    assert ProgressReport.objects.get().version == 1
    assert history_rows() == written


def test_other_content_for_the_same_period_is_a_409_in_chinese(client, auth, project_a):
    first = post(client, body(project_a), auth)
    before = list(ProgressReport.objects.values_list("id", "version", "investment"))
    conflict = assert_error(
        post(client, body(project_a, investment="99"), auth), 409, "report_exists"
    )
    assert "本期填报已存在" in conflict["message"]
    assert conflict["details"] == {"id": first.json()["id"], "current_version": 1}
    assert list(ProgressReport.objects.values_list("id", "version", "investment")) == before
    # Saving over it is deliberate: If-Match names the version it replaces.
    saved = post(client, body(project_a, investment="99"), auth | {"If-Match": first["ETag"]})
    assert saved.status_code == 200, saved.content
    assert ProgressReport.objects.get().investment == Decimal("99")


# --- Idempotency-Key ----------------------------------------------------------------------------


def test_a_key_replays_the_first_answer_without_writing(client, auth, project_a):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = post(client, body(project_a), auth | key)
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    report = ProgressReport.objects.get()
    # The report changes meanwhile (someone saves it through the page); the key still answers
    # what the first request answered, and writes nothing.
    ProgressReport.objects.filter(pk=report.pk).update(problems="改过")
    written = history_rows()
    again = post(client, body(project_a), auth | key)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert (again["ETag"], again["Location"]) == (first["ETag"], first["Location"])
    assert history_rows() == written
    stored = IdempotencyKey.objects.get()
    assert (stored.key, stored.status_code) == (key["Idempotency-Key"], 201)


def test_a_key_reused_for_another_request_is_a_422(client, auth, project_a, project_b, supervisor):
    key = {"Idempotency-Key": "order-42"}
    post(client, body(project_a), auth | key)
    before = list(ProgressReport.objects.values_list("id", "version", "investment"))
    other_body = assert_error(
        post(client, body(project_a, investment="1"), auth | key), 422, "idempotency_key_reused"
    )
    assert "Idempotency-Key" in other_body["message"]
    other_path = post(
        client,
        {"project": project_a.pk, "name": "x", "due_date": "2027-01-01"},
        auth | key,
        url="/api/v1/milestones/",
    )
    assert_error(other_path, 422, "idempotency_key_reused")
    assert list(ProgressReport.objects.values_list("id", "version", "investment")) == before
    # Keys are the user's own: another user's same key is another request.
    others = bearer(make_token(supervisor, write=True))
    assert post(client, body(project_a, investment="1"), others | key).status_code == 409


def test_a_failed_request_keeps_no_key(client, auth, project_a):
    key = {"Idempotency-Key": "retry-me"}
    assert_error(post(client, body(project_a, investment="-1"), auth | key), 400, "invalid")
    assert not IdempotencyKey.objects.exists()
    assert post(client, body(project_a), auth | key).status_code == 201


def test_a_malformed_key_is_a_400_in_chinese(client, auth, project_a):
    response = post(client, body(project_a), auth | {"Idempotency-Key": "x" * 256})
    details = assert_error(response, 400, "invalid")["details"]
    assert "UUID" in details["Idempotency-Key"][0] and "个" in details["Idempotency-Key"][0]
    assert not ProgressReport.objects.exists()


def test_a_key_expires_after_a_day(client, auth, project_a, reporter_a):
    key = {"Idempotency-Key": "daily"}
    assert post(client, body(project_a), auth | key).status_code == 201
    with time_machine.travel(dt.timedelta(days=1, minutes=1)):
        # The key is new again: the request runs (and finds the report already there).
        again = post(client, body(project_a), auth | key)
        assert again.status_code == 200
        assert "Idempotent-Replayed" not in again
        assert prune_idempotency_keys() == 0  # the key was renewed by this request
    with time_machine.travel(dt.timedelta(days=2, minutes=2)):
        assert prune_idempotency_keys() == 1
    assert not IdempotencyKey.objects.exists()


def test_keys_work_on_every_post_of_the_api(client, supervisor, unit_a, today):
    headers = bearer(make_token(supervisor, write=True)) | {"Idempotency-Key": "raise-1"}
    issue = {
        "title": "征地补偿款未兑付",
        "source": "upper",
        "category": "other",
        "unit": unit_a.pk,
        "deadline": "2026-12-31",
    }
    first = post(client, issue, headers, url="/api/v1/issues/")
    again = post(client, issue, headers, url="/api/v1/issues/")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert Issue.objects.count() == 1


# --- at the same time ---------------------------------------------------------------------------


def concurrently(requests: list[tuple[dict, dict]], url: str = URL) -> list:
    """Send each (body, headers) POST from its own thread and connection, all released at once;
    returns the responses in order (or the exception a thread met)."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def send(index: int, data: dict, headers: dict) -> None:
        try:
            client = Client()
            barrier.wait()
            results[index] = post(client, data, headers, url=url)
        except BaseException as exc:  # pragma: no cover - reported by the assertions
            results[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=send, args=(index, data, headers))
        for index, (data, headers) in enumerate(requests)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_three_concurrent_posts_of_one_report_create_it_once(auth, project_a):
    """Three threads, three connections; about a second."""
    responses = concurrently([(body(project_a), auth)] * 3)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 201], [getattr(r, "content", r) for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert ProgressReport.objects.count() == 1
    assert ProgressReport.objects.get().version == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_with_other_content_are_refused_not_merged(auth, project_a):
    """Three threads with three different amounts: one creates, the others are told so."""
    amounts = ["10", "20", "30"]
    responses = concurrently([(body(project_a, investment=a), auth) for a in amounts])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409], [getattr(r, "content", r) for r in responses]
    created = next(r for r in responses if r.status_code == 201).json()
    report = ProgressReport.objects.get()
    assert (report.pk, report.version, str(report.investment)) == (
        created["id"],
        1,
        created["investment"],
    )


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_with_one_key_write_once_and_answer_alike(auth, project_a):
    """The second and third wait for the first to commit, then replay its answer."""
    headers = auth | {"Idempotency-Key": str(uuid.uuid4())}
    responses = concurrently([(body(project_a), headers)] * 3)
    assert [r.status_code for r in responses] == [201, 201, 201], [
        getattr(r, "content", r) for r in responses
    ]
    assert len({json.dumps(r.json(), sort_keys=True) for r in responses}) == 1
    assert sorted(r.get("Idempotent-Replayed", "") for r in responses) == ["", "true", "true"]
    assert ProgressReport.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("url", "persona", "data"),
    [
        ("/api/v1/project-funding/", "reporter_a", {"source": "county_fiscal", "planned": "5"}),
        ("/api/v1/targets/", "supervisor", {"year": 2026, "metric": "funding"}),
    ],
)
def test_concurrent_upserts_create_one_row_and_say_so_once(
    request, project_a, unit_a, url, persona, data
):
    """Funding rows and targets are one per key too: three threads, one 201, no 500."""
    headers = bearer(make_token(request.getfixturevalue(persona), write=True))
    if "source" in data:
        data = {**data, "project": project_a.pk, "arrived": "0"}
    else:
        data = {**data, "unit": unit_a.pk, "target_value": "100"}
    responses = concurrently([(data, headers)] * 3, url=url)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 201], [getattr(r, "content", r) for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1


def test_the_prune_job_keeps_fresh_keys(reporter_a, today):
    IdempotencyKey.objects.create(
        user=reporter_a,
        key="fresh",
        method="POST",
        path="/",
        fingerprint="0",
        created_at=timezone.now() - dt.timedelta(hours=23),
    )
    assert idempotency.prune() == 0
