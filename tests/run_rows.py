"""Execution log rows for monitoring tests, at any moment the test chooses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from assignment_reminders.config import JOB_NAME
from assignment_reminders.db.database import Connection
from assignment_reminders.locking.lock import LOCK_KEY
from tests.factories import _insert

T0 = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


def insert_run(
    conn: Connection, status: str, started_at: datetime, *, minutes: float = 1, **extra: Any
) -> int:
    """A ``cron_execution_logs`` row; finished *minutes* after it started unless 'running'."""
    finished = None if status == "running" else started_at + timedelta(minutes=minutes)
    return _insert(
        conn,
        "reminders.cron_execution_logs",
        {
            "job_name": JOB_NAME,
            "invocation_id": uuid.uuid4(),
            "status": status,
            "started_at": started_at,
            "finished_at": finished,
            "duration_ms": None if finished is None else minutes * 60_000,
            "lock_key": LOCK_KEY,
            "host": "test-host",
            "pid": 4321,
            **extra,
        },
    )


def runs(conn: Connection) -> list[dict[str, Any]]:
    """Every ``cron_execution_logs`` row, oldest first."""
    return conn.execute("SELECT * FROM reminders.cron_execution_logs ORDER BY id").fetchall()


def running(conn: Connection) -> dict[str, Any] | None:
    """The oldest row still marked 'running', if any."""
    return conn.execute(
        "SELECT * FROM reminders.cron_execution_logs WHERE status = 'running' ORDER BY id LIMIT 1"
    ).fetchone()
