"""The OC4IDS 0.9 schema and code lists of ../shared/oc4ids, to check what the export says."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import functools
import json
import re
import tempfile
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
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


# --- the standard's own data review tool ---------------------------------------------------------


@contextlib.contextmanager
def _serving(directory: Path) -> Iterator[str]:
    """The shared schema and code lists over HTTP on a free local port (the review tool fetches
    its schema by URL; this machine, like a county intranet, has no internet)."""
    handler = partial(QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves the shared copy. A code list it does not hold is served empty: the review tool
    loads no code list at all when one is missing (and would then check none), while an empty
    one makes any code in a field that uses it show up as not in its list."""

    def do_GET(self) -> None:
        missing = not Path(self.translate_path(self.path)).exists()
        if missing and self.path.startswith("/codelists/") and self.path.endswith(".csv"):
            body = b"Code,Title,Description\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format, *args) -> None:
        pass


def review(package: dict) -> dict:
    """What libcoveoc4ids (the engine of the OC4IDS data review tool) says of ``package``,
    checked against ../shared/oc4ids served locally."""
    from libcoveoc4ids.api import oc4ids_json_output
    from libcoveoc4ids.config import LibCoveOC4IDSConfig

    data = json.loads(json.dumps(package, ensure_ascii=False))
    with _serving(SCHEMA_DIR) as host, tempfile.TemporaryDirectory() as output:
        config = LibCoveOC4IDSConfig(
            {
                "schema_host": host,
                "schema_version_choices": {"0.9.5": ("0.9.5", host)},
                "schema_codelists": {"0.9": f"{host}codelists/"},
            }
        )
        return oc4ids_json_output(output, json_data=data, lib_cove_oc4ids_config=config)


def assert_passes_review(package: dict) -> dict:
    """No validation error, no additional field, no code outside a closed or open code list, no
    failed conformance or additional check."""
    result = review(package)
    assert result["validation_errors"] == [], result["validation_errors"][:5]
    assert result["additional_fields_count"] == 0, result.get("data_only")
    assert result["additional_closed_codelist_values"] == {}
    assert result["additional_open_codelist_values"] == {}
    assert result["conformance_checks"] == [], result["conformance_checks"]
    assert result["additional_checks"] == [], result["additional_checks"]
    return result
