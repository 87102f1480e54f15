from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from projects import services
from projects.models import Stage, StageChange
from tests import factories


def test_new_projects_enter_the_funnel_by_source(reporter_a, unit_a, today):
    government = factories.create_project(actor=reporter_a, lead_unit=unit_a, source="government")
    attracted = factories.create_project(actor=reporter_a, lead_unit=unit_a, source="attraction")
    assert government.stage == Stage.RESERVE
    assert attracted.stage == Stage.LEAD
    first = StageChange.objects.get(project=attracted)
    assert (first.from_stage, first.to_stage, first.changed_on, first.actor) == (
        "",
        Stage.LEAD,
        today,
        reporter_a,
    )


def test_every_stage_change_is_logged_with_date_and_actor(reporter_a, supervisor, unit_a):
    project = factories.create_project(
        actor=reporter_a, lead_unit=unit_a, source="attraction", stage_date=dt.date(2026, 1, 10)
    )
    steps = [
        ("negotiating", dt.date(2026, 2, 1), reporter_a),
        ("signed", dt.date(2026, 3, 15), reporter_a),
        ("preparing", dt.date(2026, 4, 1), supervisor),
        ("under_construction", dt.date(2026, 6, 18), reporter_a),
    ]
    for stage, day, actor in steps:
        services.project_change_stage(project=project, to_stage=stage, changed_on=day, actor=actor)
    project.refresh_from_db()
    assert project.stage == Stage.UNDER_CONSTRUCTION
    assert project.stage_changed_on == dt.date(2026, 6, 18)
    log = list(project.stage_changes.values_list("from_stage", "to_stage", "changed_on", "actor"))
    assert log == [
        ("", "lead", dt.date(2026, 1, 10), reporter_a.pk),
        ("lead", "negotiating", dt.date(2026, 2, 1), reporter_a.pk),
        ("negotiating", "signed", dt.date(2026, 3, 15), reporter_a.pk),
        ("signed", "preparing", dt.date(2026, 4, 1), supervisor.pk),
        ("preparing", "under_construction", dt.date(2026, 6, 18), reporter_a.pk),
    ]
    # "签约到开工" days come straight from the log.
    signed = project.stage_changes.get(to_stage="signed").changed_on
    started = project.stage_changes.get(to_stage="under_construction").changed_on
    assert (started - signed).days == 95


@pytest.mark.parametrize(
    ("stage", "day", "message"),
    [
        ("reserve", dt.date(2026, 11, 1), "已处于该阶段"),
        ("preparing", dt.date(2026, 11, 22), "不能晚于今天"),
        ("preparing", dt.date(2026, 11, 19), "早于上一次阶段变更"),
        ("flying", dt.date(2026, 11, 21), "未知的阶段"),
    ],
)
def test_bad_stage_changes_are_refused_and_change_nothing(reporter_a, unit_a, stage, day, message):
    project = factories.create_project(
        actor=reporter_a, lead_unit=unit_a, stage_date=dt.date(2026, 11, 20)
    )
    with pytest.raises(ValidationError, match=message):
        services.project_change_stage(
            project=project, to_stage=stage, changed_on=day, actor=reporter_a
        )
    project.refresh_from_db()
    assert project.stage == Stage.RESERVE
    assert project.stage_changes.count() == 1
