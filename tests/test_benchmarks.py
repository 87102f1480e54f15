"""The benchmark commands' shared parts: reading wrk's report, rewriting docs/benchmarks.md."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from projects.management.commands import bench_http
from projects.management.commands.bench_http import parse_wrk
from tracker.benchmarks import end_marker, replace_block, start_marker

# wrk 4.1 with --latency, as Debian's package prints it.
CLEAN = """Running 8s test @ http://127.0.0.1:8077/api/v1/me/
  2 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    25.61ms    4.13ms  56.06ms   82.20%
    Req/Sec   203.05     22.14   250.00     71.25%
  Latency Distribution
     50%  540.00us
     75%   26.92ms
     90%   29.62ms
     99%    1.24s
  3245 requests in 8.01s, 1.02MB read
Requests/sec:    405.78
Transfer/sec:    130.19KB
"""
FAILING = CLEAN.replace(
    "Requests/sec:",
    "  Socket errors: connect 0, read 2, write 0, timeout 3\n"
    "  Non-2xx or 3xx responses: 7\nRequests/sec:",
)


def test_wrk_report_read_in_milliseconds():
    assert parse_wrk(CLEAN) == {"rate": 405.78, "p50": 0.54, "p99": 1240.0, "errors": 0}


def test_wrk_errors_are_non_2xx_answers_and_socket_errors():
    assert parse_wrk(FAILING)["errors"] == 12


def test_a_report_without_figures_is_an_error():
    with pytest.raises(CommandError, match="rate"):
        parse_wrk("unable to connect to 127.0.0.1:8077 Connection refused")


def test_blocks_are_replaced_in_place_or_added_at_the_end():
    text = f"# Benchmarks\n\n{start_marker('http')}\nold\n{end_marker('http')}\n\nAfter.\n"
    lines = [start_marker("http"), "new", end_marker("http")]
    assert replace_block(text, "http", lines, "API throughput") == text.replace("old", "new")
    added = replace_block("# Benchmarks\n", "other", ["x"], "Other")
    assert added == "# Benchmarks\n\n## Other\n\nx\n"


def test_bench_http_refuses_a_database_not_named_bench(db, monkeypatch):
    """It empties the database it runs on: never one people work in."""

    def no_flush(name, *args, **kwargs):
        raise AssertionError(f"bench_http ran {name!r} on a database not named 'bench'")

    monkeypatch.setattr(bench_http, "call_command", no_flush)
    with pytest.raises(CommandError, match="bench"):
        call_command("bench_http", seconds=1, connections="1")
