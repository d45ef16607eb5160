"""Acknowledgements and maintenance windows against the real database, concurrently."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest

from assignment_reminders.config import JOB_NAME, Settings
from assignment_reminders.db.database import Connection, connect
from assignment_reminders.exceptions import InputError, ReminderError
from assignment_reminders.monitoring.alerts import open_alerts
from assignment_reminders.monitoring.incidents import acknowledge, close_window, open_window
from assignment_reminders.monitoring.monitor import run_checks
from assignment_reminders.monitoring.sinks import LogSink
from tests.run_rows import T0, insert_run


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_people_acknowledging_at_once_leave_one_acknowledgement(
    database_url: str, conn: Connection, settings: Settings, seed: int
) -> None:
    insert_run(conn, "failed", T0, error="boom")
    run_checks(conn, settings, now=T0 + timedelta(minutes=2), sinks=[LogSink()], record=True)
    [incident] = open_alerts(conn, JOB_NAME)
    rng = random.Random(seed)
    names = [f"person-{i}" for i in range(rng.randint(3, 6))]
    start = threading.Barrier(len(names))
    won: list[str] = []
    refused: list[str] = []

    def ack(name: str) -> None:
        with connect(database_url, purpose="test") as c:
            start.wait()
            try:
                acknowledge(
                    c, JOB_NAME, incident.id, by=name, note=None, now=T0 + timedelta(minutes=3)
                )
                won.append(name)
            except InputError as exc:
                refused.append(exc.message)

    threads = [threading.Thread(target=ack, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(won) == 1 and len(refused) == len(names) - 1
    assert all(f"already acknowledged by {won[0]}" in m for m in refused)
    [after] = open_alerts(conn, JOB_NAME)
    assert after.acknowledged_by == won[0]


def test_the_database_refuses_an_acknowledgement_without_its_author(conn: Connection) -> None:
    insert_run(conn, "failed", T0, error="boom")
    conn.execute(
        "INSERT INTO reminders.monitoring_alerts (job_name, kind, subject, message, opened_at,"
        " opened_by, last_seen_at) VALUES (%s, 'failure', 'x', 'm', %s, 't', %s)",
        (JOB_NAME, T0, T0),
    )
    with pytest.raises(Exception, match="monitoring_alerts_acknowledged_together"):
        conn.execute("UPDATE reminders.monitoring_alerts SET acknowledged_at = %s", (T0,))


def test_a_window_mutes_only_inside_it_and_closing_it_early_ends_it(
    conn: Connection, settings: Settings
) -> None:
    window = open_window(
        conn,
        JOB_NAME,
        starts_at=T0,
        ends_at=T0 + timedelta(hours=2),
        reason="upgrade",
        by="kari",
        now=T0 - timedelta(minutes=1),
    )
    insert_run(conn, "failed", T0, error="boom")
    inside = run_checks(
        conn, settings, now=T0 + timedelta(minutes=5), sinks=[LogSink()], record=True
    )
    assert inside.changes.muted_by == window.id
    assert [a.muted_by for a in open_alerts(conn, JOB_NAME)] == [window.id]
    close_window(conn, JOB_NAME, window.id, by="kari", now=T0 + timedelta(minutes=10))
    insert_run(conn, "success", T0 + timedelta(minutes=11), unlock_ok=True)
    after = run_checks(
        conn, settings, now=T0 + timedelta(minutes=15), sinks=[LogSink()], record=True
    )
    assert after.changes.muted_by is None and [a.kind for a in after.changes.resolved] == [
        "failure"
    ]
    with pytest.raises(ReminderError, match="already closed by kari"):
        close_window(conn, JOB_NAME, window.id, by="ola", now=T0 + timedelta(minutes=20))
