from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from projects import services
from projects.models import Milestone
from tests import factories


def test_revisions_keep_every_due_date_with_reason_actor_and_time(
    project_a, reporter_a, supervisor
):
    milestone = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 9, 30)
    )
    services.milestone_revise(
        milestone=milestone,
        new_due_date=dt.date(2026, 10, 31),
        reason="征地未完成",
        actor=reporter_a,
    )
    services.milestone_revise(
        milestone=milestone,
        new_due_date=dt.date(2026, 12, 15),
        reason="环评批复延后",
        actor=supervisor,
    )
    milestone.refresh_from_db()
    assert milestone.due_date == dt.date(2026, 12, 15)
    assert milestone.original_due_date == dt.date(2026, 9, 30)
    assert milestone.version == 3
    history = list(
        milestone.revisions.values_list("previous_due_date", "new_due_date", "reason", "actor")
    )
    assert history == [
        (dt.date(2026, 9, 30), dt.date(2026, 10, 31), "征地未完成", reporter_a.pk),
        (dt.date(2026, 10, 31), dt.date(2026, 12, 15), "环评批复延后", supervisor.pk),
    ]
    assert all(r.created_at for r in milestone.revisions.all())


def test_a_revision_needs_a_reason(project_a, reporter_a):
    milestone = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 9, 30)
    )
    with pytest.raises(ValidationError, match="请填写调整"):
        services.milestone_revise(
            milestone=milestone, new_due_date=dt.date(2026, 10, 31), reason="  ", actor=reporter_a
        )
    milestone.refresh_from_db()
    assert milestone.due_date == dt.date(2026, 9, 30)
    assert not milestone.revisions.exists()


def test_complete_and_overdue(project_a, reporter_a, today):
    late = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 10, 1), name="可研批复"
    )
    open_overdue = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 11, 1), name="施工许可"
    )
    factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 12, 1), name="开工"
    )
    services.milestone_complete(milestone=late, done_date=dt.date(2026, 10, 9), actor=reporter_a)
    late.refresh_from_db()
    assert late.was_late()
    assert list(Milestone.objects.overdue_on(today)) == [open_overdue]
    with pytest.raises(ValidationError):
        services.milestone_complete(milestone=late, done_date=today, actor=reporter_a)
    with pytest.raises(ValidationError):
        services.milestone_complete(
            milestone=open_overdue, done_date=today + dt.timedelta(days=1), actor=reporter_a
        )


def test_other_unit_cannot_touch_milestones(project_a, reporter_a, reporter_b):
    milestone = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 9, 30)
    )
    with pytest.raises(PermissionDenied):
        services.milestone_revise(
            milestone=milestone, new_due_date=dt.date(2027, 1, 1), reason="x", actor=reporter_b
        )
    with pytest.raises(PermissionDenied):
        services.milestone_complete(
            milestone=milestone, done_date=dt.date(2026, 9, 30), actor=reporter_b
        )
    milestone.refresh_from_db()
    assert milestone.due_date == dt.date(2026, 9, 30) and milestone.done_date is None


def test_stale_version_is_refused(project_a, reporter_a):
    milestone = factories.create_milestone(
        project=project_a, actor=reporter_a, due_date=dt.date(2026, 9, 30)
    )
    services.milestone_revise(
        milestone=milestone,
        new_due_date=dt.date(2026, 10, 31),
        reason="a",
        actor=reporter_a,
        expected_version=1,
    )
    with pytest.raises(services.VersionConflict):
        services.milestone_revise(
            milestone=milestone,
            new_due_date=dt.date(2026, 12, 31),
            reason="b",
            actor=reporter_a,
            expected_version=1,
        )
    milestone.refresh_from_db()
    assert milestone.due_date == dt.date(2026, 10, 31)


def test_plan_backward_from_the_target_date(project_a, reporter_a):
    created = services.milestones_plan_backward(
        project=project_a, actor=reporter_a, target_date=dt.date(2028, 6, 30)
    )
    due = {m.name: m.due_date for m in created}
    assert due["竣工验收"] == dt.date(2028, 6, 30)
    assert due["开工"] == dt.date(2028, 6, 30) - dt.timedelta(days=420)
    assert list(due.values()) == sorted(due.values())
    again = services.milestones_plan_backward(
        project=project_a, actor=reporter_a, target_date=dt.date(2029, 1, 1)
    )
    assert again == []
    assert project_a.milestones.count() == len(created)


def test_plan_backward_respects_scope(project_a, reporter_b):
    with pytest.raises(PermissionDenied):
        services.milestones_plan_backward(
            project=project_a, actor=reporter_b, target_date=dt.date(2028, 6, 30)
        )
    assert not project_a.milestones.exists()
