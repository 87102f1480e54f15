"""HTTP throughput of the API's project list against a minimal endpoint, and of the dashboard.

Loads the demo county into an empty database (``seed_demo``), collects the static files, starts
gunicorn on it as the Dockerfile does (sync workers, ``--workers`` of them) and drives each
endpoint with wrk, a bounded load tool (a fixed number of connections, each sending its next
request when the last answer came), at each ``--connections`` level for ``--seconds``:

- ``/api/v1/me/``: the smallest authenticated answer (token lookup, throttle, the user's units);
- ``/api/v1/projects/?page_size=50``: a page of the project list;
- ``/dashboard/``: the leaders' page, with a browser session.

All three as the county supervisor of the demo (sees every project). The API throttle is lifted
for the benchmark's gunicorn (``API_RATE_TOKEN``), since a 429 measures the throttle, not the
endpoint; the throttle's counting still runs on every request. Figures (req/s, p50, p99, errors
= non-2xx answers and socket errors, and each endpoint's rate as a share of ``/api/v1/me/``'s)
go to the ``bench:http`` block of ``--write``.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.test import Client

from projects import tokens
from projects.models import Project
from tracker.benchmarks import (
    end_marker,
    measured_on,
    require_bench_database,
    start_marker,
    write_block,
)

USERNAME = "fgj"  # the demo county's supervisor
ENDPOINTS = [
    ("minimal", "/api/v1/me/", "token"),
    ("projects", "/api/v1/projects/?page_size=50", "token"),
    ("dashboard", "/dashboard/", "session"),
]
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(output: str) -> dict:
    """Requests per second, p50 and p99 in ms and errors from ``wrk --latency`` output."""

    def latency(percent: str) -> float:
        match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        if not match:
            raise CommandError(f"wrk printed no {percent}% latency:\n{output}")
        return float(match[1]) * UNITS[match[2]]

    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not rate:
        raise CommandError(f"wrk printed no rate:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx[1]) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    return {"rate": float(rate[1]), "p50": latency("50"), "p99": latency("99"), "errors": errors}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Command(BaseCommand):
    help = "Measure the API's project list, a minimal endpoint and the dashboard with wrk."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
        parser.add_argument("--connections", default="10,50", help="wrk connection levels")
        parser.add_argument("--seconds", type=int, default=15, help="length of each run")
        parser.add_argument("--write", help="write the figures into this Markdown file")

    def handle(self, *args, workers, connections, seconds, write, **options) -> None:
        if shutil.which("wrk") is None:
            raise CommandError("wrk is not installed (Debian: apt-get install wrk).")
        require_bench_database("empties the database and loads the demo county")
        levels = [int(c) for c in connections.split(",")]
        call_command("flush", interactive=False, verbosity=0)
        # The production static files (hashed names, as the Dockerfile collects them).
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write("Loading the demo county…")
        call_command("seed_demo", stdout=io.StringIO())
        projects = Project.objects.count()
        user = get_user_model().objects.get(username=USERNAME)
        _token, secret = tokens.token_create(user=user, name="bench", write=False, actor=None)
        client = Client()
        client.force_login(user)
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
        )
        headers = {"token": f"Authorization: Bearer {secret}", "session": f"Cookie: {cookie}"}

        port = free_port()
        # Persistent database connections, as in production (the test profile closes them).
        env = {**os.environ, "API_RATE_TOKEN": "1000000/minute", "DATABASE_CONN_MAX_AGE": "60"}
        server = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            [
                *(sys.executable, "-m", "gunicorn", "tracker.wsgi:application"),
                *("--bind", f"127.0.0.1:{port}", "--workers", str(workers)),
                *("--log-level", "warning"),
            ],
            env=env,
        )
        results = []
        try:
            base = f"http://127.0.0.1:{port}"
            self._wait_for(base, server)
            for _name, path, auth in ENDPOINTS:
                self._warm_up(base + path, headers[auth])
            for level in levels:
                for name, path, auth in ENDPOINTS:
                    figures = self._wrk(base + path, headers[auth], level, seconds)
                    results.append({"name": name, "path": path, "connections": level, **figures})
                    self.stdout.write(
                        f"{path} at {level} connections: {figures['rate']:.1f} req/s, "
                        f"p50 {figures['p50']:.1f} ms, p99 {figures['p99']:.1f} ms, "
                        f"{figures['errors']} errors"
                    )
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        if write:
            self._write(Path(write), results, workers=workers, seconds=seconds, projects=projects)
            self.stdout.write(f"Wrote {write}.")

    def _wait_for(self, base: str, server: subprocess.Popen) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError("gunicorn stopped before answering.")
            try:
                urllib.request.urlopen(base + "/health/", timeout=2)  # noqa: S310
                return
            except OSError:
                time.sleep(0.3)
        raise CommandError("gunicorn did not answer /health/ within a minute.")

    def _warm_up(self, url: str, header: str) -> None:
        name, value = header.split(": ", 1)
        request = urllib.request.Request(url, headers={name: value})  # noqa: S310
        for _ in range(20):
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                if response.status != 200:
                    raise CommandError(f"{url} answered {response.status}.")

    def _wrk(self, url: str, header: str, connections: int, seconds: int) -> dict:
        command = ["wrk", "--threads", "2", "--connections", str(connections)]
        command += ["--duration", f"{seconds}s", "--timeout", "10s", "--latency"]
        command += ["--header", header, url]
        done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
        return parse_wrk(done.stdout)

    def _write(self, path: Path, results: list[dict], **run) -> None:
        minimal = {r["connections"]: r["rate"] for r in results if r["name"] == "minimal"}
        lines = [
            start_marker("http"),
            measured_on(),
            f"gunicorn with {run['workers']} sync workers and wrk (2 threads) on the same "
            f"machine; the demo county ({run['projects']} projects), as its supervisor; "
            f"{run['seconds']} s a run.",
            "",
            "| endpoint | connections | req/s | p50 | p99 | errors | share of `/api/v1/me/` |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for r in results:
            lines.append(
                f"| `{r['path']}` | {r['connections']} | {r['rate']:.0f} | {r['p50']:.0f} ms | "
                f"{r['p99']:.0f} ms | {r['errors']} | "
                f"{r['rate'] / minimal[r['connections']] * 100:.0f} % |"
            )
        lines.append(end_marker("http"))
        write_block(path, "http", lines, "API throughput")
