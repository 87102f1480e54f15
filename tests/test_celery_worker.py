"""A task sent through the Redis broker and executed by a real worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache

from tracker import health
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
