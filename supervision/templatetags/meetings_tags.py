"""Template helpers of the inspection, meeting and notice pages, and the project page's link to
its notices (projects never imports supervision; its template loads this library)."""

from __future__ import annotations

import datetime as dt

from django import template

from supervision.models import NoticeStatus, ProjectNotice

register = template.Library()


@register.filter
def overdue_on(obj, day: dt.date) -> bool:
    """An issue (or notice) still open and past its deadline on ``day``."""
    return bool(obj.is_overdue(day))


@register.simple_tag
def active_notice_count(project) -> int:
    """The notices in force on ``project``: one query."""
    return ProjectNotice.objects.filter(project=project, status=NoticeStatus.ACTIVE).count()
