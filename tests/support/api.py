"""The REST API as a client sees it: a token, its header, and the shape of every error."""

from __future__ import annotations

from projects import tokens


def make_token(user, *, write: bool = False, expires_at=None, name: str = "test") -> str:
    """A new API token of ``user``; returns the secret a client sends."""
    _token, secret = tokens.token_create(
        user=user, name=name, write=write, expires_at=expires_at, actor=user
    )
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def assert_error(response, status: int, code: str) -> dict:
    """The response is an API error of ``status`` and ``code`` in the documented envelope."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    assert isinstance(body["details"], dict)
    # UTF-8 as every answer of the API, not \u escapes a person reading the raw body cannot read.
    assert b"\\u" not in response.content, response.content[:300]
    return body
