"""Every benchmark still runs and prints its table (tiny sizes: this checks them, not speed)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow

CASES = {
    "lock_acquisition": ["--iterations", "3"],
    "monitoring_scrape": ["--rows", "50", "--iterations", "2"],
    "activity_api": [
        *["--assignments", "300", "--requests", "3", "--clients", "2"],
        *["--rate", "100", "--rate-requests", "10"],  # the constant-rate (open-loop) phase
    ],
    "seed_phases": ["--assignments", "300"],
    "lock_scopes": ["--runs", "2"],  # its own embedded server and PgBouncers
    "rls": ["--assignments", "500", "--iterations", "2"],
    "delivery": ["--messages", "120", "--workers", "2"],
    "race": ["--seconds", "1", "--assignments", "300"],  # its own server (commit timestamps)
    "registration_latency": ["--assignments", "400", "--rate", "20", "--before-seconds", "0.5"],
}  # write_tax: its own test below, which checks its table too


def run_benchmark(module: str, args: list[str], database_url: str, *, timeout: float = 300) -> str:
    """``python -m MODULE ARGS`` on *database_url*; its stdout, once it exited 0."""
    env = {**os.environ, "DATABASE_URL": database_url, "REMINDERS_LOG_LEVEL": "WARNING"}
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def prints_a_table(out: str) -> bool:
    return any(set(line.replace(" ", "")) == {"-"} for line in out.splitlines())


@pytest.mark.parametrize(("module", "args"), list(CASES.items()), ids=list(CASES))
def test_benchmark_prints_a_table(module: str, args: list[str], database_url: str) -> None:
    out = run_benchmark(f"benchmarks.{module}", args, database_url)
    assert prints_a_table(out), out


def test_the_write_tax_benchmark_prints_each_case_beside_its_targets(database_url: str) -> None:
    args = ["--assignments", "400", "--rows", "60", "--singles", "4", "--repeats", "1"]
    out = run_benchmark("benchmarks.write_tax", args, database_url)
    assert prints_a_table(out), out
    for case in ("one activity, warm connection", "bulk registration: 60 activities"):
        assert case in out
    assert "contact rename: 60 contacts" in out and "new assignments: 60" in out
    assert "<= 1.5x" in out and "<= 1.2x" in out
    # the baseline and the floor leave the dates and the due index the triggers leave: the
    # figures compare the same work
    assert "NOTE:" not in out, out


def test_the_write_tax_parts_come_from_inside_each_trigger(database_url: str) -> None:
    args = ["--assignments", "400", "--rows", "60", "--repeats", "1"]
    out = run_benchmark("benchmarks.write_tax_parts", args, database_url)
    # each part is named by the statement of ours it ends at, down to the due rows' recompute
    for function in ("activities_after_insert#", "assignment_due_after_update#"):
        assert function in out, out
    assert "refresh_assignment_due#" in out and "due rows inserted" in out, out


def test_main_benchmark_prints_its_table(superuser_database_url: str) -> None:
    # The benchmark CHECKPOINTs between phases, which only a superuser (pg_checkpoint) may.
    out = run_benchmark(
        "benchmarks",
        [
            *["--sizes", "500", "--delivery-messages", "50"],
            *["--api-assignments", "300", "--api-requests", "3", "--api-rate-requests", "20"],
            *["--race-seconds", "1", "--race-assignments", "300"],
            *["--write-tax-assignments", "400", "--write-tax-rows", "60"],
            *["--write-tax-repeats", "1"],
            *["--latency-assignments", "400"],
        ],
        superuser_database_url,
        timeout=600,
    )
    assert "SQL floor" in out
    assert "msg/s" in out
    assert "start-up: run on an empty database (wall)" in out  # the targets table
    assert "POST /activities, 32 clients at 500/s" in out  # the open loop's row
    assert "api: 32 clients, throughput at saturation" in out
    assert "api: 32 clients at 500 req/s offered, p99" in out
    assert "api: 32 clients, p99 at saturation (informs)" in out
    assert "reminders committed after the contact that closed their gap" in out
    assert "write tax at 400: bulk registration: 60 activities" in out
    assert "POST /activities p99 during the first run" in out


def test_the_api_benchmark_fails_at_once_with_the_servers_stderr_when_it_dies() -> None:
    from benchmarks.activity_api import serving

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="No such option"), serving("dbname=x", "--no-such"):
        pass  # pragma: no cover - the server never answers
    assert time.monotonic() - started < 30  # not the minute it would wait for /health


def test_main_benchmark_writes_the_docs_table(superuser_database_url: str, tmp_path: Path) -> None:
    """``--write-docs PAGE`` (what `make bench` passes) rewrites the page's table with the run's
    command and targets, and leaves the rest of the page as it was."""
    from benchmarks.docs_page import END, parse

    page = tmp_path / "benchmarks.md"
    original = (REPO / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    page.write_text(original, encoding="utf-8")
    args = ["--sizes", "500", "--delivery-messages", "0", "--api-assignments", "0"]
    args += ["--race-seconds", "0", "--write-tax-assignments", "0", "--latency-assignments", "0"]
    run_benchmark(
        "benchmarks", [*args, "--write-docs", str(page)], superuser_database_url, timeout=600
    )
    written = page.read_text(encoding="utf-8")
    found = parse(written)
    assert found.source.command == "python -m benchmarks " + " ".join(
        [*args, "--write-docs", str(page)]
    )
    assert [row[0] for row in found.rows] == ["start-up: run on an empty database (wall)"]
    assert written.split(END, 1)[1] == original.split(END, 1)[1]
