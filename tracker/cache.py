"""The cache, and the rate limits kept in it, for a site that must keep working when Redis does
not.

Nothing the platform keeps in the cache is the only copy of anything: the unread badge's count,
API token "last used" times, rate-limit counters, the worker heartbeat. So when Redis cannot be
reached, ``FailSoftRedisCache`` answers as an empty cache that forgets what it is told (and logs
it), instead of failing the page. After a failure it does not try Redis again for a few seconds,
so a dead or unreachable server costs a page at most one short connection timeout.

Rate limits (``hit``) count in Redis with one atomic script (a sliding window), so concurrent
requests on several processes cannot slip past the limit. Without Redis they count in this
process's memory: a limit per process instead of per site, logged, still a limit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque

from django.core.cache import caches
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("tracker.cache")

UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError)
# After a failure, Redis is not asked again for this many seconds (per process).
RETRY_AFTER = 5.0


class FailSoftRedisCache(RedisCache):
    """Django's Redis cache, answering like an empty cache while Redis is unreachable."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._client = None
        self._scripts: dict[str, object] = {}

    @property
    def available(self) -> bool:
        """False for a few seconds after Redis failed to answer."""
        return time.monotonic() >= self._down_until

    def _failed(self, operation: str, exc: Exception) -> None:
        with self._lock:
            was_up = self.available
            self._down_until = time.monotonic() + RETRY_AFTER
        if was_up:
            logger.warning(
                "Redis unreachable (%s: %s): the cache answers as an empty cache and rate limits "
                "count in each process until it is back",
                operation,
                exc,
            )

    def _call(self, operation: str, default, *args, **kwargs):
        if not self.available:
            return default
        try:
            return getattr(super(), operation)(*args, **kwargs)
        except UNREACHABLE as exc:
            self._failed(operation, exc)
            return default

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", False, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._call("get", default, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set", None, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", False, key, timeout, version)

    def delete(self, key, version=None):
        return self._call("delete", False, key, version)

    def get_many(self, keys, version=None):
        return self._call("get_many", {}, keys, version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, key, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", list(data), data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._call("delete_many", None, keys, version)

    def incr(self, key, delta=1, version=None):
        # A counter that cannot be read cannot be incremented: the caller decides what then.
        if not self.available:
            raise RedisConnectionError("Redis is unreachable (recent failure)")
        try:
            return super().incr(key, delta, version)
        except UNREACHABLE as exc:
            self._failed("incr", exc)
            raise

    def redis_client(self):
        """The redis-py client of the (first) server, for atomic scripts: made once (Django makes
        a new one, with its ~170 response callbacks, at every call), on Django's own pool."""
        if self._client is None:
            self._client = self._cache.get_client(write=True)
        return self._client

    def script(self, source: str):
        """``source`` as a redis-py Script: sent once, then run by its SHA1 (EVALSHA)."""
        if source not in self._scripts:
            self._scripts[source] = self.redis_client().register_script(source)
        return self._scripts[source]


# --- rate limits ---------------------------------------------------------------------------------

# KEYS[1] the window's sorted set; ARGV: now (ms), window (ms), limit, a unique member.
# Drops hits older than the window, then either records this hit (allowed) or tells how long
# until the oldest hit leaves the window (refused). One script: atomic in Redis.
_SLIDING_WINDOW = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
  return {1, 0}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
"""

_local_hits: dict[str, deque[float]] = defaultdict(deque)
_local_lock = threading.Lock()
_counter = iter(range(1, 1 << 62))


def _hit_locally(key: str, limit: int, window: float) -> tuple[bool, float]:
    now = time.monotonic()
    with _local_lock:
        hits = _local_hits[key]
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) < limit:
            hits.append(now)
            return True, 0.0
        return False, hits[0] + window - now


def hit(key: str, limit: int, window: float) -> tuple[bool, float]:
    """Count one hit on ``key``: at most ``limit`` hits in any ``window`` seconds. Returns
    (allowed, seconds to wait when refused)."""
    backend = caches["default"]
    if not isinstance(backend, FailSoftRedisCache):
        return _hit_locally(key, limit, window)  # the embedded demo: one process, local memory
    if backend.available:
        now_ms = int(time.time() * 1000)
        member = f"{now_ms}-{threading.get_ident()}-{next(_counter)}"
        try:
            allowed, wait_ms = backend.script(_SLIDING_WINDOW)(
                keys=[backend.make_key(f"rate:{key}")],
                args=[now_ms, int(window * 1000), limit, member],
            )
            return bool(allowed), max(int(wait_ms), 0) / 1000
        except UNREACHABLE as exc:
            backend._failed("rate limit", exc)
    return _hit_locally(key, limit, window)
