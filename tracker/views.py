from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tracker.health import check_health


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and monitoring: 200 when the database and cache answer."""
    report = check_health()
    heartbeat = report.worker_heartbeat
    return JsonResponse(
        {
            "status": "ok" if report.ok else "error",
            "database": report.database,
            "cache": report.cache,
            "worker_heartbeat": heartbeat.isoformat() if heartbeat else None,
            "worker_fresh": report.worker_fresh,
            "outbox_pending": report.outbox_pending,
            "outbox_oldest": report.outbox_oldest.isoformat() if report.outbox_oldest else None,
        },
        status=200 if report.ok else 503,
    )
