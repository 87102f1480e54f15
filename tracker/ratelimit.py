"""A per-key budget of costly actions in a fixed window, counted atomically in the cache.

For work a single request can trigger and that costs far more than the request (a dashboard
computed for a day nobody asked for before). The count is one ``INCR`` on Redis, so concurrent
requests cannot overspend it. When the cache cannot be reached the action is allowed and the
failure logged: the budget guards against abuse, and refusing everyone while Redis is down
would be worse than an unguarded minute.
"""

from __future__ import annotations

import logging
import math
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)


def spend(key: str, *, limit: int, window: int) -> int:
    """Spend one unit of ``key``'s budget of ``limit`` per ``window`` seconds.

    Returns 0 when the action may go ahead, else the seconds until the budget renews.
    """
    now = time.time()
    bucket = int(now // window)
    cache_key = f"ratelimit:{key}:{bucket}"
    try:
        cache.add(cache_key, 0, timeout=window + 1)
        used = cache.incr(cache_key)
    except Exception:  # any cache failure: see the module's docstring
        logger.warning("Rate limit %s not counted: the cache is unavailable", key, exc_info=True)
        return 0
    if used <= limit:
        return 0
    return max(1, math.ceil((bucket + 1) * window - now))
