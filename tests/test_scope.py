"""Unit-scope rules of the services: who may change what."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from projects import selectors, services
from projects.models import Project, Role, StageChange
from tests import factories


def test_reporter_cannot_change_another_units_project(reporter_a, project_b):
    before = Project.objects.get(pk=project_b.pk)
    with pytest.raises(PermissionDenied):
        services.project_update(project=project_b, actor=reporter_a, name="被篡改")
    with pytest.raises(PermissionDenied):
        services.project_change_stage(
            project=project_b,
            to_stage="preparing",
            changed_on=dt.date(2026, 1, 5),
            actor=reporter_a,
        )
    after = Project.objects.get(pk=project_b.pk)
    assert (after.name, after.stage, after.version) == (before.name, before.stage, before.version)
    assert StageChange.objects.filter(project=project_b).count() == 1


def test_reporter_cannot_create_projects_for_another_unit(reporter_a, unit_b):
    with pytest.raises(PermissionDenied):
        factories.create_project(actor=reporter_a, lead_unit=unit_b)
    assert not Project.objects.filter(lead_unit=unit_b).exists()


def test_reporter_cannot_hand_a_project_to_a_unit_outside_scope(reporter_a, project_a, unit_b):
    with pytest.raises(PermissionDenied):
        services.project_update(project=project_a, actor=reporter_a, lead_unit=unit_b)
    project_a.refresh_from_db()
    assert project_a.lead_unit.name == "交通运输局"


def test_own_unit_and_supervisor_may_edit(reporter_a, supervisor, project_a):
    services.project_update(project=project_a, actor=reporter_a, total_investment=Decimal("15000"))
    services.project_update(project=project_a, actor=supervisor, owner="示范县交投公司")
    project_a.refresh_from_db()
    assert project_a.total_investment == Decimal("15000")
    assert project_a.owner == "示范县交投公司"
    assert project_a.version == 3


def test_leader_reads_but_does_not_write(leader, project_a, project_b):
    assert set(selectors.visible_projects(leader)) == {project_a, project_b}
    with pytest.raises(PermissionDenied):
        services.project_update(project=project_a, actor=leader, name="x")


def test_visibility_follows_unit_scope(reporter_a, reporter_b, supervisor, project_a, project_b):
    assert list(selectors.visible_projects(reporter_a)) == [project_a]
    assert list(selectors.visible_projects(reporter_b)) == [project_b]
    assert set(selectors.visible_projects(supervisor)) == {project_a, project_b}


def test_cooperating_unit_and_township_see_the_project(
    county, reporter_a, project_a, project_b, unit_b, reporter_b
):
    town = factories.UnitFactory(name="城关镇", kind="township", parent=county)
    town_clerk = factories.member(town, Role.REPORTER, username="town_clerk")
    assert not selectors.visible_projects(town_clerk).exists()
    services.project_update(
        project=project_a, actor=reporter_a, township=town, cooperating_units=[unit_b]
    )
    assert list(selectors.visible_projects(town_clerk)) == [project_a]
    assert set(selectors.visible_projects(reporter_b).values_list("name", flat=True)) == {
        "城区至园区公路改扩建",
        "水库除险加固",
    }
    # Seeing is not editing: the cooperating unit's reporter cannot change it.
    with pytest.raises(PermissionDenied):
        services.project_update(project=project_a, actor=reporter_b, name="x")


def test_anonymous_sees_nothing(project_a):
    from django.contrib.auth.models import AnonymousUser

    assert not selectors.visible_projects(AnonymousUser()).exists()


def test_only_supervisors_give_red_cards(reporter_a, supervisor, project_a):
    with pytest.raises(PermissionDenied):
        services.project_set_red_card(
            project=project_a, actor=reporter_a, red_card=True, reason="进度严重滞后"
        )
    services.project_set_red_card(
        project=project_a, actor=supervisor, red_card=True, reason="进度严重滞后"
    )
    project_a.refresh_from_db()
    assert project_a.red_card and project_a.red_card_reason == "进度严重滞后"


def test_targets_are_set_by_supervisors_and_reported_by_the_unit(
    unit_a, reporter_a, reporter_b, supervisor
):
    with pytest.raises(PermissionDenied):
        services.target_set(
            actor=reporter_a, unit=unit_a, year=2026, metric="funding", target_value=Decimal("5000")
        )
    target = services.target_set(
        actor=supervisor, unit=unit_a, year=2026, metric="funding", target_value=Decimal("5000")
    )
    assert target.is_zero
    with pytest.raises(PermissionDenied):
        services.target_record_actual(target=target, actual_value=Decimal("1"), actor=reporter_b)
    services.target_record_actual(target=target, actual_value=Decimal("1250"), actor=reporter_a)
    target.refresh_from_db()
    assert target.completion_rate == Decimal("0.25")
