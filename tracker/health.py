"""Health of the moving parts: database, cache and the Celery worker heartbeat."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from tracker import outbox

HEARTBEAT_KEY = "tracker:worker-heartbeat"
# Beat sends a heartbeat every minute; after five missed ones the worker is reported stale.
HEARTBEAT_STALE_AFTER = dt.timedelta(minutes=5)


def record_worker_heartbeat() -> dt.datetime:
    now = timezone.now()
    cache.set(HEARTBEAT_KEY, now.isoformat(), timeout=None)
    return now


def last_worker_heartbeat() -> dt.datetime | None:
    value = cache.get(HEARTBEAT_KEY)
    return dt.datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class HealthReport:
    database: bool
    cache: bool
    worker_heartbeat: dt.datetime | None
    # Work waiting in the outbox (tracker/outbox.py): how much, and since when.
    outbox_pending: int | None = None
    outbox_oldest: dt.datetime | None = None

    @property
    def worker_fresh(self) -> bool:
        return (
            self.worker_heartbeat is not None
            and timezone.now() - self.worker_heartbeat < HEARTBEAT_STALE_AFTER
        )

    @property
    def ok(self) -> bool:
        return self.database and self.cache


def check_health() -> HealthReport:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            database_ok = cursor.fetchone() == (1,)
    except Exception:  # any failure of the database is what this check reports
        database_ok = False
    pending, oldest = outbox.backlog() if database_ok else (None, None)
    try:
        cache.set("tracker:health-probe", "1", timeout=10)
        cache_ok = cache.get("tracker:health-probe") == "1"
        heartbeat = last_worker_heartbeat()
    except Exception:  # likewise for the cache
        cache_ok = False
        heartbeat = None
    return HealthReport(
        database=database_ok,
        cache=cache_ok,
        worker_heartbeat=heartbeat,
        outbox_pending=pending,
        outbox_oldest=oldest,
    )
