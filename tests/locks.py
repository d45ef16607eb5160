"""Test helper: who holds the job's advisory lock, read from ``pg_locks``."""

from __future__ import annotations

from assignment_reminders.database import Connection
from assignment_reminders.lock import LOCK_KEY, key_halves

CLASSID, OBJID = key_halves(LOCK_KEY)


def lock_pids(conn: Connection) -> list[int]:
    """Every backend that holds the job's lock (granted), whatever its scope."""
    rows = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
        " AND classid = %s AND objid = %s",
        (CLASSID, OBJID),
    ).fetchall()
    return [int(r["pid"]) for r in rows]
