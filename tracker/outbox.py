"""The transactional outbox: Celery work that must happen because of something committed.

``enqueue(task, ...)`` writes an ``OutboxMessage`` row in the caller's transaction, so the work is
recorded exactly when what caused it commits (a ledger upload and its check, a notification and
its e-mail or webhook). After the commit the message is handed to the broker. When the broker
(Redis) is unreachable the row simply stays unsent: the save that caused it still succeeds, and
``dispatch_pending`` (the beat job ``dispatch_outbox``, every minute; or
``manage.py dispatch_outbox``) sends it once the broker is back.

Each message runs once. The worker claims its row before running the task (a conditional UPDATE:
one claim wins) and marks it done afterwards, so a message sent twice (sent again because it
seemed lost, or redelivered after a worker died) runs once; a claim is a lease, so a task whose
worker died is run again later. Every Celery task of the platform accepts these messages (the
app's task class is ``OutboxTask``); tasks sent directly (beat) run as before.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
import time
from collections.abc import Iterable

from celery import Task, current_app
from celery.exceptions import NotRegistered, Retry
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from tracker.models import OutboxMessage

logger = logging.getLogger("tracker.outbox")

# The message header that carries the outbox row's id (kept by Celery on retries).
OUTBOX_HEADER = "tracker_outbox_id"
# A claim older than this is taken to be a dead worker's: the message may run again. Equal to
# the broker's visibility timeout (settings.CELERY_BROKER_TRANSPORT_OPTIONS).
LEASE = dt.timedelta(minutes=15)
# A message sent this long ago and still not run is sent again (the broker may have lost it).
RESEND_AFTER = dt.timedelta(minutes=15)
# A message is sent at most this many times (its task keeps failing): then it waits for a person.
MAX_SENDS = 20
# Done messages are kept this long (to look into), then deleted by the dispatcher.
KEEP_DONE = dt.timedelta(days=7)
BATCH = 500

BROKER_UNREACHABLE = (OperationalError, RedisConnectionError, RedisTimeoutError, OSError)
# After the broker failed, this process does not try it again for a few seconds.
BROKER_RETRY_AFTER = 10.0
_broker_down_until = 0.0
_lock = threading.Lock()


def enqueue(task: Task | str, *args, **kwargs) -> OutboxMessage:
    """Record that ``task(*args, **kwargs)`` must run, in the current transaction; it is sent to
    the broker when the transaction commits (at once outside one)."""
    name = task if isinstance(task, str) else task.name
    message = OutboxMessage.objects.create(task=name, args=list(args), kwargs=kwargs)
    transaction.on_commit(lambda: send([message.pk]), robust=True)
    return message


def _broker_available() -> bool:
    return time.monotonic() >= _broker_down_until


def _broker_failed(exc: Exception) -> None:
    global _broker_down_until
    with _lock:
        was_up = _broker_available()
        _broker_down_until = time.monotonic() + BROKER_RETRY_AFTER
    if was_up:
        logger.warning("Celery broker unreachable (%s): outbox messages wait to be sent", exc)


def send(ids: Iterable[int]) -> int:
    """Hand the (not yet done) messages ``ids`` to the broker; returns how many were sent. A
    message the broker does not take stays unsent, for ``dispatch_pending``."""
    sent = 0
    for message in OutboxMessage.objects.filter(pk__in=list(ids), done_at__isnull=True):
        if not _broker_available():
            break
        task = _task(message.task)
        try:
            task.apply_async(
                args=message.args, kwargs=message.kwargs, headers={OUTBOX_HEADER: message.pk}
            )
        except BROKER_UNREACHABLE as exc:
            _broker_failed(exc)
            OutboxMessage.objects.filter(pk=message.pk).update(last_error=str(exc)[:2000])
            break
        except Exception:
            if not current_app.conf.task_always_eager:
                raise
            # Tasks run in-process (the embedded demo): the task itself failed, its message says
            # so (release()) and will be sent again; the save that queued it stands.
            logger.exception("Outbox message %s (%s) failed in-process", message.pk, message.task)
        OutboxMessage.objects.filter(pk=message.pk).update(
            sent_at=timezone.now(), sends=F("sends") + 1
        )
        sent += 1
    return sent


def _task(name: str) -> Task:
    """The registered task ``name``, importing its module first if no one has yet (outside a
    worker, Celery discovers tasks only when their module is imported)."""
    try:
        return current_app.tasks[name]
    except NotRegistered:
        importlib.import_module(name.rsplit(".", 1)[0])
        return current_app.tasks[name]


def dispatch_pending(now: dt.datetime | None = None) -> int:
    """Send every message that is due: never sent, or sent long ago and neither run nor running.
    Also forgets done messages older than KEEP_DONE. Returns how many were sent."""
    now = now or timezone.now()
    due = (
        OutboxMessage.objects.filter(done_at__isnull=True, sends__lt=MAX_SENDS)
        .filter(Q(sent_at__isnull=True) | Q(sent_at__lt=now - RESEND_AFTER))
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    ids = list(due[:BATCH])
    OutboxMessage.objects.filter(done_at__lt=now - KEEP_DONE).delete()
    return send(ids) if ids else 0


def claim(pk: int) -> bool:
    """Take message ``pk`` to run it; False when it is done or another worker has it."""
    now = timezone.now()
    return bool(
        OutboxMessage.objects.filter(pk=pk, done_at__isnull=True)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE))
        .update(claimed_at=now)
    )


def release(pk: int, error: str = "") -> None:
    """The task did not finish (it failed, or it will be retried): let the message run again."""
    OutboxMessage.objects.filter(pk=pk).update(claimed_at=None, last_error=error[:2000])


def finish(pk: int) -> None:
    OutboxMessage.objects.filter(pk=pk).update(done_at=timezone.now(), last_error="")


def backlog() -> tuple[int, dt.datetime | None]:
    """How many messages wait (not done), and since when the oldest has waited."""
    pending = OutboxMessage.objects.filter(done_at__isnull=True)
    oldest = pending.order_by("created_at").values_list("created_at", flat=True).first()
    return pending.count(), oldest


class OutboxTask(Task):
    """The platform's Celery task class: a task started by an outbox message claims the message
    first and marks it done after; started any other way, it just runs."""

    def __call__(self, *args, **kwargs):
        request = self.request
        outbox_id = getattr(request, OUTBOX_HEADER, None) or (request.headers or {}).get(
            OUTBOX_HEADER
        )
        if outbox_id is None:
            return super().__call__(*args, **kwargs)
        if not claim(outbox_id):
            logger.info("Outbox message %s is done or running elsewhere: skipped", outbox_id)
            return None
        try:
            result = super().__call__(*args, **kwargs)
        except Retry:
            release(outbox_id, "retry")
            raise
        except Exception as exc:
            release(outbox_id, repr(exc))
            raise
        finish(outbox_id)
        return result
