"""The ledger on 我的工作台: the issues of the user's units that need them, and, for
supervisors, what waits for the supervision office."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone

from projects import selectors as project_selectors
from projects.workspace import Panel
from supervision import selectors
from supervision.models import ISSUE_ACTIVE_STATUSES, Issue, IssueStatus
from supervision.selectors import UNIT_ROLES

ROWS = 20


def my_issues(request: HttpRequest) -> Panel | None:
    user = request.user
    today = timezone.localdate()
    unit_paths = project_selectors.scope_paths(user, UNIT_ROLES - project_selectors.SUPERVISE_ROLES)
    supervises = selectors.can_raise_issues(user)
    if not unit_paths and not supervises:
        return None
    mine = Issue.objects.filter(
        project_selectors.under(unit_paths, "unit__path"), status__in=ISSUE_ACTIVE_STATUSES
    )
    rows = list(mine.select_related("project").order_by("deadline", "id")[:ROWS])
    for issue in rows:
        issue.overdue_days = issue.days_overdue(today)
    counts = mine.aggregate(total=Count("pk"), overdue=Count("pk", filter=Q(deadline__lt=today)))
    office = None
    if supervises:
        office = selectors.visible_issues(user).aggregate(
            queue=Count(
                "pk",
                filter=Q(status=IssueStatus.PENDING)
                | Q(awaiting_office=True, status__in=ISSUE_ACTIVE_STATUSES),
            ),
            to_verify=Count("pk", filter=Q(status=IssueStatus.RESOLVED)),
            overdue=Count("pk", filter=Q(status__in=ISSUE_ACTIVE_STATUSES, deadline__lt=today)),
        )
    return Panel(
        "supervision/_workspace_issues.html",
        {
            "rows": rows,
            "counts": counts,
            "has_units": bool(unit_paths),
            "office": office,
            "more": max(0, counts["total"] - len(rows)),
        },
    )
