"""One error boundary for database faults (issue 10): one line on stderr, exit 1, no traceback
(unless ``--debug``); the run's row finished as failed on a fresh connection when there is one,
else by the next run. Over HTTP the same faults answer 503 with the problem+json body.

The server-stop test starts a PostgreSQL of its own, so stopping it leaves the shared one alone.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assignment_reminders.api.app import create_app
from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.embedded import embedded_database_url, stop_embedded_database
from assignment_reminders.db.migrations import migrate
from assignment_reminders.dev.seed import seed
from assignment_reminders.job.compose import run_once
from tests.conftest import private_data_dir, reminders_cmd, start_reminders, wait_for
from tests.dispatch_counts import clean_totals, dispatch_count, table_counts
from tests.locks import lock_pids
from tests.run_rows import runs

pytestmark = pytest.mark.slow

LATER_AT = datetime.now(UTC) + timedelta(days=40)  # every active assignment is due
LATER = LATER_AT.isoformat()


def env_for(cli_env: dict[str, str], url: str) -> dict[str, str]:
    return {**cli_env, "DATABASE_URL": url, "REMINDERS_BATCH_SIZE": "10"}


def start_slow_run(env: dict[str, str], conn: Connection) -> subprocess.Popen[str]:
    """``reminders run`` in small batches 0.1 s apart, waited for until it has written."""
    proc = start_reminders(
        env, "run", "--now", LATER, "--allow-distant-now", "--pause-between-batches", "0.1"
    )
    try:
        wait_for(lambda: lock_pids(conn), timeout=30)
        wait_for(
            lambda: (
                conn.execute("SELECT count(*) AS n FROM reminders.reminder_dispatches").fetchone()
                != {"n": 0}
            ),
            timeout=30,
        )
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc


def one_error_line(err: str) -> str:
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], err
    return lines[-1]


def work_backend(conn: Connection, pid: int) -> int:
    row = wait_for(
        lambda: conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s",
            (f"assignment-reminders/work %:{pid}",),
        ).fetchone()
    )
    return int(row["pid"])


@pytest.fixture
def own_server() -> Iterator[tuple[Path, str]]:
    """A PostgreSQL of this test's own, migrated."""
    parent = private_data_dir()
    data = parent / "pgdata"
    url = embedded_database_url(data, keep_running=False)
    try:
        with connect(url, purpose="test-migrate") as c:
            migrate(c)
        yield data, url
    finally:
        stop_embedded_database(data)
        shutil.rmtree(parent, ignore_errors=True)


def restart(data: Path) -> None:
    import pgserver

    pgserver.get_server(data, cleanup_mode="stop").ensure_postgres_running()


def test_server_stopped_mid_run_is_one_line_and_the_next_run_reconciles(
    own_server: tuple[Path, str], cli_env: dict[str, str]
) -> None:
    data, url = own_server
    env = env_for(cli_env, url)
    with connect(url, purpose="test") as conn:
        seed(conn, assignments=200, today=LATER_AT.date() - timedelta(days=40))
        proc = start_slow_run(env, conn)
    try:
        stop_embedded_database(data)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    line = one_error_line(err)
    assert line.startswith("error: the reminder run "), line
    assert "stopped because the database failed" in line
    assert "the next run will record it as failed" in line
    assert "Check that PostgreSQL is running and reachable" in line

    restart(data)
    expected = clean_totals(url, LATER_AT)  # the committed batches plus one pass over the rest
    with connect(url, purpose="test") as conn:
        done = subprocess.run(
            reminders_cmd("run", "--now", LATER, "--allow-distant-now"),
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        first, second = runs(conn)
        assert (first["status"], first["note"].split(":")[0]) == ("failed", "holder_died")
        assert second["status"] == "success"
        assert table_counts(conn) == expected


def test_work_session_terminated_mid_run_finishes_the_row_on_a_fresh_connection(
    conn: Connection, cli_env: dict[str, str], database_url: str, run_cli: Any
) -> None:
    seed(conn, assignments=200, today=LATER_AT.date() - timedelta(days=40))
    expected = clean_totals(database_url, LATER_AT)
    env = env_for(cli_env, database_url)
    proc = start_slow_run(env, conn)
    try:
        conn.execute("SELECT pg_terminate_backend(%s)", (work_backend(conn, proc.pid),))
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1
    line = one_error_line(err)
    assert "stopped because the database failed" in line
    assert "it is recorded as failed" in line
    [row] = runs(conn)
    assert (row["status"], row["note"], row["unlock_ok"]) == ("failed", "database_fault", True)
    assert row["error"].startswith("DatabaseError: terminating connection")
    assert lock_pids(conn) == []

    done = run_cli("run", "--now", LATER, "--allow-distant-now")
    assert done.returncode == 0, done.stderr
    assert table_counts(conn) == expected  # together: what one clean pass creates


def test_debug_shows_the_traceback_and_still_ends_with_the_line(
    empty_database_url: str, cli_env: dict[str, str]
) -> None:
    env = {**cli_env, "DATABASE_URL": empty_database_url}
    plain = subprocess.run(
        reminders_cmd("status"), env=env, capture_output=True, text=True, check=False
    )
    assert plain.returncode == 1
    line = one_error_line(plain.stderr)
    assert line.startswith("error: `reminders status` needs objects this database does not have")
    assert line.endswith("run `reminders migrate` (caused by UndefinedTable)")

    debug = subprocess.run(
        reminders_cmd("--debug", "status"), env=env, capture_output=True, text=True, check=False
    )
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr
    assert debug.stderr.strip().splitlines()[-1] == line


def test_over_http_a_database_fault_answers_503_with_the_problem_body(
    conn: Connection, database_url: str
) -> None:
    answer = cron_call_cut_mid_run(conn, database_url, lambda: work_backend(conn, os.getpid()))
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["type"].endswith("/database-unavailable") and body["status"] == 503
    [row] = runs(conn)
    assert (row["status"], row["note"]) == ("failed", "database_fault")


def cron_call_cut_mid_run(conn: Connection, database_url: str, victim: Callable[[], int]) -> Any:
    """POST the cron endpoint (in-process app, small batches 0.1 s apart) and terminate the
    backend *victim* names once the run has written its first batch; returns the answer."""
    seed(conn, assignments=200, today=LATER_AT.date() - timedelta(days=40))
    secret = "cron-secret-for-tests-0123456789"
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "REMINDERS_BATCH_SIZE": "10",
            "REMINDERS_CRON_SECRET": secret,
        }
    )
    app = create_app(settings, run_job=functools.partial(run_once, pause_between_batches=0.1))

    def cut() -> None:
        wait_for(lambda: lock_pids(conn), timeout=30)
        wait_for(lambda: dispatch_count(conn) > 0, timeout=30)
        conn.execute("SELECT pg_terminate_backend(%s)", (victim(),))

    cutter = threading.Thread(target=cut)
    cutter.start()
    try:
        with TestClient(app) as client:
            return client.post(
                "/functions/v1/assignment-reminder-cron",
                json={"now": LATER, "allow_distant_now": True},
                headers={"Authorization": f"Bearer {secret}"},
            )
    finally:
        cutter.join(30)


def test_over_http_a_run_that_lost_its_lock_is_a_failed_outcome_not_200(
    conn: Connection, database_url: str
) -> None:
    """Issue 10 item 1 over HTTP: default heartbeat, so only the fence notices in time."""
    answer = cron_call_cut_mid_run(conn, database_url, lambda: lock_pids(conn)[0])
    assert answer.status_code == 500, answer.text
    outcome = answer.json()["outcome"]
    assert (outcome["status"], outcome["note"], outcome["unlock_ok"]) == (
        "failed",
        "lock_lost",
        False,
    )
