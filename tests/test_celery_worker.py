"""Tasks sent through the Redis broker and executed by a real worker process: one worker for the
session (the ``celery_worker`` fixture of conftest.py), on a queue of its own, on the test
database."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

import pytest
from django.conf import settings
from django.core.cache import cache

from supervision import notifications
from supervision.models import (
    Notification,
    RankingScheme,
    RankingSnapshot,
    SchemeMetric,
    Webhook,
    WebhookDelivery,
)
from supervision.tasks import compute_due_rankings
from tests import factories
from tests.support.robot import serve
from tracker import health
from tracker.celery import app as celery_app
from tracker.tasks import worker_heartbeat

# One worker process serves the module: under pytest-xdist its tests run on one xdist worker.
pytestmark = pytest.mark.xdist_group("celery-worker")


@pytest.mark.worker
def test_heartbeat_task_runs_on_a_worker_started_here(celery_worker):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    cache.delete(health.HEARTBEAT_KEY)
    result = worker_heartbeat.apply_async(queue=celery_worker.queue)
    returned = result.get(timeout=60)
    assert result.successful(), celery_worker.output()
    recorded = health.last_worker_heartbeat()
    assert recorded is not None and recorded.isoformat() == returned


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_ranking_job_runs_on_a_worker_started_here(
    celery_worker, county, unit_a, unit_b, reporter_a
):
    """The daily ranking job and the computations it queues, on a real worker, against the
    test database: the snapshots land in the database the test reads."""
    scheme = RankingScheme.objects.create(
        name="县直部门月度排名",
        parent_unit=county,
        child_kinds=["department"],
        cadence="month",
        starts_on=dt.date(2026, 9, 1),
    )
    SchemeMetric.objects.create(scheme=scheme, metric="red_cards", weight=1)
    factories.create_project(actor=reporter_a, lead_unit=unit_a)
    queued = compute_due_rankings.apply_async(
        kwargs={"today": "2026-11-21"}, queue=celery_worker.queue
    )
    assert queued.get(timeout=60) == 3  # September, October, November (open)
    celery_worker.wait_until(
        lambda: RankingSnapshot.objects.filter(scheme=scheme).count() >= 3,
        what="the rankings computed",
    )
    output = celery_worker.output()
    snapshots = dict(
        RankingSnapshot.objects.filter(scheme=scheme).values_list("period_key", "is_provisional")
    )
    assert snapshots == {"2026-09": False, "2026-10": False, "2026-11": True}, output
    october = RankingSnapshot.objects.get(period_key="2026-10")
    ranks = dict(october.entries.values_list("unit__name", "rank"))
    assert ranks == {"交通运输局": 1, "水利局": None}  # 水利局 has no project


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_delivered_by_a_worker_started_here(celery_worker, unit_a, reporter_a):
    """notify() commits, queues the delivery after commit through Redis; a real worker signs and
    posts it to a local HTTP server and records the attempt in the test database."""
    routes = celery_app.conf.task_routes
    # update() (not assignment) makes the app rebuild its cached router.
    celery_app.conf.update(
        task_routes={"supervision.tasks.deliver_webhook": {"queue": celery_worker.queue}}
    )
    try:
        with serve() as robot:
            webhook = Webhook.objects.create(
                name="交通运输局接收端", unit=unit_a, kind="json", url=robot.url(), secret="k"
            )
            notifications.notify("issue.raised", title="征地问题待整改", units=[unit_a])
            delivery = WebhookDelivery.objects.get(webhook=webhook)
            celery_worker.wait_until(
                lambda: WebhookDelivery.objects.get(pk=delivery.pk).status != "pending",
                what="the webhook delivered",
            )
    finally:
        celery_app.conf.update(task_routes=routes)
    output = celery_worker.output()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        "delivered",
        1,
        200,
    ), output
    [request] = robot.received
    signature = hmac.new(b"k", request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["x-tracker-signature"] == f"sha256={signature}"
    assert json.loads(request["body"])["id"] == delivery.pk
    assert Notification.objects.filter(recipient=reporter_a).count() == 1
