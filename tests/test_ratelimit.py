"""A budget of costly actions per key: counted in Redis, renewed each window, and not in the way
when Redis cannot be reached."""

from __future__ import annotations

import datetime as dt
import logging

import time_machine
from django.test import override_settings

from tests.support.worlds import NOW
from tracker import ratelimit


def test_the_budget_is_spent_then_renewed():
    with time_machine.travel(NOW.replace(second=10), tick=False):
        assert [ratelimit.spend("k", limit=2, window=60) for _ in range(3)] == [0, 0, 50]
        assert ratelimit.spend("other", limit=2, window=60) == 0  # each key its own budget
    with time_machine.travel(NOW.replace(second=0) + dt.timedelta(minutes=1), tick=False):
        assert ratelimit.spend("k", limit=2, window=60) == 0


def test_without_redis_the_action_goes_ahead_and_it_is_logged(caplog):
    dead = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
        }
    }
    with override_settings(CACHES=dead), caplog.at_level(logging.WARNING, "tracker.ratelimit"):
        assert [ratelimit.spend("k", limit=1, window=60) for _ in range(3)] == [0, 0, 0]
    assert "the cache is unavailable" in caplog.text
