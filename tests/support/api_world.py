"""A small county with one of every object the API writes, for tests that call the whole API
(the Schemathesis conformance run, the catalogue of bad bodies). Build it once per module, inside
``tests.support.worlds.built_once``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from projects import services, tokens
from projects.models import Leader, Project, Role, Unit
from supervision.inspections import services as inspection_services
from tests import factories
from tracker import periods


@dataclass
class ApiWorld:
    headers: dict[str, str]  # the supervisor's READ-WRITE token
    supervisor: object
    county: Unit
    unit_a: Unit
    project_a: Project
    leader: Leader


def build_api_world(today: dt.date) -> ApiWorld:
    """A county with two departments, a supervisor, projects with milestones, reports, funding,
    an application, a target, an inspection, a meeting and a notice; the supervisor's
    READ-WRITE token."""
    county = factories.UnitFactory(
        name="示范县", kind="county", parent=factories.UnitFactory(name="示范市", kind="city")
    )
    unit_a = factories.UnitFactory(name="交通运输局", kind="department", parent=county)
    unit_b = factories.UnitFactory(name="水利局", kind="department", parent=county)
    reporter_a = factories.member(unit_a, Role.REPORTER, username="reporter_a")
    reporter_b = factories.member(unit_b, Role.REPORTER, username="reporter_b")
    supervisor = factories.member(county, Role.SUPERVISOR, username="supervisor")
    leader = Leader.objects.create(name="张县长", title="副县长", unit=county)

    project_a = factories.create_project(
        actor=reporter_a, lead_unit=unit_a, name="城区至园区公路改扩建"
    )
    project_b = factories.create_project(actor=reporter_b, lead_unit=unit_b, name="水库除险加固")
    project_a.lead_leader = leader
    project_a.save(update_fields=["lead_leader"])
    for project, actor in [(project_a, reporter_a), (project_b, reporter_b)]:
        milestone = factories.create_milestone(
            project=project, actor=actor, due_date=today - dt.timedelta(days=5)
        )
        services.milestone_revise(
            milestone=milestone,
            new_due_date=today - dt.timedelta(days=3),
            reason="征地延后",
            actor=actor,
        )
        factories.create_milestone(
            project=project,
            actor=actor,
            due_date=today + dt.timedelta(days=30),
            name="竣工验收",
            kind="acceptance",
        )
        services.report_save(
            project=project,
            period=periods.parse("2026-10"),
            actor=actor,
            investment=Decimal("300.25"),
            physical_progress="路基完成80%",
        )
        services.funding_set(
            project=project,
            source="county_fiscal",
            planned=Decimal("1000"),
            arrived=Decimal("400.50"),
            actor=actor,
        )
    services.funding_application_save(
        actor=reporter_a,
        unit=unit_a,
        year=2026,
        title="国省干线公路补助",
        channel="upper_special",
        requested=Decimal("800"),
    )
    services.target_set(
        actor=supervisor, unit=unit_a, year=2026, metric="funding", target_value=Decimal("5000")
    )
    # An inspection, a meeting and a notice: their details, writes and actions meet real rows.
    inspection = inspection_services.inspection_create(
        actor=supervisor,
        title="专项督查",
        kind="special",
        held_on=today,
        unit=county,
        inspectors="谭建军",
        projects=[project_a],
        units_visited=[unit_a],
    )
    inspection_services.inspection_set_scores(
        inspection=inspection, actor=supervisor, scores=[{"project": project_a, "score": "88"}]
    )
    inspection_services.meeting_create(
        actor=supervisor,
        title="调度会",
        kind="dispatch",
        held_on=today,
        unit=county,
        host=leader,
        attendees=[unit_a],
        absentees=[unit_b],
        projects=[project_b],
    )
    inspection_services.notice_issue(
        project=project_b,
        actor=supervisor,
        kind="deadline",
        requirement="限期开工",
        deadline=today + dt.timedelta(days=30),
        consequence="逾期取消项目",
    )
    _token, secret = tokens.token_create(
        user=supervisor, name="schemathesis", write=True, actor=supervisor
    )
    return ApiWorld(
        headers={"Authorization": f"Bearer {secret}"},
        supervisor=supervisor,
        county=county,
        unit_a=unit_a,
        project_a=project_a,
        leader=leader,
    )
