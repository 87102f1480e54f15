"""Pages as a persona sees them: logging in, and the number of queries a page costs."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext


def login(client, request, persona: str):
    """Log ``persona`` (the name of a user fixture) in and return the user; "anonymous" stays
    out and returns None."""
    if persona == "anonymous":
        return None
    user = request.getfixturevalue(persona)
    client.force_login(user)
    return user


def count_queries(client, url: str, *, cache_state: str | None = "cold", **kwargs) -> int:
    """The queries of one GET of ``url`` (which must answer 200).

    ``cache_state`` says which per-user caches (the nav badge's unread count, a token's last use)
    the counted request meets: "cold" empties the cache first, so the count includes them; "warm"
    makes the same request once before counting, so it does not; None leaves the cache as it is.
    """
    if cache_state == "cold":
        cache.clear()
    elif cache_state == "warm":
        client.get(url, **kwargs)
    elif cache_state is not None:
        raise ValueError(f"cache_state is 'cold', 'warm' or None, not {cache_state!r}")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries.captured_queries)
