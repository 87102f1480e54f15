"""What the ``make bench`` commands share: the line naming the machine, and the rewriting of
their blocks in docs/benchmarks.md between ``<!-- bench:<name>:start -->`` and ``…:end -->``."""

from __future__ import annotations

import datetime as dt
import platform
import re
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connection


def require_bench_database(does: str) -> None:
    """Refuse to run a benchmark that ``does`` something destructive (empties the database…) on a
    database whose name does not contain "bench": never on the one people work in."""
    name = str(connection.settings_dict["NAME"])
    if "bench" not in name:
        raise CommandError(
            f"This {does}; run it on a database whose name contains 'bench' (not {name!r})."
        )


def measured_on() -> str:
    """ "Measured <date> on <CPU>, <n> cores, PostgreSQL <version>, Python <version>."."""
    cpu, cores = platform.processor() or platform.machine(), "?"
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    cpu = next((x.split(":", 1)[1].strip() for x in lines if x.startswith("model name")), cpu)
    if lines:
        cores = str(sum(1 for x in lines if x.startswith("processor")))
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return (
        f"Measured {dt.datetime.now(dt.UTC).date().isoformat()} on {cpu}, {cores} cores, "
        f"PostgreSQL {pg}, Python {platform.python_version()}."
    )


def start_marker(name: str) -> str:
    return f"<!-- bench:{name}:start (written by `make bench`) -->"


def end_marker(name: str) -> str:
    return f"<!-- bench:{name}:end -->"


def replace_block(text: str, name: str, lines: list[str], heading: str) -> str:
    """``text`` with the block ``name`` replaced by ``lines`` (markers included), or with a new
    section ``heading`` holding it at the end when the block is not there yet."""
    block = "\n".join(lines)
    pattern = re.compile(rf"<!-- bench:{name}:start.*?<!-- bench:{name}:end -->", re.DOTALL)
    if pattern.search(text):
        return pattern.sub(lambda _m: block, text)
    return text.rstrip() + f"\n\n## {heading}\n\n" + block + "\n"


def write_block(path: Path, name: str, lines: list[str], heading: str) -> None:
    text = path.read_text() if path.exists() else ""
    path.write_text(replace_block(text, name, lines, heading))
