"""Overruns seen from outside (a hung, SIGSTOPped run) and from inside (the run's watchdog)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from assignment_reminders.db.database import Connection
from tests.conftest import start_reminders, wait_for
from tests.run_rows import running, runs

pytestmark = pytest.mark.slow


def overrun_alerts(conn: Connection) -> list[dict[str, Any]]:
    return conn.execute(
        "SELECT subject, opened_at, opened_by, resolved_at, resolved_by FROM"
        " reminders.monitoring_alerts"
        " WHERE kind = 'overrun' ORDER BY id"
    ).fetchall()


@pytest.fixture
def hung_run(cli_env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = start_reminders(cli_env, "run", "--hold-seconds", "120")
    yield proc
    if proc.poll() is None:
        proc.kill()  # SIGKILL works on a stopped process too
    proc.communicate(timeout=30)


def test_a_hung_run_is_reported_by_the_independent_check_once(
    conn: Connection,
    hung_run: subprocess.Popen[str],
    run_cli: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    row = wait_for(lambda: running(conn), timeout=60)
    assert row["pid"] == hung_run.pid
    os.kill(hung_run.pid, signal.SIGSTOP)  # hung: alive, holding its lock, doing nothing

    early = run_cli(
        "check", "--record", "--now", (row["started_at"] + timedelta(minutes=29)).isoformat()
    )
    assert early.returncode == 0, early.stderr
    assert overrun_alerts(conn) == []

    late = row["started_at"] + timedelta(minutes=31)
    for minutes in (0, 5):
        moment = (late + timedelta(minutes=minutes)).isoformat()
        result = run_cli("check", "--json", "--record", "--now", moment)
        assert result.returncode == 3, result.stderr  # check found a problem
        report = json.loads(result.stdout)
        assert [f["subject"] for f in report["findings"]] == [f"run:{row['id']}"]
    [alert] = overrun_alerts(conn)
    assert alert["opened_by"].startswith("check@")
    assert alert["resolved_at"] is None

    status = run_cli("status", "--json")
    assert [a["kind"] for a in json.loads(status.stdout)["open_alerts"]] == ["overrun"]

    hung_run.kill()
    hung_run.wait(timeout=30)
    # The next run finds the lock free, marks the dead run failed and succeeds: the overrun clears.
    assert run_cli("run").returncode == 0
    after = run_cli("check", "--record", "--now", (late + timedelta(minutes=10)).isoformat())
    assert after.returncode == 0, after.stdout + after.stderr
    [alert] = overrun_alerts(conn)
    assert alert["resolved_at"] is not None
    eleven = (late + timedelta(minutes=11)).isoformat()
    assert run_cli("check", "--record", "--now", eleven).returncode == 0
    assert len(overrun_alerts(conn)) == 1


def test_the_running_process_alerts_its_own_overrun_and_its_recovery(
    conn: Connection, cli_env: dict[str, str]
) -> None:
    env = {
        **cli_env,
        "REMINDERS_OVERRUN_AFTER_SECONDS": "1",
        "REMINDERS_CHECK_INTERVAL_SECONDS": "1",
        "REMINDERS_LOG_LEVEL": "INFO",
    }
    proc = start_reminders(env, "run", "--hold-seconds", "4")
    try:
        opened = wait_for(lambda: overrun_alerts(conn), timeout=30)
        assert opened[0]["opened_by"].startswith("watchdog@")
        assert opened[0]["resolved_at"] is None
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    [alert] = overrun_alerts(conn)
    assert alert["resolved_by"].startswith("watchdog@")
    # raised while the run was still going (from the database, not from the process table)
    [run] = runs(conn)
    assert alert["subject"] == f"run:{run['id']}"
    assert run["status"] == "success"
    assert alert["opened_at"] < run["finished_at"]
    assert stderr.count("[ALERT] overrun") == 1
    assert stderr.count("[RECOVERED] overrun") == 1
