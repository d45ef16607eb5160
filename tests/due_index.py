"""What the due-index tests share: the rows where the triggers' index and a fresh computation
(reminders.assignment_due_expected) disagree."""

from __future__ import annotations

from typing import Any

from assignment_reminders.database import Connection


def stale_due_rows(conn: Connection) -> list[dict[str, Any]]:
    """Rows in reminders.assignment_due that should not be there, and rows missing from it."""
    return conn.execute(
        "(SELECT assignment_id, kind, gap_started_on, due_on FROM reminders.assignment_due"
        " EXCEPT SELECT assignment_id, kind, gap_started_on, due_on"
        " FROM reminders.assignment_due_expected)"
        " UNION ALL"
        " (SELECT assignment_id, kind, gap_started_on, due_on"
        " FROM reminders.assignment_due_expected"
        " EXCEPT SELECT assignment_id, kind, gap_started_on, due_on FROM reminders.assignment_due)"
    ).fetchall()
