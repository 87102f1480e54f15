"""Benchmark of the Excel ledger import: ``manage.py bench_ledger_import [--rows 2000]
[--write docs/benchmarks.md]``.

Makes a county of its own (departments, townships, leaders, a supervisor) in the database, a
ledger of ``--rows`` projects as county files are (title line, two-row merged header, amounts as
``1.2亿``/``3,500``, dates as ``2024年3月``/``3月底``/Excel serials, full-width digits), and times:
reading and previewing it, committing it (every row through the services, in one transaction,
with the alert scan after commit), previewing the same file again (all unchanged), and a corrected
file (every tenth total changed) from preview to commit. ``--write`` rewrites the table between the
``bench:ledger`` markers of the given file.
"""

from __future__ import annotations

import datetime as dt
import io
import resource
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from openpyxl import Workbook

from projects import ledger_import
from projects.ledger_columns import PROJECT_COLUMNS
from projects.models import ImportKind, ImportStatus, Leader, Membership, Project, Role, Unit
from tracker.benchmarks import (
    end_marker,
    measured_on,
    require_bench_database,
    start_marker,
    write_block,
)

YEAR = 2026
CATEGORIES = [
    "交通",
    "水利",
    "工业",
    "农业",
    "文旅",
    "物流",
    "社会民生",
    "生态环保",
    "城市建设",
    "能源",
]
STAGES = ["储备（入库）", "前期", "在建", "竣工"]
DATES = ["2026年3月", "2026.4", "5月底", "2026-06-15", 46204, "2026年", "２０２６年７月"]
AMOUNTS = ["1.2亿", "3,500", "3500万元", "８００", 12000.5, "2.35亿元"]


def ledger(
    prefix: str,
    rows: int,
    departments: list[Unit],
    townships: list[Unit],
    leaders: list[Leader],
    *,
    bump: int = 0,
) -> bytes:
    """A county ledger of ``rows`` projects; with ``bump``, every tenth total is corrected."""
    workbook = Workbook()
    sheet = workbook.active
    width = len(PROJECT_COLUMNS)
    sheet.append(["基准县2026年重点项目台账"])
    top = [column.header for column in PROJECT_COLUMNS]
    top[6], top[7] = "投资情况（万元）", None
    top[12], top[13] = "建设年限", None
    below = [None] * width
    below[6], below[7], below[12], below[13] = "总投资", "2026年计划投资", "计划开工", "计划竣工"
    sheet.append(top)
    sheet.append(below)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    sheet.merge_cells("G2:H2")
    sheet.merge_cells("M2:N2")
    for i in range(rows):
        unit = departments[i % len(departments)]
        total = AMOUNTS[i % len(AMOUNTS)]
        if bump and i % 10 == 0:
            total = 10000 + i + bump
        sheet.append(
            [
                i + 1,
                f"基准项目{i + 1:05d}",
                f"{prefix}-{i + 1:05d}",
                ["新建", "续建", "复工"][i % 3],
                CATEGORIES[i % len(CATEGORIES)],
                f"建设内容{i + 1}",
                total,
                ["1,000", "500万元", 300, "0.1亿"][i % 4],
                f" {unit.name} ",
                townships[(i + 1) % len(townships)].name if i % 4 == 0 else None,
                "、".join(leader.name for leader in leaders[: 1 + i % 2]),
                townships[i % len(townships)].name,
                DATES[i % len(DATES)],
                "2027年底",
                f"业主{i % 50}",
                STAGES[i % len(STAGES)],
                "基准数据" if i % 10 == 0 else None,
            ]
        )
    for _blank in range(20):
        sheet.append([None] * 3)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class Command(BaseCommand):
    help = "Time the import of a county's Excel project ledger (docs/benchmarks.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=2000)
        parser.add_argument("--write", default=None, help="markdown file to update")

    def handle(self, *args, rows: int, write: str | None, **options) -> None:
        require_bench_database(f"writes {rows} projects")
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S%f")
        county = Unit.objects.create(name=f"台账基准县{stamp}", kind="county")
        departments = [
            Unit.objects.create(name=f"基准{k}局", kind="department", parent=county)
            for k in range(12)
        ]
        townships = [
            Unit.objects.create(name=f"基准{stamp[-6:]}{k}镇", kind="township", parent=county)
            for k in range(15)
        ]
        leaders = [
            Leader.objects.create(name=f"基准领导{stamp[-6:]}{k}", title="副县长", unit=county)
            for k in range(6)
        ]
        user = get_user_model().objects.create(username=f"ledger-bench-{stamp}")
        Membership.objects.create(user=user, unit=county, role=Role.SUPERVISOR)

        figures: dict[str, float] = {}
        began = time.perf_counter()
        data = ledger(f"BJ{stamp[-10:]}", rows, departments, townships, leaders)
        figures["build"] = time.perf_counter() - began

        began = time.perf_counter()
        batch = ledger_import.run_file(
            actor=user,
            unit=county,
            kind=ImportKind.PROJECTS,
            filename="bench.xlsx",
            data=data,
            year=YEAR,
        )
        figures["preview"] = time.perf_counter() - began
        figures["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if batch.status != ImportStatus.PREVIEW or batch.counts.get("new") != rows:
            raise CommandError(f"unexpected preview: {batch.status} {batch.counts} {batch.message}")

        began = time.perf_counter()
        ledger_import.confirm(batch, actor=user, skipped=set())
        batch = ledger_import.commit(batch.pk)
        figures["commit"] = time.perf_counter() - began
        if batch.status != ImportStatus.DONE:
            raise CommandError(batch.message)
        created = Project.objects.filter(lead_unit__parent=county).count()

        began = time.perf_counter()
        again = ledger_import.run_file(
            actor=user,
            unit=county,
            kind=ImportKind.PROJECTS,
            filename="bench.xlsx",
            data=data,
            year=YEAR,
        )
        figures["again"] = time.perf_counter() - began
        if again.counts.get("unchanged") != rows:
            raise CommandError(f"re-import not unchanged: {again.counts}")

        corrected = ledger(f"BJ{stamp[-10:]}", rows, departments, townships, leaders, bump=7)
        began = time.perf_counter()
        update = ledger_import.run_file(
            actor=user,
            unit=county,
            kind=ImportKind.PROJECTS,
            filename="bench2.xlsx",
            data=corrected,
            year=YEAR,
        )
        ledger_import.confirm(update, actor=user, skipped=set())
        update = ledger_import.commit(update.pk)
        figures["update"] = time.perf_counter() - began
        if update.status != ImportStatus.DONE or update.result.get("updated") != rows // 10:
            raise CommandError(f"update failed: {update.message} {update.result}")

        figures.update(rows=rows, created=created, size_kib=len(data) / 1024)
        self.stdout.write(
            f"ledger import of {rows} rows ({figures['size_kib']:.0f} KiB): preview "
            f"{figures['preview']:.2f} s (peak RSS {figures['peak_mib']:.0f} MiB), commit "
            f"{figures['commit']:.2f} s, same file again {figures['again']:.2f} s, "
            f"corrected file {figures['update']:.2f} s"
        )
        if write:
            self._write(Path(write), figures)
            self.stdout.write(f"Wrote {write}.")

    def _write(self, path: Path, f: dict) -> None:
        rows = f["rows"]
        lines = [
            start_marker("ledger"),
            measured_on(),
            "",
            "| step | rows | time | per row |",
            "| --- | ---: | ---: | ---: |",
            f"| read and preview a {f['size_kib']:.0f} KiB ledger "
            f"(peak RSS of the process {f['peak_mib']:.0f} MiB) | {rows:,} | "
            f"{f['preview']:.2f} s | {f['preview'] / rows * 1000:.1f} ms |",
            f"| commit: create every project and its annual plan through the services, "
            f"one transaction, alert scan | {rows:,} | {f['commit']:.2f} s | "
            f"{f['commit'] / rows * 1000:.1f} ms |",
            f"| the same file again (all unchanged) | {rows:,} | {f['again']:.2f} s | "
            f"{f['again'] / rows * 1000:.1f} ms |",
            f"| a corrected file (every tenth total changed), preview and commit | "
            f"{rows:,} | {f['update']:.2f} s | {f['update'] / rows * 1000:.1f} ms |",
            end_marker("ledger"),
        ]
        write_block(path, "ledger", lines, "Excel ledger import")
