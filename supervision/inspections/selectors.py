"""Who sees which inspections, meetings and project notices (DESIGN.md §1, §3).

An inspection or a meeting concerns the units and projects it names: a user sees it when the
organising (convening) unit, a unit visited (attending or absent), a project visited (on the
agenda) or the responsible unit of an issue it raised is in the user's scope. A project notice
is seen by whoever sees its project. Only supervisors over the organising unit write.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from projects import selectors
from supervision.models import Inspection, Issue, Meeting, ProjectNotice


def _under(field: str, paths: Iterable[str]) -> Q:
    """``field`` (a unit) lies in one of the subtrees ``paths``."""
    return selectors.under(paths, f"{field}__path")


def visible_inspections(user) -> QuerySet[Inspection]:
    if selectors.is_global(user):
        return Inspection.objects.all()
    paths = selectors.scope_paths(user)
    if not paths:
        return Inspection.objects.none()
    through = Inspection.units_visited.through.objects
    visited_units = through.filter(_under("unit", paths)).values("inspection_id")
    visited_projects = Inspection.projects.through.objects.filter(
        project__in=selectors.visible_projects(user)
    ).values("inspection_id")
    raised = Issue.objects.filter(_under("unit", paths), inspection__isnull=False).values(
        "inspection_id"
    )
    return Inspection.objects.filter(
        _under("unit", paths)
        | Q(pk__in=visited_units)
        | Q(pk__in=visited_projects)
        | Q(pk__in=raised)
    )


def visible_meetings(user) -> QuerySet[Meeting]:
    if selectors.is_global(user):
        return Meeting.objects.all()
    paths = selectors.scope_paths(user)
    if not paths:
        return Meeting.objects.none()
    attending = Meeting.attendees.through.objects.filter(_under("unit", paths)).values("meeting_id")
    absent = Meeting.absentees.through.objects.filter(_under("unit", paths)).values("meeting_id")
    agenda = Meeting.projects.through.objects.filter(
        project__in=selectors.visible_projects(user)
    ).values("meeting_id")
    decided = Issue.objects.filter(_under("unit", paths), meeting__isnull=False).values(
        "meeting_id"
    )
    return Meeting.objects.filter(
        _under("unit", paths)
        | Q(pk__in=attending)
        | Q(pk__in=absent)
        | Q(pk__in=agenda)
        | Q(pk__in=decided)
    )


def visible_notices(user) -> QuerySet[ProjectNotice]:
    if selectors.is_global(user):
        return ProjectNotice.objects.all()
    return ProjectNotice.objects.filter(project__in=selectors.visible_projects(user))


def _path_in(paths: Iterable[str]) -> Q:
    return selectors.under(paths)
