"""The test profile: the production settings of tracker/settings.py with two changes.

- A fast password hasher. The suite creates a few thousand users; PBKDF2 at Django's work factor
  costs about a second of CPU each here. Production keeps PBKDF2 (tests/test_settings.py checks
  that tracker.settings never names a fast hasher).
- A Celery result store (Redis), so that tests can wait for what a real worker returns; the
  platform itself keeps no results.
- One Redis database per pytest-xdist worker. Every test starts with an empty cache (a FLUSHDB), so
  two workers sharing a database would empty each other's cache (throttle counters, unread
  badges) in the middle of a test. The Celery broker follows, so a worker process started by a
  test listens where that test sends.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

from tracker.settings import *  # noqa: F403
from tracker.settings import REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_RESULT_BACKEND = REDIS_URL


def _worker_redis_url(url: str, worker: str) -> str:
    """redis://host:port/1 for the first worker (gw0), /2 for the second, and so on."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{base + int(worker.removeprefix('gw'))}"))


_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _WORKER.startswith("gw"):
    REDIS_URL = _worker_redis_url(REDIS_URL, _WORKER)
    CACHES["default"]["LOCATION"] = REDIS_URL  # noqa: F405
    CELERY_BROKER_URL = CELERY_RESULT_BACKEND = REDIS_URL
