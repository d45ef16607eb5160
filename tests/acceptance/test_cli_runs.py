"""`reminders run` as real, separate processes: single flight, crashes, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable
from datetime import datetime

import psycopg
import pytest

from assignment_reminders.db.database import Connection
from assignment_reminders.locking.lock import LOCK_KEY
from tests.conftest import reminders_cmd, start_reminders, wait_for
from tests.locks import lock_pids
from tests.run_rows import running, runs

RunCli = Callable[..., subprocess.CompletedProcess[str]]
pytestmark = pytest.mark.slow


def lock_holder_pid(conn: Connection) -> int | None:
    pids = lock_pids(conn)
    assert len(pids) <= 1, f"more than one holder of the job's lock: {pids}"
    return pids[0] if pids else None


def start_run(cli_env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return start_reminders(cli_env, "run", "--json", *args)


def test_two_overlapping_invocations_one_success_one_skip(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    assert run_cli("seed", "--assignments", "300").returncode == 0
    first = start_run(cli_env, "--hold-seconds", "8")  # a long-running first invocation
    holder = wait_for(lambda: lock_holder_pid(conn), timeout=30)
    second = run_cli("run", "--json")
    said = run_cli("run")  # and as a person reads it: who holds the lock, not zero counts
    assert first.poll() is None, (
        "the first run ended before the others started: the overlap was missed"
    )
    assert said.returncode == 0, said.stderr
    assert re.fullmatch(
        rf"skipped \(advisory_lock_held\): run \d+, nothing done: the job's lock is held by"
        rf" PostgreSQL backend {holder} \(assignment-reminders/lock [^)]+\), lock [\d.]+ ms\n",
        said.stdout,
    ), said.stdout
    first_out, first_err = first.communicate(timeout=60)

    assert first.returncode == 0, first_err
    assert second.returncode == 0, second.stderr
    assert json.loads(first_out)["status"] == "success"
    skipped = json.loads(second.stdout)
    assert (skipped["status"], skipped["note"]) == ("skipped", "advisory_lock_held")
    assert skipped["holder"]["pid"] == holder

    assert datetime.fromisoformat(skipped["holder"]["backend_start"]).tzinfo is not None
    assert "T" in skipped["holder"]["backend_start"]  # ISO 8601, as every other moment

    statuses = sorted((r["status"], r["note"]) for r in runs(conn))
    assert statuses == [("skipped", "advisory_lock_held")] * 2 + [("success", None)]
    skip_row = next(r for r in runs(conn) if r["status"] == "skipped")
    assert skip_row["holder_pid"] == holder
    assert skip_row["holder_application_name"].startswith("assignment-reminders/lock")
    assert lock_holder_pid(conn) is None


def test_sigkill_mid_run_leaves_no_lock_and_the_next_run_succeeds(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    assert run_cli("seed", "--assignments", "200").returncode == 0
    victim = start_run(cli_env, "--hold-seconds", "120")
    wait_for(lambda: lock_holder_pid(conn), timeout=30)
    wait_for(lambda: running(conn), timeout=10)

    os.kill(victim.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    victim.communicate(timeout=10)
    wait_for(lambda: lock_holder_pid(conn) is None, timeout=1.0)
    assert time.monotonic() - killed_at < 1.0

    after = run_cli("run", "--json")
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["status"] == "success"
    dead, ours = runs(conn)
    assert dead["status"] == "failed" and dead["note"].startswith("holder_died")
    assert ours["status"] == "success"
    # whatever batches the dead run committed stay; the next run creates only the rest
    by_dead = conn.execute(
        "SELECT count(*) AS n FROM reminders.reminder_dispatches WHERE run_id = %s", (dead["id"],)
    ).fetchone()
    assert by_dead is not None
    total = conn.execute("SELECT count(*) AS n FROM reminders.reminder_dispatches").fetchone()
    assert total is not None
    assert ours["reminders_created"] + ours["escalations_created"] + by_dead["n"] == total["n"]
    assert ours["duplicates_suppressed"] == 0


def test_sigterm_releases_the_lock_and_records_the_interruption(
    conn: Connection, cli_env: dict[str, str]
) -> None:
    victim = start_run(cli_env, "--hold-seconds", "120")
    wait_for(lambda: running(conn), timeout=30)
    victim.send_signal(signal.SIGTERM)
    victim.communicate(timeout=30)
    assert victim.returncode != 0
    [row] = runs(conn)
    assert (row["status"], row["note"]) == ("failed", "interrupted")
    assert row["unlock_ok"] is True
    assert lock_holder_pid(conn) is None


def test_failed_run_exits_non_zero(conn: Connection, run_cli: RunCli) -> None:
    assert run_cli("seed", "--assignments", "20").returncode == 0
    conn.execute("ALTER TABLE peer_mentors RENAME TO peer_mentors_gone")
    result = run_cli("run")
    assert result.returncode == 1
    assert result.stdout.startswith("failed")
    assert "peer_mentors" in result.stdout
    [row] = runs(conn)
    assert row["status"] == "failed" and "peer_mentors" in row["error"]
    assert lock_holder_pid(conn) is None


def test_bad_now_is_one_line_and_exit_2(run_cli: RunCli) -> None:
    result = run_cli("run", "--now", "2026-11-28T06:00")
    assert result.returncode == 2
    assert "needs a UTC offset" in result.stderr


def test_unreachable_database_is_one_line_without_the_password(run_cli: RunCli) -> None:
    env_url = "postgresql://svc:hunter2@127.0.0.1:1/nowhere?connect_timeout=2"
    result = subprocess.run(
        reminders_cmd("run"),
        env={**os.environ, "DATABASE_URL": env_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "error: cannot connect to postgresql://svc@127.0.0.1:1/nowhere"
    )
    assert "hunter2" not in result.stderr + result.stdout


def test_status_shows_runs_and_the_current_holder(
    conn: Connection, run_cli: RunCli, database_url: str
) -> None:
    assert run_cli("run").returncode == 0
    with psycopg.connect(database_url, autocommit=True, application_name="drill") as other:
        other.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        other_pid = other.info.backend_pid
        text = run_cli("status")
        data = run_cli("status", "--json")
    assert text.returncode == 0
    assert f"held by pid {other_pid} (drill" in text.stdout
    assert "success" in text.stdout
    parsed = json.loads(data.stdout)
    assert parsed["lock_holder"]["application_name"] == "drill"
    assert parsed["runs"][0]["status"] == "success"


def test_a_run_whose_row_is_deleted_by_hand_stops_with_one_line_and_keeps_its_reminders(
    conn: Connection, cli_env: dict[str, str], run_cli: RunCli
) -> None:
    """An operator deletes the running run's row: its next batch is refused by the ledger's run
    reference. The run stops at once (no retries), exits 1 with one line that says what
    happened, keeps the reminders it committed (run id unset) and leaves no lock; the next run
    creates the rest, none twice."""
    assert run_cli("seed", "--assignments", "2000").returncode == 0
    env = {**cli_env, "REMINDERS_BATCH_SIZE": "10"}
    victim = start_run(env, "--pause-between-batches", "0.3")
    row = wait_for(lambda: running(conn), timeout=30)

    def ledger_rows() -> int:
        n = conn.execute("SELECT count(*) AS n FROM reminders.reminder_dispatches").fetchone()
        assert n is not None
        return int(n["n"])

    wait_for(ledger_rows, timeout=30)  # a batch committed with the run's id
    conn.execute("DELETE FROM reminders.cron_execution_logs WHERE id = %s", (row["id"],))
    out, err = victim.communicate(timeout=60)

    assert victim.returncode == 1, err
    outcome = json.loads(out)
    assert (outcome["status"], outcome["note"]) == ("failed", "run_row_deleted")
    assert outcome["error"].startswith(
        f"RunRowDeletedError: run {row['id']}'s row in cron_execution_logs was deleted"
    )
    assert "Traceback" not in err and "running it again" not in err, err
    assert sum("was deleted while the run was going" in line for line in err.splitlines()) == 1
    kept = conn.execute(
        "SELECT count(*) AS n, count(run_id) AS named FROM reminders.reminder_dispatches"
    ).fetchone()
    assert kept is not None and kept["named"] == 0
    assert (
        kept["n"]
        == outcome["counts"]["reminders_created"] + outcome["counts"]["escalations_created"]
    )
    assert runs(conn) == [] and lock_holder_pid(conn) is None

    after = run_cli("run", "--json")
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["counts"]["duplicates_suppressed"] == 0
    assert ledger_rows() > kept["n"]
