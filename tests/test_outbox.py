"""The outbox (tracker/outbox.py): work recorded with its cause, sent after commit, run once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from tracker import outbox
from tracker.celery import app as celery_app
from tracker.models import OutboxMessage

RUNS: list[int] = []


@celery_app.task(name="tests.test_outbox.record_run")
def record_run(value: int) -> int:
    RUNS.append(value)
    return value


@celery_app.task(name="tests.test_outbox.always_fails")
def always_fails() -> None:
    raise RuntimeError("the SMTP server said no")


@pytest.fixture(autouse=True)
def _runs(eager_tasks):
    RUNS.clear()
    outbox._broker_down_until = 0.0
    yield
    RUNS.clear()


def run_message(message: OutboxMessage):
    """What a worker does with the message as sent: the task with the outbox header."""
    return record_run.apply(
        args=message.args, kwargs=message.kwargs, headers={outbox.OUTBOX_HEADER: message.pk}
    )


def test_nothing_is_sent_for_a_rolled_back_transaction(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        outbox.enqueue(record_run, 1)
        transaction.set_rollback(True)
    assert callbacks == []
    assert not OutboxMessage.objects.exists()
    assert RUNS == []


def test_sent_after_commit_and_marked_done(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox.enqueue(record_run, 7)
        assert RUNS == []  # not before the commit
    message.refresh_from_db()
    assert RUNS == [7]
    assert message.sends == 1 and message.sent_at and message.done_at


def test_a_message_sent_twice_runs_once(db):
    message = OutboxMessage.objects.create(task=record_run.name, args=[3])
    run_message(message)
    run_message(message)  # redelivered, or sent again by the dispatcher meanwhile
    assert RUNS == [3]


def test_a_dead_workers_claim_expires(db):
    message = OutboxMessage.objects.create(task=record_run.name, args=[4])
    OutboxMessage.objects.filter(pk=message.pk).update(claimed_at=timezone.now())
    run_message(message)  # another worker has it: skipped
    assert RUNS == []
    OutboxMessage.objects.filter(pk=message.pk).update(
        claimed_at=timezone.now() - outbox.LEASE - dt.timedelta(seconds=1)
    )
    run_message(message)  # its worker died long ago: run now
    assert RUNS == [4]


def test_a_failing_task_is_sent_again_until_its_sends_run_out(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = outbox.enqueue(always_fails)  # runs in-process after the commit, and fails
    message.refresh_from_db()
    assert message.done_at is None and message.claimed_at is None
    assert "SMTP" in message.last_error and message.sends == 1

    assert outbox.dispatch_pending() == 0  # sent a moment ago: not yet
    later = timezone.now() + outbox.RESEND_AFTER + dt.timedelta(seconds=1)
    assert outbox.dispatch_pending(now=later) == 1
    OutboxMessage.objects.filter(pk=message.pk).update(sends=outbox.MAX_SENDS)
    assert outbox.dispatch_pending(now=later + outbox.RESEND_AFTER * 2) == 0


def test_done_messages_are_forgotten_after_a_week(db):
    old = OutboxMessage.objects.create(task=record_run.name, done_at=timezone.now())
    outbox.dispatch_pending(now=timezone.now() + outbox.KEEP_DONE + dt.timedelta(minutes=1))
    assert not OutboxMessage.objects.filter(pk=old.pk).exists()
