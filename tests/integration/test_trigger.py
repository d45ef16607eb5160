"""The cron trigger on a real PostgreSQL: the lock in pg_locks, failures, dead runs, grants."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.job.compose import run_once
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.fence import PgFencing
from assignment_reminders.job.joblog import PgExecutionLog
from assignment_reminders.job.reminder_pass import Checkpoint, ReminderPass
from assignment_reminders.job.trigger import CronTrigger
from assignment_reminders.locking.lock import LOCK_KEY, SessionAdvisoryLock
from tests import factories
from tests.conftest import wait_for
from tests.locks import lock_pids, open_lock_connection
from tests.run_rows import insert_run, runs

NOW = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
JOB = "assignment-reminder-cron"


@pytest.fixture
def lock_conn(database_url: str) -> Iterator[Connection]:
    with open_lock_connection(database_url) as c:
        yield c


def trigger(
    lock_conn: Connection, conn: Connection, *, reminder_pass: Any = None, hold: Any = None
) -> CronTrigger:
    return CronTrigger(
        lock=SessionAdvisoryLock(lock_conn, LOCK_KEY),
        log=PgExecutionLog(conn),
        reminder_pass=reminder_pass or ReminderPass(conn),
        job_name=JOB,
        after_pass=[lambda checkpoint, guard: hold()] if hold is not None else [],
        fencing=PgFencing(conn, JOB, LOCK_KEY),
    )


def test_lock_is_in_pg_locks_while_held_and_gone_after(
    conn: Connection, lock_conn: Connection
) -> None:
    seen: list[list[int]] = []
    outcome = trigger(lock_conn, conn, hold=lambda: seen.append(lock_pids(conn))).run(now=NOW)
    # the job's key (classid/objid halves, objsubid 1), granted to the lock connection
    assert seen == [[lock_conn.info.backend_pid]]
    assert lock_pids(conn) == []
    assert outcome.status == "success"
    assert runs(conn)[0]["lock_backend_pid"] == lock_conn.info.backend_pid


def test_success_row_has_counts_timings_and_host(conn: Connection, lock_conn: Connection) -> None:
    factories.assignment(conn, starts_on=date(2026, 11, 1))
    trigger(lock_conn, conn).run(now=NOW)
    [row] = runs(conn)
    assert row["status"] == "success"
    assert row["reminders_created"] == 1 and row["escalations_created"] == 1
    assert row["due_rows_read"] == 2  # the reminder and the escalation, from the due index
    assert row["finished_at"] is not None and row["duration_ms"] > 0
    assert 0 < row["lock_acquire_ms"] < 1000
    assert row["unlock_ok"] is True
    assert row["host"] and row["pid"]
    dispatch = conn.execute("SELECT DISTINCT run_id FROM reminders.reminder_dispatches").fetchone()
    assert dispatch is not None and dispatch["run_id"] == row["id"]


class Exploding:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.counts = RunCounts()
        self.locks_seen: list[int] = []

    def run(
        self,
        *,
        now: datetime,
        run_id: int | None = None,
        checkpoint: Checkpoint | None = None,
        guard: object = None,
    ) -> RunCounts:
        self.locks_seen = lock_pids(self.conn)
        raise RuntimeError("the pass exploded")


def test_scheduler_raising_releases_the_lock_and_fails_the_row(
    conn: Connection, lock_conn: Connection
) -> None:
    exploding = Exploding(conn)
    outcome = trigger(lock_conn, conn, reminder_pass=exploding).run(now=NOW)
    assert exploding.locks_seen == [lock_conn.info.backend_pid], (
        "the lock was held while the pass ran"
    )
    assert lock_pids(conn) == [], "and released after it raised"
    [row] = runs(conn)
    assert (row["status"], row["error"]) == ("failed", "RuntimeError: the pass exploded")
    assert row["unlock_ok"] is True
    assert outcome.status == "failed"


def test_lost_lock_makes_unlock_return_false_which_is_recorded(
    conn: Connection, lock_conn: Connection
) -> None:
    def lose_the_lock() -> None:
        lock_conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))

    outcome = trigger(lock_conn, conn, hold=lose_the_lock).run(now=NOW)
    [row] = runs(conn)
    assert outcome.unlock_ok is False
    assert row["unlock_ok"] is False
    assert "unlock_failed" in row["note"]
    # never a success with unlock_ok = false: the fenced finish already saw the lock gone
    assert (outcome.status, outcome.note) == ("failed", "lock_lost")
    assert row["status"] == "failed" and row["note"].startswith("lock_lost")


def test_losing_the_lock_to_another_session_skips_with_its_holder(
    conn: Connection, lock_conn: Connection, database_url: str
) -> None:
    with psycopg.connect(database_url, autocommit=True, application_name="other-holder") as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone() == (True,)
        outcome = trigger(lock_conn, conn).run(now=NOW)
        [row] = runs(conn)
        assert outcome.status == "skipped"
        assert (row["status"], row["note"]) == ("skipped", "advisory_lock_held")
        assert row["holder_pid"] == other.info.backend_pid
        assert row["holder_application_name"] == "other-holder"
        assert row["holder_since"] is not None
        assert row["finished_at"] is not None
    assert conn.execute("SELECT count(*) AS n FROM reminders.reminder_dispatches").fetchone() == {
        "n": 0
    }


def test_rows_left_running_by_dead_holders_are_failed_by_the_next_winner(
    conn: Connection, lock_conn: Connection
) -> None:
    insert_run(conn, "running", NOW - timedelta(hours=1), host="gone", pid=1)
    outcome = trigger(lock_conn, conn).run(now=NOW)
    dead, ours = runs(conn)
    assert dead["status"] == "failed" and dead["note"].startswith("holder_died")
    assert str(outcome.invocation_id) not in dead["note"]  # a run number, not a UUID
    assert dead["note"].endswith(f"(its lock was free when run {ours['id']} started)")
    assert outcome.run_id == ours["id"]
    assert dead["finished_at"] is not None
    assert ours["status"] == "success"


def test_run_once_opens_and_closes_its_own_connections(
    settings: Any, conn: Connection, database_url: str
) -> None:
    outcome = run_once(settings, now=NOW)
    assert outcome.status == "success"

    def others() -> int:
        row = conn.execute(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
            " AND application_name LIKE 'assignment-reminders/%%' AND pid <> pg_backend_pid()"
        ).fetchone()
        assert row is not None
        return int(row["n"])

    wait_for(lambda: others() == 0, timeout=10)


@pytest.mark.parametrize("role", ["anon", "authenticated", "public_user"])
def test_other_roles_may_not_execute_the_lock_wrappers(conn: Connection, role: str) -> None:
    if role == "public_user":
        conn.execute("CREATE ROLE public_user NOLOGIN")
        # A non-superuser with CREATEROLE administers the role it made but must join it to SET it.
        conn.execute("GRANT public_user TO CURRENT_USER")
    conn.execute(f"SET ROLE {role}")
    for function in ("reminders_try_advisory_lock", "reminders_advisory_unlock"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SELECT reminders.{function}(%s)", (LOCK_KEY,))
    conn.execute("RESET ROLE")
    assert lock_pids(conn) == []


def test_service_role_may_execute_the_lock_wrappers(conn: Connection) -> None:
    conn.execute("SET ROLE service_role")
    took = conn.execute("SELECT reminders.reminders_try_advisory_lock(%s) AS ok", (LOCK_KEY,))
    assert took.fetchone() == {"ok": True}
    assert lock_pids(conn) == [conn.info.backend_pid]
    released = conn.execute("SELECT reminders.reminders_advisory_unlock(%s) AS ok", (LOCK_KEY,))
    assert released.fetchone() == {"ok": True}
    assert lock_pids(conn) == []


def test_lock_connection_runs_as_service_role(lock_conn: Connection) -> None:
    assert lock_conn.execute("SELECT current_user AS u").fetchone() == {"u": "service_role"}


def test_registry_pins_our_key_to_our_job_and_refuses_reuse(conn: Connection) -> None:
    row = conn.execute(
        "SELECT lock_key FROM reminders.background_job_lock_keys WHERE job_name = %s", (JOB,)
    ).fetchone()
    assert row == {"lock_key": LOCK_KEY}
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO reminders.background_job_lock_keys (lock_key, job_name, description)"
            " VALUES (%s, 'another-job', 'x')",
            (LOCK_KEY,),
        )
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO reminders.background_job_lock_keys (lock_key, job_name, description)"
            " VALUES (1, %s, 'x')",
            (JOB,),
        )


def test_lock_wrappers_have_a_pinned_search_path(database_url: str) -> None:
    with connect(database_url, purpose="test") as c:
        rows = c.execute(
            "SELECT proname, proconfig FROM pg_proc WHERE proname LIKE 'reminders_%%lock%%'"
        ).fetchall()
    assert rows and all(r["proconfig"] == ["search_path=pg_catalog"] for r in rows)
