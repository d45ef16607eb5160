"""The benchmark's baselines do the same work as the reminder pass, so the ratios compare like
with like: the naive loop and the pure-SQL floor write the same ledger and notification rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from benchmarks.naive import naive_run

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.dev.seed import seed
from assignment_reminders.job.reminder_pass import ReminderPass
from tests.conftest import REPO

NOW = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


def written(conn: Connection) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT d.assignment_id, d.kind, d.gap_started_on, d.days_since_contact,"
        " n.recipient_user_id, n.title, n.body"
        " FROM reminders.reminder_dispatches d JOIN notifications n ON n.dispatch_id = d.id"
        " ORDER BY d.assignment_id, d.kind"
    ).fetchall()
    return [tuple(r.values()) for r in rows]


def test_naive_loop_and_sql_floor_write_what_the_pass_writes(
    conn: Connection, database_url: str
) -> None:
    seed(conn, assignments=300, today=date(2026, 11, 28))
    conn.execute("BEGIN")
    ReminderPass(conn).run(now=NOW)
    expected = written(conn)
    conn.execute("ROLLBACK")
    assert len(expected) > 50  # the seed makes many reminders and escalations due

    conn.execute("BEGIN")
    conn.execute(Path(REPO, "benchmarks/floor.sql").read_text(), {"now": NOW})
    floor = written(conn)
    conn.execute("ROLLBACK")
    assert floor == expected

    _, created = naive_run(database_url, NOW)
    assert created == len(expected)
    with connect(database_url, purpose="test") as check:
        assert written(check) == expected
