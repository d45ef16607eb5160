"""Test helper: who holds the job's advisory lock, read from ``pg_locks``."""

from __future__ import annotations

from assignment_reminders.database import Connection
from assignment_reminders.lock import LOCK_KEY, key_halves

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
