"""The lock behind real poolers, lost connections and hung holders (issue 6; docs/locking.md).

``reminders run`` runs as separate processes, directly and through a real PgBouncer in
transaction and in session pooling mode; a direct connection watches ``pg_locks``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.dev.seed import seed
from assignment_reminders.locking.lock import LOCK_KEY
from tests.conftest import PROJECT_ROLE, as_user, reminders_cmd, start_reminders, wait_for
from tests.dispatch_counts import clean_totals, dispatch_count, table_counts
from tests.locks import lock_pids
from tests.pgbouncer import PgBouncer, running_pgbouncer
from tests.run_rows import running, runs

pytestmark = pytest.mark.slow

TODAY = datetime.now(UTC).date()
LATER_AT = datetime.now(UTC) + timedelta(days=40)  # every active assignment is due
LATER = LATER_AT.isoformat()
HEARTBEAT = "0.3"
IDLE_TIMEOUT = 2.0


@pytest.fixture(scope="session")
def txn_bouncer(pg_admin_url: str) -> Iterator[PgBouncer]:
    with running_pgbouncer(as_user(pg_admin_url, PROJECT_ROLE), "transaction") as bouncer:
        yield bouncer


@pytest.fixture(scope="session")
def session_bouncer(pg_admin_url: str) -> Iterator[PgBouncer]:
    with running_pgbouncer(as_user(pg_admin_url, PROJECT_ROLE), "session") as bouncer:
        yield bouncer


@pytest.fixture
def env(cli_env: dict[str, str]) -> dict[str, str]:
    return {
        **cli_env,
        "REMINDERS_LOCK_HEARTBEAT_SECONDS": HEARTBEAT,
        "REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS": str(IDLE_TIMEOUT),
        "REMINDERS_BATCH_SIZE": "10",
    }


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return start_reminders(env, "run", "--json", "--now", LATER, "--allow-distant-now", *args)


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, dict[str, Any], str]:
    out, err = proc.communicate(timeout=timeout)
    outcome = json.loads(out) if out.strip() else {}
    return proc.returncode, outcome, err


def run(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any], str]:
    return finish(start(env, *args))


def run_row(conn: Connection, run_id: int) -> dict[str, Any]:
    [row] = [r for r in runs(conn) if r["id"] == run_id]
    return row


def created_by(conn: Connection, run_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM reminders.reminder_dispatches WHERE run_id = %s", (run_id,)
    ).fetchone()
    assert row is not None
    return int(row["n"])


# --- transaction pooling -------------------------------------------------------------------


def test_why_session_locks_are_refused_there_the_next_client_inherits_the_lock(
    conn: Connection, txn_bouncer: PgBouncer, database_url: str
) -> None:
    """LOCKING.md, reproduced: a session lock outlives its client on a transaction-pooled
    backend, and the next client that lands there is granted it again: two holders at once."""
    url = txn_bouncer.url_for(database_url)
    with connect(url, purpose="first") as first:
        got = first.execute("SELECT pg_try_advisory_lock(%s) AS ok", (LOCK_KEY,)).fetchone()
        assert got == {"ok": True}
    assert len(lock_pids(conn)) == 1  # the client is gone, the lock is not
    try:
        with connect(url, purpose="second") as second:
            again = second.execute("SELECT pg_try_advisory_lock(%s) AS ok", (LOCK_KEY,)).fetchone()
            assert again == {"ok": True}
    finally:
        for pid in lock_pids(conn):
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    wait_for(lambda: lock_pids(conn) == [])


def test_session_scope_through_transaction_pooler_is_refused_and_leaves_no_lock(
    env: dict[str, str], conn: Connection, txn_bouncer: PgBouncer, database_url: str
) -> None:
    env = {**env, "DATABASE_URL": txn_bouncer.url_for(database_url)}
    code, outcome, err = run(env)
    assert code == 1
    assert outcome == {}
    assert "transaction-pooled" in err
    assert f"127.0.0.1:{txn_bouncer.port}" in err
    assert "REMINDERS_LOCK_SCOPE=transaction" in err
    assert lock_pids(conn) == []
    assert runs(conn) == []


def test_transaction_scope_through_transaction_pooler_one_wins_kill_frees_the_lock(
    env: dict[str, str], conn: Connection, txn_bouncer: PgBouncer, database_url: str
) -> None:
    env = {
        **env,
        "DATABASE_URL": txn_bouncer.url_for(database_url),
        "REMINDERS_LOCK_SCOPE": "transaction",
    }
    holder = start(env, "--hold-seconds", "60")
    try:
        wait_for(lambda: lock_pids(conn), timeout=30)
        code, outcome, _ = run(env)
        assert (code, outcome["status"], outcome["note"]) == (0, "skipped", "advisory_lock_held")
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        wait_for(lambda: lock_pids(conn) == [], timeout=10)
    finally:
        holder.kill()
        holder.communicate()
    code, outcome, _ = run(env)
    assert (code, outcome["status"]) == (0, "success")
    assert lock_pids(conn) == []  # PgBouncer keeps the backends: none of them kept the lock


def test_transaction_scope_through_transaction_pooler_leaves_no_lock_after_failure(
    env: dict[str, str], conn: Connection, txn_bouncer: PgBouncer, database_url: str
) -> None:
    env = {
        **env,
        "DATABASE_URL": txn_bouncer.url_for(database_url),
        "REMINDERS_LOCK_SCOPE": "transaction",
    }
    seed(conn, assignments=30, today=TODAY)  # the pass only reads other tables when it has work
    conn.execute("ALTER TABLE public.notifications RENAME TO notifications_gone")
    code, outcome, _ = run(env)
    assert (code, outcome["status"]) == (1, "failed")
    assert "notifications" in outcome["error"]
    assert lock_pids(conn) == []


# --- session pooling -----------------------------------------------------------------------


def test_session_scope_through_session_pooler_works_like_direct(
    env: dict[str, str], conn: Connection, session_bouncer: PgBouncer, database_url: str
) -> None:
    seed(conn, assignments=30, today=TODAY)
    env = {**env, "DATABASE_URL": session_bouncer.url_for(database_url)}
    holder = start(env, "--hold-seconds", "6")
    try:
        pids = wait_for(lambda: lock_pids(conn), timeout=30)
        code, outcome, _ = run(env)
        assert (code, outcome["status"], outcome["holder"]["pid"]) == (0, "skipped", pids[0])
        assert holder.poll() is None, (
            "the first run ended before the second started: the overlap was missed"
        )
    finally:
        code, outcome, err = finish(holder)
    assert outcome["status"] == "success", err
    assert outcome["counts"]["reminders_created"] > 0
    assert outcome["unlock_ok"] is True
    assert lock_pids(conn) == []


def test_sigkill_of_a_session_scope_holder_behind_the_session_pooler_frees_the_lock(
    env: dict[str, str], conn: Connection, session_bouncer: PgBouncer, database_url: str
) -> None:
    env = {**env, "DATABASE_URL": session_bouncer.url_for(database_url)}
    holder = start(env, "--hold-seconds", "60")
    try:
        wait_for(lambda: lock_pids(conn), timeout=30)
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
        # PgBouncer keeps the backend and resets it (DISCARD ALL releases advisory locks)
        wait_for(lambda: lock_pids(conn) == [], timeout=10)
    finally:
        holder.kill()
        holder.communicate()
    code, outcome, err = run(env)
    assert (code, outcome.get("status")) == (0, "success"), err


# --- lost connections and hung holders -----------------------------------------------------


@pytest.fixture(params=["direct/session", "transaction-pooler/transaction"])
def route_env(
    request: pytest.FixtureRequest,
    env: dict[str, str],
    conn: Connection,
    txn_bouncer: PgBouncer,
    database_url: str,
) -> dict[str, str]:
    """Seeded data, and the environment of one route: direct with the session scope, or the
    transaction pooler with the transaction scope."""
    seed(conn, assignments=60, today=TODAY)
    if request.param == "direct/session":
        return env
    return {
        **env,
        "DATABASE_URL": txn_bouncer.url_for(database_url),
        "REMINDERS_LOCK_SCOPE": "transaction",
    }


def start_mid_run(env: dict[str, str], conn: Connection) -> tuple[subprocess.Popen[str], int]:
    """A run that has committed its first batch and waits before the next, holding the lock."""
    proc = start(env, "--pause-between-batches", "60")
    try:
        run_id = int(wait_for(lambda: running(conn), timeout=30)["id"])
        wait_for(lambda: created_by(conn, run_id) > 0, timeout=30)
        wait_for(lambda: lock_pids(conn), timeout=10)
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return proc, run_id


def test_terminated_lock_connection_ends_the_run_as_lock_lost_and_the_next_run_completes(
    route_env: dict[str, str], conn: Connection, database_url: str
) -> None:
    env = route_env
    expected = clean_totals(database_url, LATER_AT)
    first, _ = start_mid_run(env, conn)
    try:
        conn.execute("SELECT pg_terminate_backend(%s)", (lock_pids(conn)[0],))
        code, outcome, _ = finish(first, timeout=30)
    finally:
        first.kill()
    assert (code, outcome["status"], outcome["note"]) == (1, "failed", "lock_lost")
    assert run_row(conn, outcome["run_id"])["note"].startswith("lock_lost")
    partial = created_by(conn, outcome["run_id"])
    assert 0 < partial == dispatch_count(conn)

    code, second, _ = run(env)
    assert (code, second["status"]) == (0, "success")
    code, third, _ = run(env)
    assert third["counts"]["reminders_created"] + third["counts"]["escalations_created"] == 0
    assert partial + created_by(conn, second["run_id"]) == expected["dispatches"]
    assert table_counts(conn) == expected  # the runs together: what one clean run creates
    assert lock_pids(conn) == []


def test_sigstopped_holder_loses_the_lock_within_the_bound_and_stops_when_resumed(
    route_env: dict[str, str], conn: Connection, database_url: str
) -> None:
    env = route_env
    expected = clean_totals(database_url, LATER_AT)
    hung, run_id = start_mid_run(env, conn)
    try:
        hung.send_signal(signal.SIGSTOP)
        stopped_at = time.monotonic()
        before = created_by(conn, run_id)
        wait_for(lambda: lock_pids(conn) == [], timeout=IDLE_TIMEOUT + 10)
        lost_after = time.monotonic() - stopped_at
        assert lost_after <= IDLE_TIMEOUT + float(HEARTBEAT) + 2

        code, other, _ = run(env)
        assert (code, other["status"]) == (0, "success")
        assert other["counts"]["reminders_created"] > 0

        hung.send_signal(signal.SIGCONT)
        code, outcome, err = finish(hung, timeout=30)
    finally:
        if hung.poll() is None:
            os.kill(hung.pid, signal.SIGCONT)
            hung.kill()
            hung.communicate()
    assert (code, outcome.get("status"), outcome.get("note")) == (1, "failed", "lock_lost"), err
    assert created_by(conn, run_id) == before  # nothing more after it woke up
    row = run_row(conn, run_id)
    assert row["status"] == "failed"
    assert row["note"].startswith("holder_died")
    assert "lock_lost" in row["note"]
    assert before + created_by(conn, other["run_id"]) == expected["dispatches"]
    assert table_counts(conn) == expected  # the runs together: what one clean run creates


def test_a_direct_lock_url_lets_the_work_go_through_the_transaction_pooler(
    env: dict[str, str], conn: Connection, txn_bouncer: PgBouncer, database_url: str
) -> None:
    seed(conn, assignments=20, today=TODAY)
    env = {
        **env,
        "DATABASE_URL": txn_bouncer.url_for(database_url),
        "REMINDERS_LOCK_DATABASE_URL": database_url,
    }
    code, outcome, err = run(env)
    assert (code, outcome.get("status")) == (0, "success"), err
    assert outcome["counts"]["reminders_created"] > 0
    assert lock_pids(conn) == []


# --- reminders doctor ----------------------------------------------------------------------


def doctor(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        reminders_cmd("doctor", "--json"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_doctor_fails_session_scope_through_the_transaction_pooler_and_names_the_fix(
    env: dict[str, str], txn_bouncer: PgBouncer, database_url: str
) -> None:
    env = {**env, "DATABASE_URL": txn_bouncer.url_for(database_url)}
    done = doctor(env)
    assert done.returncode == 1
    rows = {c["name"]: c for c in json.loads(done.stdout)}
    assert rows["lock connection"]["result"] == "fail"
    assert "transaction-pooled" in rows["lock connection"]["detail"]
    assert "REMINDERS_LOCK_SCOPE=transaction" in rows["lock connection"]["fix"]
    assert "lock connection" in done.stderr

    done = doctor({**env, "REMINDERS_LOCK_SCOPE": "transaction"})
    assert done.returncode == 0, done.stdout


def test_doctor_passes_session_scope_through_the_session_pooler(
    env: dict[str, str], session_bouncer: PgBouncer, database_url: str
) -> None:
    done = doctor({**env, "DATABASE_URL": session_bouncer.url_for(database_url)})
    assert done.returncode == 0, done.stdout
    rows = {c["name"]: c for c in json.loads(done.stdout)}
    assert "a real session (session-pooled)" in rows["lock connection"]["detail"]
