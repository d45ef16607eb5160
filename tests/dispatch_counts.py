"""Counts of what reminder passes wrote, and the reference: what one clean pass creates.

``reminder_dispatches`` has UNIQUE(assignment_id, kind, gap_started_on), so counting distinct
keys cannot reveal a duplicate. A run (or several racing, crashing or killed runs) is right
when together they created exactly what one uninterrupted pass over the same data creates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.job.reminder_pass import ReminderPass


def table_counts(conn: Connection) -> dict[str, int]:
    """Rows in the ledger, the in-app notifications and the external deliveries."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM reminders.reminder_dispatches) AS dispatches,"
        " (SELECT count(*) FROM public.notifications) AS notifications,"
        " (SELECT count(*) FROM reminders.reminder_deliveries) AS deliveries"
    ).fetchone()
    assert row is not None
    return {k: int(v) for k, v in row.items()}


def dispatch_count(conn: Connection) -> int:
    return table_counts(conn)["dispatches"]


def clean_totals(database_url: str, now: datetime, channels: Sequence[str] = ()) -> dict[str, int]:
    """What one uninterrupted pass at *now* creates from the current data, measured in a
    transaction that is rolled back: call it before the runs under test start."""
    with connect(database_url, purpose="test-reference") as c:
        c.execute("BEGIN")
        try:
            ReminderPass(c, batch_size=1000, channels=channels).run(now=now)
            counts = table_counts(c)
        finally:
            c.execute("ROLLBACK")
    assert counts["dispatches"] > 0, "the reference pass creates nothing: the test is vacuous"
    return counts
