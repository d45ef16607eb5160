"""Test helper: who holds the job's advisory lock, read from ``pg_locks``."""

from __future__ import annotations

from psycopg import sql

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.gateway import execute
from assignment_reminders.exceptions import DatabaseError
from assignment_reminders.locking.lock import LOCK_KEY, assumable_role


def key_halves(key: int) -> tuple[int, int]:
    """``(classid, objid)`` as ``pg_locks`` shows a bigint key."""
    return (key >> 32) & 0xFFFF_FFFF, key & 0xFFFF_FFFF


CLASSID, OBJID = key_halves(LOCK_KEY)


def lock_pids(conn: Connection) -> list[int]:
    """Every backend that holds the job's lock (granted) in *conn*'s database, whatever its
    scope (advisory locks are per database: another test database's lock is not ours)."""
    rows = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
        " AND classid = %s AND objid = %s"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " ORDER BY pid",
        (CLASSID, OBJID),
    ).fetchall()
    return [int(r["pid"]) for r in rows]


def open_lock_connection(url: str, *, role: str = "service_role") -> Connection:
    """A lock connection running as *role* when the login may.

    ``run_once`` opens a plain connection instead and lets ``open_job_lock`` assume the role:
    a session-level ``SET ROLE`` must not happen before the connection is known to be a real
    session, and the transaction scope uses ``SET LOCAL ROLE`` so nothing leaks onto a pooled
    backend.
    """
    conn = connect(url, purpose="lock")
    try:
        if assumable_role(conn, role) is not None:
            execute(conn, sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    except DatabaseError:
        conn.close()
        raise
    return conn
