"""``Idempotency-Key`` on API POSTs (docs/api.md, "Retrying a POST safely").

A client that may send a POST twice (a timeout, a lost answer, a retry queue) names it with a
key of its choosing. The first request with that key runs; for a day, the same user sending the
same key with the same request gets the first answer again (marked ``Idempotent-Replayed: true``)
and nothing is written again; the same key with another request is a 422.

The key is claimed by inserting its row in the transaction that runs the request, and the answer
is stored in that row before the transaction commits. A concurrent request with the same key
inserts the same row: PostgreSQL holds that insert until the first request commits (then it
fails on the unique key and the stored answer is replayed) or rolls back (then it runs as the
first). Only successful answers are kept: after an error nothing was written, and sending the
request again runs it again. Keys live in the database, not in the cache, so this holds when
Redis is down.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from projects.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_LIFETIME = dt.timedelta(days=1)
# Printable ASCII without spaces, as UUIDs and the usual random keys are.
KEY_FORMAT = re.compile(r"[!-~]{1,255}")
# Headers of the first answer that a replay repeats.
KEPT_HEADERS = ("ETag", "Location")


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "idempotency_key_reused"
    default_detail = _(
        "This Idempotency-Key was used within the last day for another request: send a new "
        "key with a new request."
    )


class _Replay(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def key_cutoff() -> dt.datetime:
    """Keys claimed before this have expired."""
    return timezone.now() - KEY_LIFETIME


def prune() -> int:
    """Delete the expired keys; returns how many."""
    deleted, _by_model = IdempotencyKey.objects.filter(created_at__lt=key_cutoff()).delete()
    return deleted


def _canonical(value: Any) -> Any:
    if hasattr(value, "chunks") and hasattr(value, "name"):  # an uploaded file
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "sha256": digest.hexdigest()}
    return str(value)


def fingerprint(request: Request) -> str:
    """The request as it matters for a replay: method, path with query, and body (JSON by its
    content, whatever its spacing or key order; forms and files by their fields and bytes)."""
    data = request.data
    if hasattr(data, "lists"):  # a form or multipart QueryDict
        data = sorted((name, [_canonical(v) for v in values]) for name, values in data.lists())
    body = json.dumps(data, sort_keys=True, default=_canonical, separators=(",", ":"))
    text = f"{request.method} {request.get_full_path()}\n{body}"
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(stored: IdempotencyKey) -> Response:
    return Response(
        stored.response,
        status=stored.status_code,
        headers={**stored.headers, REPLAYED_HEADER: "true"},
    )


def claim(request: Request, key: str) -> IdempotencyKey:
    """The row of ``key`` for this request, new; or raises ``_Replay`` with the first answer,
    or ``IdempotencyKeyReused``."""
    values = {
        "method": request.method,
        "path": request.get_full_path()[:2000],
        "fingerprint": fingerprint(request),
        "status_code": 0,
        "response": None,
        "headers": {},
        "created_at": timezone.now(),
    }
    try:
        # A savepoint: when a concurrent request holds the key, this insert waits for it.
        with transaction.atomic():
            return IdempotencyKey.objects.create(user=request.user, key=key, **values)
    except IntegrityError:
        pass
    stored = IdempotencyKey.objects.select_for_update().get(user=request.user, key=key)
    if stored.created_at < key_cutoff():
        # Expired: the key starts a new life with this request.
        for field, value in values.items():
            setattr(stored, field, value)
        stored.save()
        return stored
    if stored.fingerprint != values["fingerprint"]:
        raise IdempotencyKeyReused()
    raise _Replay(_replay(stored))


class IdempotentPostMixin:
    """For API views: a POST with an ``Idempotency-Key`` header runs at most once per key."""

    _idempotency: IdempotencyKey | None = None

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST" or HEADER not in request.headers:
            return super().dispatch(request, *args, **kwargs)
        # One transaction for the claim, the write and the stored answer.
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)  # authenticated, allowed, throttled
        self._idempotency = None
        if request.method != "POST" or HEADER not in request.headers:
            return
        key = request.headers[HEADER].strip()
        if not KEY_FORMAT.fullmatch(key):
            raise exceptions.ValidationError(
                {
                    HEADER: [
                        _("An Idempotency-Key is 1 to 255 visible ASCII characters, e.g. a UUID.")
                    ]
                }
            )
        self._idempotency = claim(request, key)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        claimed, self._idempotency = self._idempotency, None
        if claimed is not None:
            if status.is_success(response.status_code):
                claimed.status_code = response.status_code
                claimed.response = response.data
                claimed.headers = {h: response[h] for h in KEPT_HEADERS if h in response}
                claimed.save(update_fields=["status_code", "response", "headers"])
            else:
                # Nothing is kept of a failed request, its key included: sent again, it runs.
                transaction.set_rollback(True)
        return response
