"""Retention: the job prunes its own old execution log rows; the ledger keeps its reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection
from assignment_reminders.dev.seed import seed
from assignment_reminders.monitoring.run_monitor import monitored_run as run_once
from tests.run_rows import insert_run

NOW = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


def test_a_run_prunes_log_rows_older_than_the_retention_age(
    conn: Connection, settings: Settings
) -> None:
    seed(conn, assignments=40, today=date(2026, 11, 28))
    old = NOW - timedelta(days=200)
    first = run_once(settings, now=NOW, clock=lambda: old)
    assert first.status == "success"
    made = conn.execute(
        "SELECT count(*) AS n FROM reminders.reminder_dispatches WHERE run_id = %s", (first.run_id,)
    ).fetchone()
    assert made is not None
    assert made["n"] > 0
    kept = run_once(settings, now=NOW, clock=lambda: NOW - timedelta(days=179))
    second = run_once(settings, now=NOW, clock=lambda: NOW)
    assert second.status == "success"
    ids = [
        r["id"] for r in conn.execute("SELECT id FROM reminders.cron_execution_logs ORDER BY id")
    ]
    assert ids == [kept.run_id, second.run_id]
    orphaned = conn.execute(
        "SELECT count(*) AS n FROM reminders.reminder_dispatches WHERE run_id IS NULL"
    ).fetchone()
    assert orphaned == made


def test_a_running_row_is_never_pruned(conn: Connection, settings: Settings) -> None:
    from assignment_reminders.monitoring.retention import prune

    insert_run(conn, "running", NOW - timedelta(days=400))
    assert prune(conn, now=NOW, retention_days=180).runs == 0
