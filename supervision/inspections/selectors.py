"""Who sees which inspections, meetings and project notices (DESIGN.md §1, §3).

An inspection or a meeting concerns the units and projects it names: a user sees it when the
organising (convening) unit, a unit visited (attending or absent), a project visited (on the
agenda) or the responsible unit of an issue it raised is in the user's scope. A project notice
is seen by whoever sees its project. Only supervisors over the organising unit write.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from projects import selectors
from supervision.models import Inspection, Issue, Meeting, ProjectNotice


def visible_inspections(user) -> QuerySet[Inspection]:
    if selectors.is_global(user):
        return Inspection.objects.all()
    paths = selectors.scope_paths(user)
    if not paths:
        return Inspection.objects.none()
    in_scope = selectors.under(paths, "unit__path")  # a unit in one of the user's subtrees
    through = Inspection.units_visited.through.objects
    visited_units = through.filter(in_scope).values("inspection_id")
    visited_projects = Inspection.projects.through.objects.filter(
        project__in=selectors.visible_projects(user)
    ).values("inspection_id")
    raised = Issue.objects.filter(in_scope, inspection__isnull=False).values("inspection_id")
    return Inspection.objects.filter(
        in_scope | Q(pk__in=visited_units) | Q(pk__in=visited_projects) | Q(pk__in=raised)
    )


def visible_meetings(user) -> QuerySet[Meeting]:
    if selectors.is_global(user):
        return Meeting.objects.all()
    paths = selectors.scope_paths(user)
    if not paths:
        return Meeting.objects.none()
    in_scope = selectors.under(paths, "unit__path")  # a unit in one of the user's subtrees
    attending = Meeting.attendees.through.objects.filter(in_scope).values("meeting_id")
    absent = Meeting.absentees.through.objects.filter(in_scope).values("meeting_id")
    agenda = Meeting.projects.through.objects.filter(
        project__in=selectors.visible_projects(user)
    ).values("meeting_id")
    decided = Issue.objects.filter(in_scope, meeting__isnull=False).values("meeting_id")
    return Meeting.objects.filter(
        in_scope | Q(pk__in=attending) | Q(pk__in=absent) | Q(pk__in=agenda) | Q(pk__in=decided)
    )


def visible_notices(user) -> QuerySet[ProjectNotice]:
    if selectors.is_global(user):
        return ProjectNotice.objects.all()
    return ProjectNotice.objects.filter(project__in=selectors.visible_projects(user))
