"""The OC4IDS 0.9 schema and code lists of ../shared/oc4ids, to check what the export says."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import re
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import jsonschema
import referencing
from referencing.jsonschema import DRAFT4

from projects.oc4ids import project_package

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "shared" / "oc4ids"
PUBLISHED = dt.datetime(2026, 11, 21, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
AS_OF = dt.date(2026, 11, 21)
# The export's queries, whatever the number of projects: one for the projects (with lead unit,
# township, lead leader and parent joined), one per prefetch: milestones, their revisions,
# counted reports, funding, cooperating units, year plans, stage changes, sub-projects and the
# sub-projects' counted reports.
EXPORT_QUERIES = 10
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def format_checker() -> jsonschema.FormatChecker:
    """date-time (RFC 3339 with an offset) and uri (absolute), without optional packages."""
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("date-time", raises=ValueError)
    def is_datetime(value: object) -> bool:
        if not isinstance(value, str):
            return True
        return bool(RFC3339.match(value)) and dt.datetime.fromisoformat(value) is not None

    @checker.checks("uri")
    def is_uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlparse(value)
        return bool(parts.scheme and (parts.netloc or parts.path))

    return checker


@functools.cache
def package_validator() -> jsonschema.Draft4Validator:
    """A validator of a project package against the shipped schema, offline."""
    schemas = [
        json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8"))
        for name in ("project-package-schema.json", "project-schema.json")
    ]
    # The package refers to the project schema by its published URL: serve the local copy.
    registry = referencing.Registry().with_resources(
        (schema["id"], DRAFT4.create_resource(schema)) for schema in schemas
    )
    package_schema = schemas[0]
    assert package_schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    jsonschema.Draft4Validator.check_schema(package_schema)
    return jsonschema.Draft4Validator(
        package_schema, registry=registry, format_checker=format_checker()
    )


@functools.cache
def codelist(name: str) -> frozenset[str]:
    with (SCHEMA_DIR / "codelists" / f"{name}.csv").open(encoding="utf-8") as f:
        return frozenset(row["Code"] for row in csv.DictReader(f))


def assert_valid(package: dict) -> None:
    # What an endpoint would send: plain JSON, no Decimal or date objects left.
    package = json.loads(json.dumps(package, ensure_ascii=False))
    errors = sorted(package_validator().iter_errors(package), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:20]
    )


def assert_codes_in_codelists(package: dict) -> None:
    """Open codelists too: every code we emit is one the standard defines."""
    for project in package["projects"]:
        assert project["status"] in codelist("projectStatus")
        assert set(project.get("sector", [])) <= codelist("projectSector")
        if "type" in project:
            assert project["type"] in codelist("projectType")
        for party in project["parties"]:
            assert set(party["roles"]) <= codelist("partyRole")
        for milestone in project.get("milestones", []):
            assert milestone["status"] in codelist("milestoneStatus")
            assert milestone.get("type", "approval") in codelist("milestoneType")
            assert milestone.get("code", "completion") in codelist("milestoneCode")
        for metric in project.get("metrics", []):
            assert metric["id"] in codelist("metricID")
        for location in project.get("locations", []):
            if "geometry" in location:
                assert location["geometry"]["type"] in codelist("geometryType")


def package_of(queryset) -> dict:
    """The OC4IDS package of ``queryset`` as published on 21 November 2026."""
    return project_package(
        queryset,
        published=PUBLISHED,
        uri="https://tracker.example.cn/api/oc4ids/projects.json",
        publisher_name="示范县发展和改革局",
        as_of=AS_OF,
    )


def by_id(package: dict) -> dict[str, dict]:
    return {project["id"]: project for project in package["projects"]}
