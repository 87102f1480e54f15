"""Rate limits (tracker.cache.hit): a sliding window counted by one Redis script, so concurrent
hits on several processes cannot slip past it; counted in each process while Redis is down."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import time_machine
from django.conf import settings
from django.db import close_old_connections
from django.test import override_settings

from tests.support.worlds import NOW
from tracker.cache import hit


def test_the_window_slides():
    with time_machine.travel(NOW, tick=False):
        assert [hit("k", 2, 60)[0] for _ in range(3)] == [True, True, False]
        assert hit("other", 2, 60)[0]  # each key its own window
    with time_machine.travel(NOW + dt.timedelta(seconds=30), tick=False):
        allowed, wait = hit("k", 2, 60)
        assert not allowed and 29 <= wait <= 30  # the first hit leaves the window in 30 s
    with time_machine.travel(NOW + dt.timedelta(seconds=61), tick=False):
        assert hit("k", 2, 60)[0]


def test_concurrent_hits_never_exceed_the_limit():
    allowed: list[bool] = []

    def burst() -> None:
        for _ in range(20):
            allowed.append(hit("burst", 25, 60)[0])
        close_old_connections()

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 160 and allowed.count(True) == 25


def test_without_redis_each_process_still_counts(caplog):
    dead = {"default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"}}
    with override_settings(CACHES=dead), caplog.at_level(logging.WARNING, "tracker.cache"):
        assert [hit("offline", 2, 60)[0] for _ in range(3)] == [True, True, False]
    assert "Redis unreachable" in caplog.text
