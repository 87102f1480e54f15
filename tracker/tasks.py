from __future__ import annotations

from celery import shared_task

from tracker import health, outbox


@shared_task(acks_late=True, ignore_result=False)
def worker_heartbeat() -> str:
    """Record that a worker is alive; /health/ reports how long ago this last ran."""
    return health.record_worker_heartbeat().isoformat()


@shared_task(acks_late=True)
def dispatch_outbox() -> int:
    """Send the outbox messages that are due (never sent while the broker was down, or lost);
    returns how many were sent."""
    return outbox.dispatch_pending()
