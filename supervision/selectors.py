"""Who sees which rankings.

A scheme is visible to the people of the ranked unit's level (the unit is in their scope: the
county's supervisors and leaders) and to the people of the units it ranks or those below them
(a department sees the ranking it is in). Drafts are for the supervisors of the ranked unit.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from projects import selectors
from supervision.models import RankingScheme, RankingSnapshot, SnapshotStatus


def visible_schemes(user) -> QuerySet[RankingScheme]:
    if selectors.is_global(user):
        return RankingScheme.objects.all()
    memberships = selectors.user_memberships(user)
    if not memberships:
        return RankingScheme.objects.none()
    q = Q(pk__in=[])
    for path in selectors.scope_paths(user):
        q |= Q(parent_unit__path__startswith=path)
    # Ancestors of the user's units: every proper prefix of each unit's path.
    ancestors = set()
    for membership in memberships:
        parts = membership.unit.path.strip("/").split("/")
        ancestors.update(f"/{'/'.join(parts[:n])}/" for n in range(1, len(parts)))
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
    drafts = Q(pk__in=[])
    for path in supervised_paths(user):
        drafts |= Q(scheme__parent_unit__path__startswith=path)
    return snapshots.filter(Q(status=SnapshotStatus.PUBLISHED) | drafts)


def can_publish(user, snapshot: RankingSnapshot) -> bool:
    return selectors.can_supervise(user, snapshot.scheme.parent_unit)


def visible_alerts(user):
    """Alerts on the projects the user sees, and unit alerts (targets) in the user's scope."""
    from projects.models import Project
    from supervision.models import Alert

    if selectors.is_global(user):
        return Alert.objects.all()
    return Alert.objects.filter(
        Q(project__in=Project.objects.visible_to(user))
        | Q(project__isnull=True, unit__in=selectors.visible_units(user))
    )
