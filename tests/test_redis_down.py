"""The site against a dead Redis: pages, the API and saves keep working, nothing a user sent is
lost or half-done; once Redis is back the outbox is drained by a real worker, exactly once.

The cache and the Celery broker point at a port where nothing listens (127.0.0.1:1) for the
"down" part: every request is a real request through the whole middleware stack, and every save
really commits (a transactional test), so the after-commit sending meets the dead broker as in
production.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging

import pytest
from celery.exceptions import NotRegistered
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from kombu import pools as kombu_pools

from projects.models import ImportBatch, ImportStatus, ProgressReport
from supervision.models import (
    DigestFrequency,
    Issue,
    Notification,
    NotificationPreference,
    Webhook,
    WebhookDelivery,
)
from tests.support.api import bearer, make_token
from tests.support.ledgers import simple_ledger
from tests.support.robot import serve
from tracker import outbox
from tracker.celery import app as celery_app
from tracker.models import OutboxMessage
from tracker.tasks import worker_heartbeat

DEAD = "redis://127.0.0.1:1/0"

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    # The drain uses the session's Celery worker: keep to the xdist worker that runs it.
    pytest.mark.xdist_group("celery-worker"),
]


def _point_celery_at(url: str) -> None:
    # Drop the connections and producers bound to the old broker: kombu's shared pools, the
    # app's (not app.close(): that would unregister the app, and with it every task).
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = url


@contextlib.contextmanager
def redis_down():
    """The cache and the broker unreachable, as when Redis is stopped."""
    caches = {
        "default": {**django_settings.CACHES["default"], "LOCATION": DEAD},
    }
    broker = celery_app.conf.broker_url
    outbox._broker_down_until = 0.0
    with override_settings(CACHES=caches):
        _point_celery_at(DEAD)
        try:
            yield
        finally:
            _point_celery_at(broker)
            outbox._broker_down_until = 0.0


@pytest.fixture
def people(unit_a, reporter_a, supervisor, head_a):
    for user in (reporter_a, head_a):
        user.email = f"{user.username}@example.cn"
        user.save(update_fields=["email"])
        NotificationPreference.objects.create(user=user, email=DigestFrequency.IMMEDIATE)
    return {"reporter": reporter_a, "supervisor": supervisor}


def test_pages_api_and_saves_work_without_redis_and_the_outbox_drains_after(
    client, celery_worker, people, unit_a, project_a, today, caplog
):
    reporter, supervisor = people["reporter"], people["supervisor"]
    token = make_token(supervisor)
    with serve() as robot:
        Webhook.objects.create(name="交通运输局接收端", unit=unit_a, kind="json", url=robot.url())

        with caplog.at_level(logging.WARNING), redis_down():
            assert not cache.get("anything") and cache.set("k", 1) is None  # fails soft

            # Every page a reporter and a supervisor open, with the menu's unread badge.
            client.force_login(reporter)
            for url in (
                "/",
                "/projects/",
                f"/projects/{project_a.pk}/",
                reverse("report_form", args=[project_a.pk, "2026-10"]),
                "/supervision/issues/",
                "/notifications/",
                "/ledgers/",
                "/rankings/",
            ):
                response = client.get(url)
                assert response.status_code == 200, url
                assert "unread_notification_count" in response.context

            # A saved report redirects to a page that works, and is stored once.
            saved = client.post(
                reverse("report_form", args=[project_a.pk, "2026-10"]),
                {"investment": "350.5", "physical_progress": "路基完成70%", "action": "save"},
            )
            assert saved.status_code == 302
            assert client.get(saved.url).status_code == 200
            assert (
                ProgressReport.objects.filter(project=project_a, period_key="2026-10").count() == 1
            )

            # A ledger upload is accepted; its check waits for the worker (not a 500, not stuck).
            upload = io.BytesIO(simple_ledger([{"name": "新建物流园", "category": "物流"}]))
            upload.name = "县台账.xlsx"
            uploaded = client.post(
                reverse("ledger_upload", args=["projects"]),
                {"projects-unit": unit_a.pk, "projects-year": 2026, "projects-file": upload},
            )
            assert uploaded.status_code == 302
            assert client.get(uploaded.url).status_code == 200
            batch = ImportBatch.objects.get()
            assert batch.status == ImportStatus.PARSING

            # A supervisor raises an issue: one issue, its notifications, their deliveries queued.
            client.force_login(supervisor)
            raised = client.post(
                reverse("issue_create"),
                {
                    "title": "征地补偿款未兑付",
                    "source": "upper",
                    "category": "planning",
                    "unit": unit_a.pk,
                    "deadline": (today + dt.timedelta(days=5)).isoformat(),
                },
            )
            assert raised.status_code == 302
            assert client.get(raised.url).status_code == 200
            issue = Issue.objects.get()
            assert Notification.objects.filter(title__contains=issue.title).exists()
            assert WebhookDelivery.objects.get().status == "pending"

            # The API answers (the rate limit counts in this process, and says so in the log).
            for path in ("/api/v1/me/", "/api/v1/projects/", f"/api/v1/issues/{issue.pk}/"):
                assert client.get(path, headers=bearer(token)).status_code == 200, path

            # /health/ tells the operator: cache down, work waiting.
            health = client.get("/health/")
            assert health.status_code == 503
            assert health.json()["cache"] is False
            assert health.json()["outbox_pending"] == 3  # ledger check, webhook, e-mails

        assert "Redis unreachable" in caplog.text
        assert "broker unreachable" in caplog.text
        waiting = OutboxMessage.objects.filter(done_at__isnull=True, sent_at__isnull=True)
        assert sorted(waiting.values_list("task", flat=True)) == [
            "projects.tasks.ledger_prepare",
            "supervision.tasks.deliver_webhook",
            "supervision.tasks.send_notification_emails",
        ]

        # Redis is back: the dispatcher sends the waiting work to a real worker, which runs it.
        routes = celery_app.conf.task_routes
        celery_app.conf.update(task_routes={"*": {"queue": celery_worker.queue}})
        try:
            assert outbox.dispatch_pending() == 3
            celery_worker.wait_until(
                lambda: not OutboxMessage.objects.filter(done_at__isnull=True).exists(),
                what="the outbox drained",
            )
            # Sending again (a lost message suspected) runs nothing twice.
            for message in OutboxMessage.objects.all():
                outbox._task(message.task).apply_async(
                    args=message.args,
                    kwargs=message.kwargs,
                    headers={outbox.OUTBOX_HEADER: message.pk},
                )
            assert outbox.dispatch_pending() == 0
            # The worker takes messages in order: once this one has run, so have those above.
            worker_heartbeat.apply_async().get(timeout=60)
        finally:
            celery_app.conf.update(task_routes=routes)

    assert len(robot.received) == 1, celery_worker.output()
    assert WebhookDelivery.objects.get().status == "delivered"
    assert not Notification.objects.filter(
        recipient__email__endswith="@example.cn", emailed_at__isnull=True
    ).exists()
    batch.refresh_from_db()
    assert batch.status != ImportStatus.PARSING, celery_worker.output()
    assert Issue.objects.count() == 1


def test_throttle_still_limits_without_redis(client, supervisor, settings, caplog):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/minute", "anon": "60/minute"},
    }
    token = bearer(make_token(supervisor))
    with caplog.at_level(logging.WARNING), redis_down():
        codes = [client.get("/api/v1/me/", headers=token).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    assert "Redis unreachable" in caplog.text


def test_unknown_tasks_are_not_swallowed(unit_a):
    """A message naming a task that does not exist is a bug, not a broker outage: it raises."""
    message = OutboxMessage.objects.create(task="tracker.tasks.no_such_task")
    with pytest.raises(NotRegistered):
        outbox.send([message.pk])
