"""The province-scale ranking benchmark (``make bench``; docs/benchmarks.md).

Loads a synthetic province into the current PostgreSQL database with COPY (it empties the
projects and supervision tables first: run it on a database of its own), then times

  (a) computing the five default ranking schemes for one period (all ending 30 September), and
  (b) the bare SQL floor: one hand-written aggregate query giving each ranked unit's
      year-to-date investment and annual plan,

at 1/10 of the data and at the full size, with the peak Python memory of (a).
"""

from __future__ import annotations

import datetime as dt
import io
import random
import resource
import statistics
import time
import tracemalloc
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from projects import tallies
from projects.models import Project, ReportTally, Unit
from supervision import rankings
from supervision.dashboard import figures as dashboard_figures
from supervision.demo import DEFAULT_SCHEMES
from supervision.metrics import Facts
from supervision.models import DashboardSnapshot, Issue, RankingScheme, SchemeMetric
from tracker import periods
from tracker.benchmarks import (
    end_marker,
    measured_on,
    replace_block,
    require_bench_database,
    start_marker,
)

FULL = {"units": 2000, "projects": 50_000, "milestones_per_project": 10, "months": 36}
PERIOD_END = dt.date(2026, 9, 30)
TODAY = dt.date(2026, 11, 21)
TABLES = [
    "projects_reporttally",
    "supervision_inspectionscore",
    "supervision_inspection",
    "supervision_issue",
    "projects_historicaltarget",
    "supervision_rankingentry",
    "supervision_rankingsnapshot",
    "supervision_rankingexemption",
    "supervision_schememetric",
    "supervision_rankingscheme",
    "supervision_historicalrankingscheme",
    "supervision_historicalschememetric",
    "supervision_historicalrankingexemption",
    "projects_project_cooperating_units",
    "projects_project_co_leaders",
    "projects_project_tags",
    "projects_reportphoto",
    "projects_progressreport",
    "projects_milestonerevision",
    "projects_milestone",
    "projects_stagechange",
    "projects_projectyearplan",
    "projects_projectfunding",
    "projects_fundingapplication",
    "projects_target",
    "projects_project",
    "projects_leader",
    "projects_membership",
    "projects_unit",
]
STARTED = ("under_construction", "completed", "operating")
STAGES = (
    ["under_construction"] * 50
    + ["completed"] * 10
    + ["operating"] * 5
    + ["preparing"] * 20
    + ["reserve"] * 10
    + ["suspended"] * 3
    + ["cancelled"] * 2
)
STATUSES = ["approved"] * 85 + ["submitted"] * 10 + ["returned"] * 3 + ["draft"] * 2
MILESTONE_KINDS = [
    "approval",
    "feasibility",
    "land",
    "planning",
    "environment",
    "tendering",
    "construction_permit",
    "start",
    "main_structure",
    "acceptance",
]
NOW = "2026-11-21 10:00:00+08"


def _defaults(table: str, columns: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """Columns of the table's model that the caller leaves out and cannot be NULL, with their
    model default (or "" for text): the load keeps working when a model gains a field."""
    from django.apps import apps
    from django.db.models import CharField, TextField
    from django.db.models.fields import NOT_PROVIDED

    model = next((m for m in apps.get_models() if m._meta.db_table == table), None)
    if model is None:
        return [], ()
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.column in columns or field.null:
            continue
        if field.default is not NOT_PROVIDED and not callable(field.default):
            value = field.default
        elif isinstance(field, CharField | TextField):
            value = ""
        else:
            continue
        names.append(field.column)
        values.append(
            {True: "t", False: "f"}.get(value, str(value))
            if isinstance(value, bool)
            else str(value)
        )
    return names, tuple(values)


def _copy(table: str, columns: list[str], rows) -> int:
    """COPY rows (tuples of already-formatted text, ``\\N`` for NULL) in chunks."""
    extra_columns, extra_values = _defaults(table, columns)
    columns = [*columns, *extra_columns]
    rows = (tuple(row) + extra_values for row in rows)
    count = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(row))
            buffer.write("\n")
            count += 1
            if count % 200_000 == 0:
                buffer.seek(0)
                raw.copy_expert(f"COPY {table} ({','.join(columns)}) FROM STDIN", buffer)
                buffer = io.StringIO()
        buffer.seek(0)
        raw.copy_expert(f"COPY {table} ({','.join(columns)}) FROM STDIN", buffer)
    return count


class Province:
    """A province: 14 cities of 10 counties, each county with departments and townships, and
    zones directly under the province: ``units`` in all."""

    def __init__(self, units: int) -> None:
        self.rows: list[tuple] = []
        self.leaves: list[tuple[int, int | None]] = []  # (unit id, township id or None)
        next_id = iter(range(1, 10**9))
        province = next(next_id)
        self.province = province
        self._add(province, None, "示范省", "city", f"/{province}/", 0)
        cities = max(1, round(14 * units / 2000))
        counties_per_city = 10
        left = units - 1 - cities - cities * counties_per_city
        per_county = max(2, left // (cities * counties_per_city))
        zones = max(0, left - per_county * cities * counties_per_city)
        for c in range(cities):
            city = next(next_id)
            city_path = f"/{province}/{city}/"
            self._add(city, province, f"第{c + 1}市", "city", city_path, 1)
            for k in range(counties_per_city):
                county = next(next_id)
                county_path = f"{city_path}{county}/"
                self._add(county, city, f"第{c + 1}市第{k + 1}县", "county", county_path, 2)
                for n in range(per_county):
                    unit = next(next_id)
                    kind = "township" if n % 3 == 2 else "department"
                    self._add(unit, county, f"单位{unit}", kind, f"{county_path}{unit}/", 3)
                    self.leaves.append((unit, unit if kind == "township" else None))
        for z in range(zones):
            zone = next(next_id)
            self._add(zone, province, f"园区{z + 1}", "zone", f"/{province}/{zone}/", 1)
            self.leaves.append((zone, None))

    def _add(self, pk, parent, name, kind, path, depth) -> None:
        self.rows.append((pk, parent, name, kind, path, depth))


def load(scale: float, rows: float | None = None, seed: int = 20261121) -> dict[str, int]:  # noqa: C901
    """Units at ``scale`` of the full size; projects (and with them milestones and reports) at
    ``rows`` of it, ``scale`` when not given."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    units = max(60, int(FULL["units"] * scale))
    projects = int(FULL["projects"] * (scale if rows is None else rows))
    province = Province(units)
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    counts["units"] = _copy(
        "projects_unit",
        [
            "id",
            "parent_id",
            "name",
            "short_name",
            "kind",
            "path",
            "depth",
            "code",
            "sort_order",
            "is_active",
            "updated_at",
        ],
        (
            (
                str(pk),
                str(parent) if parent else r"\N",
                name,
                "",
                kind,
                path,
                str(depth),
                "",
                "0",
                "t",
                NOW,
            )
            for pk, parent, name, kind, path, depth in province.rows
        ),
    )
    categories = [v for v, _label in Project._meta.get_field("category").choices]
    plan: list[tuple] = []  # (pk, lead, township, stage, started_on)
    for pk in range(1, projects + 1):
        lead, township = rng.choice(province.leaves)
        stage = rng.choice(STAGES)
        started = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(0, 1000))
        plan.append((pk, lead, township, stage, started, rng.random() < 0.02))
    counts["projects"] = _copy(
        "projects_project",
        [
            "id",
            "code",
            "name",
            "kind",
            "level",
            "category",
            "tier",
            "build_type",
            "source",
            "is_private",
            "description",
            "location",
            "owner",
            "contractor",
            "supervising_engineer",
            "total_investment",
            "stage",
            "stage_changed_on",
            "red_card",
            "red_card_reason",
            "version",
            "created_at",
            "updated_at",
            "lead_unit_id",
            "township_id",
            "prior_investment",
        ],
        (
            (
                str(pk),
                "",
                f"项目{pk}",
                "project",
                "county",
                rng.choice(categories),
                "secondary",
                "new",
                "government",
                "f",
                "",
                "",
                "",
                "",
                "",
                f"{rng.randint(500, 200000)}.00",
                stage,
                started.isoformat() if stage in STARTED else "2024-01-01",
                "t" if carded else "f",
                "进度滞后" if carded else "",
                "1",
                NOW,
                NOW,
                str(lead),
                str(township) if township else r"\N",
                "0.00",
            )
            for pk, lead, township, stage, started, carded in plan
        ),
    )
    counts["cooperating units"] = _copy(
        "projects_project_cooperating_units",
        ["project_id", "unit_id"],
        (
            (str(pk), str(rng.choice(province.leaves)[0]))
            for pk, *_rest in plan
            if rng.random() < 0.2
        ),
    )
    counts["year plans"] = _copy(
        "projects_projectyearplan",
        ["year", "planned_investment", "planned_start", "physical_target", "project_id"],
        (
            (
                "2026",
                f"{rng.randint(100, 20000)}.00",
                (dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 365))).isoformat()
                if rng.random() < 0.3
                else r"\N",
                "",
                str(pk),
            )
            for pk, *_rest in plan
        ),
    )

    def stage_changes():
        for pk, _lead, _township, stage, started, _carded in plan:
            yield ("", "reserve", "2023-12-01", "", NOW, str(pk))
            if stage in STARTED:
                yield ("reserve", "under_construction", started.isoformat(), "", NOW, str(pk))

    counts["stage changes"] = _copy(
        "projects_stagechange",
        ["from_stage", "to_stage", "changed_on", "note", "created_at", "project_id"],
        stage_changes(),
    )

    def milestones():
        base = dt.date(2025, 7, 1)
        for pk, *_rest in plan:
            for n in range(FULL["milestones_per_project"]):
                due = base + dt.timedelta(days=rng.randrange(0, 540))
                roll = rng.random()
                done = (
                    r"\N"
                    if roll < 0.3
                    else (due + dt.timedelta(days=rng.randint(-30, 20))).isoformat()
                )
                yield (
                    MILESTONE_KINDS[n],
                    f"节点{n + 1}",
                    due.isoformat(),
                    due.isoformat(),
                    done,
                    "",
                    str(n),
                    "1",
                    NOW,
                    str(pk),
                )

    counts["milestones"] = _copy(
        "projects_milestone",
        [
            "kind",
            "name",
            "due_date",
            "original_due_date",
            "done_date",
            "note",
            "sort_order",
            "version",
            "updated_at",
            "project_id",
        ],
        milestones(),
    )
    months = list(periods.iter_between("month", dt.date(2023, 11, 1), dt.date(2026, 10, 31)))[
        -FULL["months"] :
    ]
    rounds = [(p.key, p.start.isoformat(), p.end, (p.end + dt.timedelta(days=5))) for p in months]

    def reports():
        for pk, *_rest in plan:
            for key, start, end, deadline in rounds:
                status = rng.choice(STATUSES)
                if status == "draft":
                    submitted = r"\N"
                else:
                    day = deadline + dt.timedelta(
                        days=rng.randint(-8, 2 if rng.random() < 0.8 else 12)
                    )
                    submitted = f"{day.isoformat()} {rng.randint(8, 20):02d}:15:00+08"
                yield (
                    "month",
                    key,
                    start,
                    end.isoformat(),
                    deadline.isoformat(),
                    status,
                    f"{rng.randint(0, 900)}.{rng.randint(0, 99):02d}",
                    "",
                    "",
                    "",
                    submitted,
                    "数据有误" if status == "returned" else "",
                    "1",
                    NOW,
                    NOW,
                    str(pk),
                    submitted,
                )

    counts["progress reports"] = _copy(
        "projects_progressreport",
        [
            "period_kind",
            "period_key",
            "period_start",
            "period_end",
            "deadline",
            "status",
            "investment",
            "physical_progress",
            "problems",
            "next_steps",
            "submitted_at",
            "return_reason",
            "version",
            "created_at",
            "updated_at",
            "project_id",
            "first_submitted_at",
        ],
        reports(),
    )
    metrics = ["funding", "attraction_signed", "attraction_arrived"]
    targets = [
        (pk, unit, metric, rng.randint(1000, 50000), rng.randint(0, 40000))
        for pk, (unit, metric) in enumerate(
            ((unit, metric) for unit, _township in province.leaves for metric in metrics),
            start=1,
        )
    ]
    counts["targets"] = _copy(
        "projects_target",
        [
            "id",
            "year",
            "metric",
            "target_value",
            "actual_value",
            "note",
            "updated_at",
            "unit_id",
            "version",
        ],
        (
            (str(pk), "2026", metric, f"{goal}.00", f"{actual}.00", "", NOW, str(unit), "1")
            for pk, unit, metric, goal, actual in targets
        ),
    )

    def target_history():
        """Issued on 10 January, then what the unit had achieved at every month's end: the
        rankings read the targets as they stood at the period's end."""
        for pk, unit, metric, goal, actual in targets:
            common = (str(pk), "2026", metric, f"{goal}.00")
            yield (*common, "0.00", "2026-01-10 09:00:00+08", "+", str(unit))
            for month in range(1, 11):
                day = periods.parse(f"2026-{month:02d}").end
                so_far = actual * month // 10
                yield (*common, f"{so_far}.00", f"{day} 17:00:00+08", "~", str(unit))

    counts["target history"] = _copy(
        "projects_historicaltarget",
        [
            "id",
            "year",
            "metric",
            "target_value",
            "actual_value",
            "updated_at",
            "history_date",
            "history_type",
            "unit_id",
        ],
        ((*row[:5], row[5], row[5], *row[6:]) for row in target_history()),
    )
    counts.update(load_supervision(rng, province, plan))
    with connection.cursor() as cursor:
        for table in (
            "projects_unit",
            "projects_project",
            "projects_target",
            "supervision_inspection",
        ):
            sql = (
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT MAX(id) FROM {table}))"
            )
            cursor.execute(sql)
        cursor.execute("ANALYZE")
    counts["_province"] = province.province
    return counts


def load_supervision(rng: random.Random, province: Province, plan: list[tuple]) -> dict[str, int]:
    """The supervision ledger and on-site appraisals the rankings also read: ten issues per
    unit over the year (most closed, some late, some still open or not yet accepted), and a
    monthly appraisal per city scoring 30 projects."""
    counts: dict[str, int] = {}
    categories = [v for v, _label in Issue._meta.get_field("category").choices]

    def issues():
        for unit, _township in province.leaves:
            for n in range(10):
                raised = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 300))
                deadline = raised + dt.timedelta(days=rng.randint(10, 60))
                roll = rng.random()
                status = (
                    "closed"
                    if roll < 0.6
                    else "in_progress"
                    if roll < 0.85
                    else "open"
                    if roll < 0.95
                    else "pending"
                )
                closed = r"\N"
                if status == "closed":
                    day = min(deadline + dt.timedelta(days=rng.randint(-20, 15)), TODAY)
                    closed = f"{max(day, raised)} 16:00:00+08"
                yield (
                    f"问题{unit}-{n}",
                    "upper",
                    rng.choice(categories),
                    str(unit),
                    r"\N" if status == "pending" else deadline.isoformat(),
                    r"\N" if status == "pending" else deadline.isoformat(),
                    status,
                    "0",
                    "f",
                    raised.isoformat(),
                    closed,
                    closed,
                    "1",
                    NOW,
                    NOW,
                )

    counts["issues"] = _copy(
        "supervision_issue",
        [
            "title",
            "source",
            "category",
            "unit_id",
            "deadline",
            "original_deadline",
            "status",
            "level",
            "awaiting_office",
            "raised_on",
            "resolved_at",
            "closed_at",
            "version",
            "created_at",
            "updated_at",
        ],
        issues(),
    )
    cities = [row for row in province.rows if row[3] == "city" and row[1] is not None]
    inspections = [
        (pk, city[0], periods.parse(f"2026-{month:02d}").start + dt.timedelta(days=14))
        for pk, (city, month) in enumerate(
            ((city, month) for city in cities for month in range(1, 11)), start=1
        )
    ]
    counts["inspections"] = _copy(
        "supervision_inspection",
        [
            "id",
            "title",
            "kind",
            "held_on",
            "unit_id",
            "inspectors",
            "findings",
            "version",
            "created_at",
            "updated_at",
        ],
        (
            (
                str(pk),
                f"现场观摩{pk}",
                "site_visit",
                held.isoformat(),
                str(unit),
                "督查组",
                "",
                "1",
                NOW,
                NOW,
            )
            for pk, unit, held in inspections
        ),
    )
    project_ids = [row[0] for row in plan]
    counts["appraisal scores"] = _copy(
        "supervision_inspectionscore",
        ["inspection_id", "project_id", "score", "comment"],
        (
            (str(pk), str(project), f"{rng.randint(60, 100)}.00", "")
            for pk, _unit, _held in inspections
            for project in rng.sample(project_ids, min(30, len(project_ids)))
        ),
    )
    return counts


def default_schemes(province_id: int) -> list[RankingScheme]:
    """The demo's five default schemes, ranking the province's cities and zones."""
    schemes = []
    for order, (name, _kinds, cadence, metrics) in enumerate(DEFAULT_SCHEMES, start=1):
        scheme = RankingScheme.objects.create(
            name=name,
            parent_unit_id=province_id,
            child_kinds=["city", "zone"],
            cadence=cadence,
            starts_on=dt.date(2026, 1, 1),
            sort_order=order,
        )
        SchemeMetric.objects.bulk_create(
            SchemeMetric(scheme=scheme, metric=metric, weight=weight, sort_order=n)
            for n, (metric, weight) in enumerate(metrics)
        )
        schemes.append(scheme)
    return schemes


FLOOR_SQL = """
WITH ytd AS (
    SELECT p.lead_unit_id AS unit_id, SUM(r.investment) AS amount
    FROM projects_progressreport r JOIN projects_project p ON p.id = r.project_id
    WHERE r.status IN ('submitted', 'approved')
      AND r.period_start >= %(year_start)s AND r.period_end <= %(end)s
    GROUP BY p.lead_unit_id
), plan AS (
    SELECT p.lead_unit_id AS unit_id, SUM(y.planned_investment) AS amount
    FROM projects_projectyearplan y JOIN projects_project p ON p.id = y.project_id
    WHERE y.year = %(year)s
    GROUP BY p.lead_unit_id
)
SELECT split_part(substr(u.path, %(offset)s), '/', 1) AS child,
       SUM(ytd.amount), SUM(plan.amount)
FROM projects_unit u
LEFT JOIN ytd ON ytd.unit_id = u.id
LEFT JOIN plan ON plan.unit_id = u.id
WHERE u.path LIKE %(prefix)s AND u.id <> %(province)s
GROUP BY 1
"""


def time_it(function, repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings)


def measure(schemes: list[RankingScheme], province_path: str, province_id: int) -> dict:
    def compute_all() -> None:
        facts = Facts()
        with transaction.atomic():
            for scheme in schemes:
                period = periods.containing(scheme.cadence, PERIOD_END)
                rankings.ranking_compute(scheme=scheme, period=period, today=TODAY, facts=facts)
            transaction.set_rollback(True)  # every run computes from scratch

    def floor() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            rankings.analytic_session()  # the same session settings as (a)
            cursor.execute(
                FLOOR_SQL,
                {
                    "year_start": dt.date(PERIOD_END.year, 1, 1),
                    "end": PERIOD_END,
                    "year": PERIOD_END.year,
                    "offset": len(province_path) + 1,
                    "prefix": f"{province_path}%",
                    "province": province_id,
                },
            )
            cursor.fetchall()

    compute_all()  # warm the caches of both
    floor()
    schemes_seconds = time_it(compute_all, 3)
    floor_seconds = time_it(floor, 3)
    tracemalloc.start()
    compute_all()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "schemes": schemes_seconds,
        "floor": floor_seconds,
        "ratio": schemes_seconds / floor_seconds,
        "peak_mib": peak / 2**20,
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_tallies() -> dict:
    """The upkeep of the report tallies the rankings read: rebuilding them all (after the COPY
    load, as ``manage.py rebuild_report_tallies`` would) and refreshing one unit for one period,
    which is what saving a report adds (median of 50 refreshes)."""
    began = time.perf_counter()
    tallies.refresh()
    rebuild = time.perf_counter() - began
    pairs = list(ReportTally.objects.order_by("?").values_list("unit_id", "period_key")[:50])
    timings = []
    for unit, key in pairs:
        began = time.perf_counter()
        tallies.refresh([unit], [key])
        timings.append(time.perf_counter() - began)
    return {"tally_rebuild": rebuild, "tally_one": statistics.median(timings)}


def measure_dashboard(province_id: int) -> dict:
    """The nightly computation of every unit's dashboard, a cold first view of a day not yet
    computed (the province's subtree on demand), and the page and API reading the stored row."""
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings

    nightly = time_it(lambda: dashboard_figures.refresh(TODAY), 3)
    units = DashboardSnapshot.objects.filter(date=TODAY).count()
    province = Unit.objects.get(pk=province_id)
    cold_day = TODAY - dt.timedelta(days=1)

    def cold() -> None:
        with transaction.atomic():
            dashboard_figures.snapshot_for(province, cold_day)
            transaction.set_rollback(True)

    cold_seconds = time_it(cold, 3)
    user, _created = get_user_model().objects.get_or_create(
        username="bench-leader", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(user)
    figures = {}
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        for name, url in (
            ("page", f"/dashboard/?unit={province_id}&date={TODAY}"),
            ("api", f"/api/v1/dashboard/?unit={province_id}&date={TODAY}"),
        ):
            warm = client.get(url)
            if warm.status_code != 200:
                raise CommandError(f"{url} answered {warm.status_code}")
            figures[name] = time_it(lambda url=url: client.get(url), 7)
            with CaptureQueriesContext(connection) as queries:
                client.get(url)
            figures[f"{name}_queries"] = len(queries.captured_queries)
    return {"nightly": nightly, "units": units, "cold": cold_seconds, **figures}


class Command(BaseCommand):
    help = "Province-scale ranking benchmark on PostgreSQL (empties the current database)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--scales",
            default="0.1,1",
            help="Fractions of the full size, comma-separated; UNITS/ROWS (e.g. 1/0.1) scales "
            "the units and the projects apart.",
        )
        parser.add_argument("--write", help="Update this Markdown file (docs/benchmarks.md).")

    def handle(self, *args, scales: str, write: str | None, **options) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL (set DATABASE_URL).")
        require_bench_database("empties the database")
        results = []
        for spec in scales.split(","):
            scale, _slash, rows = spec.partition("/")
            scale, rows = float(scale), float(rows) if rows else None
            began = time.perf_counter()
            counts = load(scale, rows)
            load_seconds = time.perf_counter() - began
            province = counts.pop("_province")
            tally = measure_tallies()
            schemes = default_schemes(province)
            figures = measure(schemes, f"/{province}/", province)
            figures["dashboard"] = measure_dashboard(province)
            label = f"{scale:g}×" if rows is None else f"{scale:g}× units, {rows:g}× rows"
            figures.update(label=label, load=load_seconds, counts=counts, **tally)
            results.append(figures)
            self.stdout.write(
                f"scale {label}: loaded {counts} in {load_seconds:.1f} s; "
                f"all default schemes {figures['schemes']:.3f} s, floor {figures['floor']:.3f} s, "
                f"ratio {figures['ratio']:.2f}, peak Python memory {figures['peak_mib']:.1f} MiB; "
                f"report tallies rebuilt in {tally['tally_rebuild']:.2f} s, one unit and period "
                f"refreshed in {tally['tally_one'] * 1000:.1f} ms"
            )
            d = figures["dashboard"]
            self.stdout.write(
                f"  dashboards: {d['units']} units in {d['nightly']:.2f} s, cold province view "
                f"{d['cold']:.2f} s; page {d['page'] * 1000:.0f} ms ({d['page_queries']} queries), "
                f"API {d['api'] * 1000:.0f} ms ({d['api_queries']} queries)"
            )
        if write:
            self._write(Path(write), results)
            self.stdout.write(f"Wrote {write}.")

    def _write(self, path: Path, results: list[dict]) -> None:
        lines = [
            start_marker("rankings"),
            measured_on(),
            "",
            "| data | units | projects | milestones | progress reports | load (COPY) | "
            "(a) 5 default schemes, one period | (b) SQL floor | a/b | peak Python memory of (a) | "
            "report tallies: rebuild all | refresh one unit and period |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in results:
            c = r["counts"]
            lines.append(
                f"| {r['label']} | {c['units']:,} | {c['projects']:,} | {c['milestones']:,} | "
                f"{c['progress reports']:,} | {r['load']:.0f} s | {r['schemes']:.2f} s | "
                f"{r['floor']:.2f} s | {r['ratio']:.2f} | {r['peak_mib']:.1f} MiB | "
                f"{r['tally_rebuild']:.1f} s | {r['tally_one'] * 1000:.1f} ms |"
            )
        lines.append(end_marker("rankings"))
        text = path.read_text() if path.exists() else ""
        text = replace_block(text, "rankings", lines, "Rankings at province scale")
        dash = [
            start_marker("dashboard"),
            "| data | projects | nightly: every unit's dashboard | cold first view of a day "
            "(province subtree) | `/dashboard/` server time | queries | `/api/v1/dashboard/` | "
            "queries |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in results:
            d = r["dashboard"]
            dash.append(
                f"| {r['label']} | {r['counts']['projects']:,} | {d['units']:,} units, "
                f"{d['nightly']:.2f} s | {d['cold']:.2f} s | {d['page'] * 1000:.0f} ms | "
                f"{d['page_queries']} | {d['api'] * 1000:.0f} ms | {d['api_queries']} |"
            )
        dash.append(end_marker("dashboard"))
        text = replace_block(text, "dashboard", dash, "Dashboard at province scale")
        path.write_text(text)
