"""What the due-index tests share: the rows where the triggers' index and a fresh computation
(reminders.assignment_due_expected) disagree."""

from __future__ import annotations

from typing import Any

from assignment_reminders.db.database import Connection

COLUMNS = "assignment_id, kind, gap_started_on, due_on, contact_first_name, contact_last_name"


def stale_due_rows(conn: Connection) -> list[dict[str, Any]]:
    """Rows in reminders.assignment_due that should not be there, and rows missing from it
    (the contact's names included)."""
    return conn.execute(
        f"(SELECT {COLUMNS} FROM reminders.assignment_due"
        f" EXCEPT SELECT {COLUMNS} FROM reminders.assignment_due_expected)"
        " UNION ALL"
        f" (SELECT {COLUMNS} FROM reminders.assignment_due_expected"
        f" EXCEPT SELECT {COLUMNS} FROM reminders.assignment_due)"
    ).fetchall()
