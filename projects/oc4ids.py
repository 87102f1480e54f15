"""OC4IDS 0.9 export: projects as an Open Contracting for Infrastructure Data Standard package.

A pure mapping from the database to a JSON-ready ``dict`` (no HTTP, no serialisation). The
choices are documented in docs/oc4ids.md; the shipped schema is ../shared/oc4ids/.

The export runs a fixed number of queries whatever the number of projects: everything it reads
is selected or prefetched up front.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone, translation

from projects.models import (
    BuildType,
    Category,
    FundingSource,
    Milestone,
    MilestoneKind,
    ProgressReport,
    Project,
    ProjectKind,
    Stage,
    StageChange,
    Unit,
)

OC4IDS_VERSION = "0.9"
LANGUAGE = "zh"
CURRENCY = "CNY"
# Money is kept in 万元 (10k yuan); OC4IDS amounts are in the currency's unit.
YUAN_PER_WAN = Decimal(10000)
CATEGORY_SCHEME = "county-tracker-category"
CODE_SCHEME = "county-tracker-project-code"
RELATED_PROJECT_SCHEME = "oc4ids"

# projectStatus is a closed codelist. ``suspended`` has no code: see _status().
STAGE_STATUS: dict[str, str] = {
    Stage.LEAD: "identification",
    Stage.NEGOTIATING: "identification",
    Stage.SIGNED: "identification",
    Stage.RESERVE: "identification",
    Stage.PREPARING: "preparation",
    Stage.UNDER_CONSTRUCTION: "implementation",
    Stage.COMPLETED: "completion",
    # "Maintenance ... This stage is also called operation." (projectStatus codelist)
    Stage.OPERATING: "maintenance",
    Stage.CANCELLED: "cancelled",
}
SUSPENDED_FALLBACK_STATUS = "implementation"

# projectSector is an open codelist; we only use its codes. An empty list means no code fits
# and ``sector`` is left out (the category is always kept in additionalClassifications).
CATEGORY_SECTORS: dict[str, list[str]] = {
    Category.TRANSPORT: ["transport"],
    Category.WATER: ["waterAndWaste"],
    Category.INDUSTRY: ["economy"],
    Category.AGRICULTURE: ["economy"],
    Category.TOURISM: ["cultureSportsAndRecreation"],
    Category.LOGISTICS: ["transport"],
    Category.LIVELIHOOD: ["education", "health", "socialHousing"],
    Category.ECOLOGY: ["naturalResources"],
    Category.URBAN: [],
    Category.ENERGY: ["energy"],
    Category.OTHER: [],
}

# projectType is a closed codelist; all three build types build a new asset.
BUILD_TYPE_TYPES: dict[str, str] = {
    BuildType.NEW: "construction",
    BuildType.CONTINUED: "construction",
    BuildType.RESUMED: "construction",
}

# Milestone kind -> (milestoneType, milestoneCode); None leaves the field out.
MILESTONE_KINDS: dict[str, tuple[str | None, str | None]] = {
    MilestoneKind.APPROVAL: ("approval", "projectApproval"),
    MilestoneKind.FEASIBILITY: ("approval", "projectApproval"),
    MilestoneKind.LAND: ("approval", "projectApproval"),
    MilestoneKind.PLANNING: ("approval", "projectApproval"),
    MilestoneKind.ENVIRONMENT: ("approval", "projectApproval"),
    MilestoneKind.CONSTRUCTION_PERMIT: ("approval", "projectApproval"),
    MilestoneKind.TENDERING: ("procurement", None),
    MilestoneKind.START: ("delivery", "commencement"),
    MilestoneKind.MAIN_STRUCTURE: ("delivery", None),
    MilestoneKind.ACCEPTANCE: ("delivery", "completion"),
    MilestoneKind.OPERATION: ("delivery", "commissioning"),
    MilestoneKind.CUSTOM: (None, None),
}

ROLE_PUBLIC_AUTHORITY = "publicAuthority"
ROLE_ADMINISTRATIVE_ENTITY = "administrativeEntity"
ROLE_BUYER = "buyer"
ROLE_SUPPLIER = "supplier"

# Counted reports (submitted or approved) feed the metrics, as they feed every derived total.
_REPORT_FIELDS = ("project_id", "period_key", "period_start", "period_end", "investment")


def project_package(
    projects: QuerySet[Project],
    *,
    published: dt.datetime,
    uri: str,
    publisher_name: str,
    as_of: dt.date,
    id_prefix: str | None = None,
    license: str | None = None,
    publication_policy: str | None = None,
) -> dict[str, Any]:
    """An OC4IDS 0.9 project package of ``projects``, as they stand on ``as_of``.

    ``as_of`` picks the year plan used for the project period, the cut-off of reported periods
    and the day against which open milestones are judged (overdue = ``notMet``). The schema
    requires at least one project: an empty queryset gives a package with ``projects: []``.
    ``id_prefix``: the registered project identifier prefix (``oc4ids-`` and six characters),
    by default ``settings.TRACKER_OC4IDS_PREFIX``.
    """
    id_prefix = id_prefix or settings.TRACKER_OC4IDS_PREFIX
    package: dict[str, Any] = {
        "uri": uri,
        "publishedDate": _datetime(published),
        "publisher": {"name": publisher_name},
        "version": OC4IDS_VERSION,
    }
    if license:
        package["license"] = license
    if publication_policy:
        package["publicationPolicy"] = publication_policy
    with translation.override(settings.LANGUAGE_CODE):
        package["projects"] = [
            _project(project, as_of=as_of, id_prefix=id_prefix)
            for project in _prefetched(projects, as_of)
        ]
    return package


def project_id(project: Project, id_prefix: str | None = None) -> str:
    """The project's OC4IDS identifier: the registered prefix, then the platform's id."""
    return f"{id_prefix or settings.TRACKER_OC4IDS_PREFIX}-{project.pk}"


def _prefetched(projects: QuerySet[Project], as_of: dt.date) -> QuerySet[Project]:
    counted = (
        ProgressReport.objects.counted()
        .filter(period_start__lte=as_of)
        .only(*_REPORT_FIELDS, "physical_progress")
        .order_by("period_start")
    )
    return projects.select_related(
        "lead_unit", "township", "lead_leader", "parent"
    ).prefetch_related(
        Prefetch(
            "milestones",
            queryset=Milestone.objects.order_by("due_date", "sort_order", "id"),
        ),
        "milestones__revisions",
        Prefetch("reports", queryset=counted, to_attr="oc4ids_reports"),
        "funding",
        Prefetch("cooperating_units", queryset=Unit.objects.order_by("path")),
        "year_plans",
        Prefetch("stage_changes", queryset=StageChange.objects.order_by("changed_on", "id")),
        Prefetch(
            "subprojects",
            queryset=Project.objects.only("id", "parent_id", "prior_investment").order_by("id"),
            to_attr="oc4ids_subprojects",
        ),
        Prefetch(
            "oc4ids_subprojects__reports",
            queryset=counted.only(*_REPORT_FIELDS),
            to_attr="oc4ids_reports",
        ),
    )


# ---------------------------------------------------------------------------------------------
# One project
# ---------------------------------------------------------------------------------------------


def _project(project: Project, *, as_of: dt.date, id_prefix: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": project_id(project, id_prefix),
        "updated": _datetime(project.updated_at),
        "language": LANGUAGE,
        "identifiers": [{"id": str(project.pk), "scheme": "county-tracker"}],
        "title": project.name,
    }
    if project.code:
        data["identifiers"].append({"id": project.code, "scheme": CODE_SCHEME})
    if project.description.strip():
        data["description"] = project.description.strip()
    data["status"] = _status(project)
    if project.kind == ProjectKind.PROJECT and project.build_type in BUILD_TYPE_TYPES:
        data["type"] = BUILD_TYPE_TYPES[project.build_type]
    sectors = CATEGORY_SECTORS.get(project.category, [])
    if sectors:
        data["sector"] = list(sectors)
    data["additionalClassifications"] = [
        {
            "scheme": CATEGORY_SCHEME,
            "id": project.category,
            "description": str(project.get_category_display()),
        }
    ]
    data["publicAuthority"] = {
        "id": _unit_party_id(project.lead_unit),
        "name": project.lead_unit.name,
    }
    parties = _parties(project)
    data["parties"] = parties
    period = _period(project, as_of)
    if period:
        data["period"] = period
    budget = _budget(project)
    if budget:
        data["budget"] = budget
    locations = _locations(project)
    if locations:
        data["locations"] = locations
    milestones = [_milestone(m, as_of) for m in project.milestones.all()]
    if milestones:
        data["milestones"] = milestones
    metrics = _metrics(project)
    if metrics:
        data["metrics"] = metrics
    completion = _completion(project, metrics)
    if completion:
        data["completion"] = completion
    if project.parent_id:
        data["relatedProjects"] = [
            {
                "id": "1",
                "scheme": RELATED_PROJECT_SCHEME,
                "identifier": project_id(project.parent, id_prefix),
                "relationship": "parent",
                "title": project.parent.name,
            }
        ]
    return data


def _status(project: Project) -> str:
    if project.stage != Stage.SUSPENDED:
        return STAGE_STATUS[project.stage]
    # No "suspended" code: report the phase the project was in when it was suspended.
    changes = list(project.stage_changes.all())
    for change in reversed(changes):
        if change.to_stage == Stage.SUSPENDED and change.from_stage in STAGE_STATUS:
            return STAGE_STATUS[change.from_stage]
    return SUSPENDED_FALLBACK_STATUS


def _period(project: Project, as_of: dt.date) -> dict[str, str]:
    plans = [p for p in project.year_plans.all() if p.year <= as_of.year]
    plans.sort(key=lambda p: p.year)
    start = next((p.planned_start for p in reversed(plans) if p.planned_start), None)
    end = next((p.planned_completion for p in reversed(plans) if p.planned_completion), None)
    period: dict[str, str] = {}
    if start:
        period["startDate"] = _day_start(start)
    if end:
        period["endDate"] = _day_end(end)
    return period


def _budget(project: Project) -> dict[str, Any]:
    if project.kind != ProjectKind.PROJECT:
        return {}
    budget: dict[str, Any] = {"amount": _value(project.total_investment)}
    lines = [
        {
            "id": funding.source,
            "description": str(FundingSource(funding.source).label),
            "amount": _value(funding.planned),
        }
        for funding in sorted(project.funding.all(), key=_funding_order)
    ]
    if lines:
        budget["budgetBreakdowns"] = [
            {"id": "funding-source", "description": "按资金来源", "budgetBreakdown": lines}
        ]
    return budget


def _funding_order(funding) -> int:
    return list(FundingSource.values).index(funding.source)


# ---------------------------------------------------------------------------------------------
# Parties
# ---------------------------------------------------------------------------------------------


def _unit_party_id(unit: Unit) -> str:
    return f"unit-{unit.pk}"


def _name_party_id(name: str) -> str:
    # Owners and contractors are free text: the same name gives the same id in every project.
    return "org-" + hashlib.sha256(name.encode()).hexdigest()[:12]


def _parties(project: Project) -> list[dict[str, Any]]:
    parties: dict[str, dict[str, Any]] = {}

    def add(party_id: str, name: str, role: str) -> dict[str, Any]:
        party = parties.setdefault(party_id, {"id": party_id, "name": name, "roles": []})
        if role not in party["roles"]:
            party["roles"].append(role)
        return party

    lead = add(_unit_party_id(project.lead_unit), project.lead_unit.name, ROLE_PUBLIC_AUTHORITY)
    if project.lead_leader:
        lead["people"] = [
            {
                "id": f"leader-{project.lead_leader.pk}",
                "name": project.lead_leader.name,
                "jobTitle": project.lead_leader.title,
            }
        ]
    for unit in project.cooperating_units.all():
        add(_unit_party_id(unit), unit.name, ROLE_ADMINISTRATIVE_ENTITY)
    for name, role in _named_parties(project):
        add(_name_party_id(name), name, role)
    return list(parties.values())


def _named_parties(project: Project) -> Iterable[tuple[str, str]]:
    for name, role in (
        (project.owner, ROLE_BUYER),
        (project.contractor, ROLE_SUPPLIER),
        (project.supervising_engineer, ROLE_SUPPLIER),
    ):
        if name.strip():
            yield name.strip(), role


# ---------------------------------------------------------------------------------------------
# Locations, milestones, metrics, completion
# ---------------------------------------------------------------------------------------------


def _locations(project: Project) -> list[dict[str, Any]]:
    location: dict[str, Any] = {"id": "1"}
    if project.location.strip():
        location["description"] = project.location.strip()
    if project.latitude is not None and project.longitude is not None:
        # GeoJSON order: longitude first.
        location["geometry"] = {
            "type": "Point",
            "coordinates": [float(project.longitude), float(project.latitude)],
        }
    if project.township:
        location["address"] = {"locality": project.township.name, "countryName": "中国"}
    return [location] if len(location) > 1 else []


def _milestone(milestone: Milestone, as_of: dt.date) -> dict[str, Any]:
    data: dict[str, Any] = {"id": f"milestone-{milestone.pk}", "title": milestone.name}
    kind_type, kind_code = MILESTONE_KINDS.get(milestone.kind, (None, None))
    if kind_type:
        data["type"] = kind_type
    if kind_code:
        data["code"] = kind_code
    description = _milestone_description(milestone)
    if description:
        data["description"] = description
    data["dueDate"] = _day_start(milestone.due_date)
    if milestone.done_date:
        data["status"] = "met"
        data["dateMet"] = _day_start(milestone.done_date)
    elif milestone.due_date < as_of:
        data["status"] = "notMet"
    else:
        data["status"] = "scheduled"
    data["dateModified"] = _datetime(milestone.updated_at)
    return data


def _milestone_description(milestone: Milestone) -> str:
    # Chinese data in a Chinese package: the revision log (标明原因、修订时间) in one line each.
    lines = [milestone.note.strip()] if milestone.note.strip() else []
    lines += [
        f"计划日期由{r.previous_due_date.isoformat()}调整为{r.new_due_date.isoformat()}"
        f"（{timezone.localdate(r.created_at).isoformat()}修订，原因：{r.reason}）"
        for r in sorted(milestone.revisions.all(), key=lambda r: (r.created_at, r.pk))
    ]
    return "\n".join(lines)


def _metrics(project: Project) -> list[dict[str, Any]]:
    """financialProgress from every counted report (own, or the sub-projects' for a bundle);
    physicalProgress from the project's own reports. One observation per reporting period."""
    subprojects = project.oc4ids_subprojects
    reports: list[ProgressReport] = list(project.oc4ids_reports)
    prior = project.prior_investment
    for sub in subprojects:
        reports += sub.oc4ids_reports
        prior += sub.prior_investment
    by_period: dict[str, tuple[ProgressReport, Decimal]] = {}
    for report in sorted(reports, key=lambda r: r.period_start):
        _, amount = by_period.get(report.period_key, (report, Decimal(0)))
        by_period[report.period_key] = (report, amount + report.investment)
    financial = []
    cumulative = prior
    for key, (report, amount) in by_period.items():
        cumulative += amount
        financial.append(
            {
                "id": key,
                "period": _period_of(report),
                "value": _value(cumulative),
            }
        )
    metrics = []
    # A key task (重点工作) has no investment: its zero figures would say nothing.
    if financial and project.kind == ProjectKind.PROJECT:
        metrics.append({"id": "financialProgress", "observations": financial})
    physical = []
    for report in project.oc4ids_reports:
        observation: dict[str, Any] = {"id": report.period_key, "period": _period_of(report)}
        if report.physical_progress.strip():
            observation["notes"] = report.physical_progress.strip()
        physical.append(observation)
    if physical:
        metrics.append({"id": "physicalProgress", "observations": physical})
    return metrics


def _period_of(report: ProgressReport) -> dict[str, str]:
    return {"startDate": _day_start(report.period_start), "endDate": _day_end(report.period_end)}


def _completion(project: Project, metrics: list[dict[str, Any]]) -> dict[str, Any]:
    if project.stage not in (Stage.COMPLETED, Stage.OPERATING):
        return {}
    completion: dict[str, Any] = {}
    completed_on = next(
        (
            change.changed_on
            for change in reversed(list(project.stage_changes.all()))
            if change.to_stage == Stage.COMPLETED
        ),
        project.stage_changed_on if project.stage == Stage.COMPLETED else None,
    )
    if completed_on:
        completion["endDate"] = _day_start(completed_on)
    financial = next((m for m in metrics if m["id"] == "financialProgress"), None)
    if financial:
        completion["finalValue"] = financial["observations"][-1]["value"]
    elif project.kind == ProjectKind.PROJECT and project.prior_investment:
        completion["finalValue"] = _value(project.prior_investment)
    return completion


# ---------------------------------------------------------------------------------------------
# Values and dates
# ---------------------------------------------------------------------------------------------


def _value(wan: Decimal) -> dict[str, Any]:
    """万元 (two decimals) to whole yuan: exact, and an integer JSON number."""
    yuan = (wan * YUAN_PER_WAN).quantize(Decimal(1))
    return {"amount": int(yuan), "currency": CURRENCY}


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _datetime(value: dt.datetime) -> str:
    if timezone.is_naive(value):
        value = value.replace(tzinfo=_zone())
    return value.astimezone(_zone()).isoformat(timespec="seconds")


def _day_start(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time.min, tzinfo=_zone()).isoformat(timespec="seconds")


def _day_end(day: dt.date) -> str:
    end = dt.time(23, 59, 59)
    return dt.datetime.combine(day, end, tzinfo=_zone()).isoformat(timespec="seconds")
