"""The built-in scheduler of ``reminders serve``: runs on its cron schedule, checks on a timer."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from assignment_reminders.config import MonitoringSettings, Settings
from assignment_reminders.db.database import Connection
from assignment_reminders.monitoring.cron import CronSchedule
from assignment_reminders.monitoring.monitor import check_once_for
from assignment_reminders.monitoring.run_monitor import monitored_run as run_once
from assignment_reminders.monitoring.service import BuiltinCron
from tests.conftest import wait_for
from tests.run_rows import insert_run

EVERY_MINUTE = CronSchedule.parse("* * * * *", "Europe/Oslo")


def clock_before_next_fire(seconds: float) -> Callable[[], datetime]:
    """A clock running at real speed, set so the next minute boundary is *seconds* away."""
    real = datetime.now(UTC)
    offset = EVERY_MINUTE.next_after(real) - real - timedelta(seconds=seconds)
    return lambda: datetime.now(UTC) + offset


def finished_runs(conn: Connection, n: int) -> list[dict[str, Any]] | None:
    rows = conn.execute(
        "SELECT status, trigger_source, started_at FROM reminders.cron_execution_logs"
        " WHERE status <> 'running' ORDER BY status"
    ).fetchall()
    return rows if len(rows) >= n else None


def test_replicas_fire_at_the_same_time_and_the_lock_lets_one_run(
    conn: Connection, settings: Settings
) -> None:
    clock = clock_before_next_fire(1.0)
    held = functools.partial(run_once, hold_seconds=2.0)
    replicas = [
        BuiltinCron(settings, EVERY_MINUTE, run_job=held, check=check_once_for, clock=clock)
        for _ in range(2)
    ]
    for r in replicas:
        r.start()
    try:
        rows = wait_for(lambda: finished_runs(conn, 2), timeout=30)
    finally:
        for r in replicas:
            r.stop()
    assert [r["status"] for r in rows] == ["skipped", "success"], (
        "the replicas' runs did not overlap: the 2 s hold was missed"
    )
    assert {r["trigger_source"] for r in rows} == {"builtin-cron"}
    fire = EVERY_MINUTE.next_after(rows[0]["started_at"] - timedelta(minutes=1))
    assert abs((rows[1]["started_at"] - fire).total_seconds()) < 5


def test_the_check_loop_alerts_and_the_next_success_recovers_at_once(
    conn: Connection, settings: Settings
) -> None:
    insert_run(conn, "failed", datetime.now(UTC) - timedelta(hours=1), error="boom")
    configured = replace(settings, monitoring=MonitoringSettings(check_interval_seconds=1))
    scheduler = BuiltinCron(
        configured,
        EVERY_MINUTE,
        run_job=run_once,
        check=check_once_for,
        clock=clock_before_next_fire(10.0),  # time for the checks to see the failure first
    )
    scheduler.start()
    try:
        opened = wait_for(
            lambda: conn.execute(
                "SELECT id, opened_by FROM reminders.monitoring_alerts WHERE kind = 'failure'"
            ).fetchone(),
            timeout=9,
        )
        assert finished_runs(conn, 2) is None, "the run fired before the check opened the alert"
        resolved = wait_for(
            lambda: conn.execute(
                "SELECT id, opened_by, resolved_by FROM reminders.monitoring_alerts"
                " WHERE kind = 'failure' AND resolved_at IS NOT NULL"
            ).fetchone(),
            timeout=30,
        )
    finally:
        scheduler.stop()
    assert resolved["id"] == opened["id"]
    assert opened["opened_by"].startswith("builtin-cron@")
    assert resolved["opened_by"].startswith("builtin-cron@")
    # the scheduled run's success settles the incident as it ends, not at the next check
    assert resolved["resolved_by"].startswith("run@")
