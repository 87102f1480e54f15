"""Who sees which rankings.

A scheme is visible to the people of the ranked unit's level (the unit is in their scope: the
county's supervisors and leaders) and to the people of the units it ranks or those below them
(a department sees the ranking it is in). Drafts are for the supervisors of the ranked unit.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from projects import selectors
from projects.models import Project, Role, Unit, UnitKind, path_prefixes
from supervision.models import (
    Alert,
    Issue,
    IssueStatus,
    RankingScheme,
    RankingSnapshot,
    SnapshotStatus,
)

# The roles with which a unit's people work its issues (report, rectify, answer).
UNIT_ROLES = frozenset({Role.REPORTER, Role.UNIT_HEAD, Role.SUPERVISOR, Role.ADMIN})


def visible_schemes(user) -> QuerySet[RankingScheme]:
    if selectors.is_global(user):
        return RankingScheme.objects.all()
    memberships = selectors.user_memberships(user)
    if not memberships:
        return RankingScheme.objects.none()
    q = selectors.under(selectors.scope_paths(user), "parent_unit__path")
    # Ancestors of the user's units: every proper prefix of each unit's path.
    ancestors = set()
    for membership in memberships:
        ancestors.update(path_prefixes(membership.unit.path)[:-1])
    if ancestors:
        q |= Q(parent_unit__path__in=sorted(ancestors))
    return RankingScheme.objects.filter(q)


def supervised_paths(user) -> list[str]:
    return selectors.scope_paths(user, selectors.SUPERVISE_ROLES)


def visible_snapshots(user) -> QuerySet[RankingSnapshot]:
    """Published snapshots of the visible schemes, and drafts where the user supervises."""
    snapshots = RankingSnapshot.objects.filter(scheme__in=visible_schemes(user))
    if selectors.is_global(user):
        return snapshots
    drafts = selectors.under(supervised_paths(user), "scheme__parent_unit__path")
    return snapshots.filter(Q(status=SnapshotStatus.PUBLISHED) | drafts)


def can_publish(user, snapshot: RankingSnapshot) -> bool:
    return selectors.can_supervise(user, snapshot.scheme.parent_unit)


def visible_alerts(user):
    """Alerts on the projects the user sees, and unit alerts (targets) in the user's scope."""

    if selectors.is_global(user):
        return Alert.objects.all()
    return Alert.objects.filter(
        Q(project__in=selectors.visible_projects(user))
        | Q(project__isnull=True, unit__in=selectors.visible_units(user))
    )


# ---------------------------------------------------------------------------------------------
# The ledger
# ---------------------------------------------------------------------------------------------


def issue_visibility_filter(user) -> Q:
    """Issues of units in the user's scope, on projects the user sees, asked for by the user's
    units, or assigned to the user as leader."""

    if selectors.is_global(user):
        return Q()
    paths = selectors.scope_paths(user)
    q = selectors.under(paths, "unit__path") | selectors.under(paths, "requested_by_unit__path")
    q |= Q(project__in=selectors.visible_projects(user))
    q |= Q(leader__user=user)
    return q


def visible_issues(user):

    if not getattr(user, "is_authenticated", False):
        return Issue.objects.none()
    return Issue.objects.filter(issue_visibility_filter(user))


def office_queue(user):
    """What waits for the supervision office: pending requests and upward urges on issues of
    units the user supervises."""

    queue = Issue.objects.filter(Q(status=IssueStatus.PENDING) | Q(awaiting_office=True))
    if selectors.is_global(user):
        return queue
    return queue.filter(selectors.under(supervised_paths(user), "unit__path"))


def can_raise_issues(user) -> bool:
    return selectors.is_global(user) or bool(supervised_paths(user))


def can_request_help(user, unit: Unit | None = None) -> bool:
    """The user may ask the county for help (请求协调) on behalf of ``unit``: as one of its
    people (UNIT_ROLES) or above it; with no unit, on behalf of any unit at all."""
    if unit is not None:
        return selectors.has_role_over(user, unit, UNIT_ROLES)
    return selectors.is_global(user) or bool(selectors.scope_paths(user, UNIT_ROLES))


# --- what a supervision write may name (inspections, meetings, issues) ---------------------------


def supervised_units(user) -> QuerySet[Unit]:
    """Active units the user may organise an inspection or convene a meeting for."""
    units = Unit.objects.active()
    if selectors.is_global(user):
        return units
    return units.filter(selectors.under(selectors.scope_paths(user, selectors.SUPERVISE_ROLES)))


def referable_units(user) -> QuerySet[Unit]:
    """Units the lists of inspections and meetings filter by: the user's, villages aside."""
    return selectors.visible_units(user).filter(is_active=True).exclude(kind=UnitKind.VILLAGE)


def units_to_name(user) -> QuerySet[Unit]:
    """Units an inspection may visit and a meeting may name as attending or absent: those the
    user supervises, villages aside (being marked absent is a supervisor's finding on a unit)."""
    return supervised_units(user).exclude(kind=UnitKind.VILLAGE)


def projects_to_name(user) -> QuerySet[Project]:
    """Projects an inspection may visit (and score), a meeting put on its agenda and an issue
    concern: those whose responsible unit the user supervises (a visit's score counts in that
    unit's ranking; seeing a project as its township or a cooperating unit is not enough)."""
    return selectors.supervised_projects(user)


def leaders_to_name(user) -> QuerySet:
    """Leaders a meeting may have as host or an issue as its leader: those of the counties (or
    cities) of the units the user supervises, and above them."""
    return selectors.leaders_of(selectors.jurisdiction_paths(user, selectors.SUPERVISE_ROLES))
