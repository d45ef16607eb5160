"""Both lock scopes on a direct connection to a real PostgreSQL (issue 6)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.exceptions import LockLostError, TransactionPoolerError
from assignment_reminders.locking.lock import (
    LockTiming,
    SessionAdvisoryLock,
    TransactionAdvisoryLock,
    open_job_lock,
)
from tests.conftest import wait_for
from tests.locks import lock_pids

FAST = LockTiming(heartbeat_seconds=0.2, idle_timeout_seconds=1.0)


@pytest.fixture
def lock_conn(database_url: str) -> Iterator[Connection]:
    with connect(database_url, purpose="lock") as c:
        yield c


@pytest.fixture
def other_conn(database_url: str) -> Iterator[Connection]:
    with connect(database_url, purpose="lock") as c:
        yield c


@pytest.mark.parametrize("scope", ["session", "transaction"])
def test_the_lock_shows_on_our_backend_excludes_others_and_is_gone_after_release(
    scope: str, database_url: str, conn: Connection, lock_conn: Connection, other_conn: Connection
) -> None:
    lock = open_job_lock(lock_conn, database_url, scope=scope, role="service_role", timing=FAST)
    rival = open_job_lock(other_conn, database_url, scope=scope, role="service_role", timing=FAST)
    assert lock.try_acquire()
    try:
        assert lock_pids(conn) == [lock.backend_pid] == [lock_conn.info.backend_pid]
        assert not rival.try_acquire()
        lock.checkpoint()
    finally:
        assert lock.release()
    assert lock_pids(conn) == []
    assert lock_conn.info.transaction_status.name == "IDLE"
    assert other_conn.info.transaction_status.name == "IDLE"


def test_the_session_lock_runs_as_service_role_with_an_idle_session_timeout(
    database_url: str, lock_conn: Connection
) -> None:
    lock = open_job_lock(lock_conn, database_url, scope="session", role="service_role", timing=FAST)
    assert lock.try_acquire()
    try:
        assert isinstance(lock, SessionAdvisoryLock)
        lock._stop_heartbeat()  # the connection is ours again, to look at it
        row = lock_conn.execute(
            "SELECT current_user AS who, current_setting('idle_session_timeout') AS t"
        ).fetchone()
        assert row == {"who": "service_role", "t": "1s"}
    finally:
        lock.release()


def test_the_transaction_lock_sets_its_timeout_and_role_locally(
    database_url: str, conn: Connection, lock_conn: Connection
) -> None:
    settings_sql = (
        "SELECT current_user AS who, current_setting('idle_in_transaction_session_timeout') AS t"
    )
    before = lock_conn.execute(settings_sql).fetchone()
    assert before is not None
    # the session's own values differ from what the lock sets, so a reset is visible
    assert before["who"] != "service_role"
    assert before["t"] != "1s"
    lock = open_job_lock(
        lock_conn, database_url, scope="transaction", role="service_role", timing=FAST
    )
    assert isinstance(lock, TransactionAdvisoryLock)
    assert lock.try_acquire()

    def horizon() -> dict[str, Any] | None:
        return conn.execute(
            "SELECT backend_xid, backend_xmin::text::bigint AS xmin,"
            " txid_current() & 4294967295 AS now FROM pg_stat_activity WHERE pid = %s",
            (lock.backend_pid,),
        ).fetchone()

    # The open transaction gets no xid, and each heartbeat moves its xmin on: it holds back
    # vacuum by one heartbeat at most, not for the length of the run.
    first = horizon()
    assert first is not None
    assert first["backend_xid"] is None
    wait_for(lambda: (h := horizon()) is not None and h["xmin"] > first["now"], timeout=5)
    lock._stop_heartbeat()
    row = lock_conn.execute(settings_sql).fetchone()
    assert row == {"who": "service_role", "t": "1s"}
    lock.release()
    row = lock_conn.execute(settings_sql).fetchone()
    assert row is not None
    # nothing left on the session: the role and the timeout are each back to what they were
    assert row["who"] == before["who"]
    assert row["t"] == before["t"]


@pytest.mark.parametrize("scope", ["session", "transaction"])
def test_pg_terminate_backend_is_noticed_by_the_heartbeat(
    scope: str, database_url: str, conn: Connection, lock_conn: Connection
) -> None:
    lock = open_job_lock(lock_conn, database_url, scope=scope, role="service_role", timing=FAST)
    assert lock.try_acquire()
    conn.execute("SELECT pg_terminate_backend(%s)", (lock.backend_pid,))

    def lost() -> bool:
        try:
            lock.checkpoint()
        except LockLostError:
            return True
        return False

    wait_for(lost, timeout=5)
    assert not lock.release()
    assert lock_pids(conn) == []


@pytest.mark.parametrize("scope", ["session", "transaction"])
def test_a_silent_holder_loses_the_lock_to_the_server_idle_timeout(
    scope: str, database_url: str, conn: Connection, lock_conn: Connection
) -> None:
    lock = open_job_lock(lock_conn, database_url, scope=scope, role="service_role", timing=FAST)
    assert lock.try_acquire()
    assert isinstance(lock, SessionAdvisoryLock | TransactionAdvisoryLock)
    lock._stop_heartbeat()  # as if hung: nobody speaks on the lock connection any more
    wait_for(lambda: lock_pids(conn) == [], timeout=FAST.idle_timeout_seconds + 3)
    assert not lock.release()


def test_only_service_role_may_execute_the_transaction_wrapper(conn: Connection) -> None:
    row = conn.execute(
        "SELECT has_function_privilege('service_role', f, 'EXECUTE') AS service_role,"
        " has_function_privilege('anon', f, 'EXECUTE') AS anon,"
        " has_function_privilege('authenticated', f, 'EXECUTE') AS authenticated"
        " FROM CAST('reminders.reminders_try_advisory_xact_lock(bigint)' AS regprocedure) AS f"
    ).fetchone()
    assert row == {"service_role": True, "anon": False, "authenticated": False}


def test_a_lock_that_lands_on_another_backend_than_vouched_for_is_undone_at_once(
    database_url: str, conn: Connection, lock_conn: Connection
) -> None:
    lock = open_job_lock(lock_conn, database_url, scope="session", role="service_role", timing=FAST)
    assert isinstance(lock, SessionAdvisoryLock)
    lock._expected_pid = -1  # as if the pooler had moved us after the session check
    with pytest.raises(TransactionPoolerError, match="not on ours"):
        lock.try_acquire()
    assert lock_pids(conn) == []
