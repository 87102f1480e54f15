"""A task sent through the Redis broker and executed by a real worker process."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

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
from tests.robot import serve
from tracker import health
from tracker.celery import app as celery_app
from tracker.tasks import worker_heartbeat

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.worker
def test_heartbeat_task_runs_on_a_worker_started_here():
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    cache.delete(health.HEARTBEAT_KEY)
    queue = f"test-{uuid.uuid4().hex[:8]}"  # only this worker listens to it
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tracker",
            "worker",
            "--pool=solo",
            "--queues",
            queue,
            "--hostname",
            f"{queue}@localhost",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        result = worker_heartbeat.apply_async(queue=queue)
        returned = result.get(timeout=60)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode()
    assert result.successful(), output
    recorded = health.last_worker_heartbeat()
    assert recorded is not None and recorded.isoformat() == returned


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_ranking_job_runs_on_a_worker_started_here(county, unit_a, unit_b, reporter_a):
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
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = os.environ.copy()
    database = settings.DATABASES["default"]
    env["DATABASE_URL"] = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tracker",
            "worker",
            "--pool=solo",
            "--queues",
            queue,
            "--hostname",
            f"{queue}@localhost",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        queued = compute_due_rankings.apply_async(kwargs={"today": "2026-11-21"}, queue=queue)
        assert queued.get(timeout=60) == 3  # September, October, November (open)
        deadline = time.monotonic() + 60
        while RankingSnapshot.objects.filter(scheme=scheme).count() < 3:
            assert time.monotonic() < deadline, "the worker did not compute the rankings"
            time.sleep(0.2)
    finally:
        worker.terminate()
        output = worker.communicate(timeout=30)[0].decode()
    snapshots = dict(
        RankingSnapshot.objects.filter(scheme=scheme).values_list("period_key", "is_provisional")
    )
    assert snapshots == {"2026-09": False, "2026-10": False, "2026-11": True}, output
    october = RankingSnapshot.objects.get(period_key="2026-10")
    ranks = dict(october.entries.values_list("unit__name", "rank"))
    assert ranks == {"交通运输局": 1, "水利局": None}  # 水利局 has no project


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_delivered_by_a_worker_started_here(unit_a, reporter_a):
    """notify() commits, queues the delivery after commit through Redis; a real worker signs and
    posts it to a local HTTP server and records the attempt in the test database."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = os.environ.copy()
    database = settings.DATABASES["default"]
    env["DATABASE_URL"] = (
        f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    routes = celery_app.conf.task_routes
    # update() (not assignment) makes the app rebuild its cached router.
    celery_app.conf.update(task_routes={"supervision.tasks.deliver_webhook": {"queue": queue}})
    with serve() as robot:
        webhook = Webhook.objects.create(
            name="交通运输局接收端", unit=unit_a, kind="json", url=robot.url(), secret="k"
        )
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tracker",
                "worker",
                "--pool=solo",
                "--queues",
                queue,
                "--hostname",
                f"{queue}@localhost",
                "--without-mingle",
                "--without-gossip",
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            notifications.notify("issue.raised", title="征地问题待整改", units=[unit_a])
            delivery = WebhookDelivery.objects.get(webhook=webhook)
            deadline = time.monotonic() + 60
            while WebhookDelivery.objects.get(pk=delivery.pk).status == "pending":
                assert time.monotonic() < deadline, "the worker did not deliver the webhook"
                time.sleep(0.2)
        finally:
            celery_app.conf.update(task_routes=routes)
            worker.terminate()
            output = worker.communicate(timeout=30)[0].decode()
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
