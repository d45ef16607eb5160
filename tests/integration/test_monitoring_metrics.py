"""/metrics and /ops read the execution log, the alerts and the delivery queue."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

import httpx
from fastapi import FastAPI

from assignment_reminders.api.app import create_app
from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection
from tests import factories
from tests.run_rows import insert_run


def get(app: FastAPI, path: str) -> httpx.Response:
    """One request through the ASGI app in this process (no server, no network)."""

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get(path)

    return asyncio.run(call())


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert match, f"{name}{labels} not in /metrics"
    return float(match.group(1))


def test_metrics_count_runs_durations_and_the_last_success(
    conn: Connection, settings: Settings
) -> None:
    now = datetime.now(UTC)
    insert_run(
        conn,
        "success",
        now - timedelta(hours=2),
        minutes=2,
        reminders_created=7,
        lock_acquire_ms=1.5,
    )
    insert_run(
        conn, "failed", now - timedelta(hours=1), minutes=0.5, error="boom", lock_acquire_ms=3.0
    )
    insert_run(conn, "skipped", now - timedelta(minutes=30), minutes=0, lock_acquire_ms=0.8)
    insert_run(conn, "running", now - timedelta(minutes=1), minutes=0)
    response = get(create_app(settings), "/metrics")
    assert response.status_code == 200
    text = response.text
    assert sample(text, "reminders_database_up") == 1
    assert sample(text, "reminders_job_runs_total", '{status="success"}') == 1
    assert sample(text, "reminders_job_runs_total", '{status="skipped"}') == 1
    assert 'reminders_job_runs_total{status="running"}' not in text  # a counter never goes down
    assert sample(text, "reminders_job_running") == 1
    assert sample(text, "reminders_job_run_duration_seconds_count") == 2
    bucket = "reminders_job_run_duration_seconds_bucket"
    assert sample(text, bucket, '{le="15.0"}') == 0
    assert sample(text, bucket, '{le="30.0"}') == 1  # exactly on a bound: counted in it
    assert sample(text, bucket, '{le="60.0"}') == 1
    assert sample(text, bucket, '{le="120.0"}') == 2
    assert sample(text, bucket, '{le="+Inf"}') == 2
    assert sample(text, "reminders_job_lock_acquire_seconds_bucket", '{le="0.001"}') == 1
    assert sample(text, "reminders_job_run_duration_seconds_sum") == 150
    assert sample(text, "reminders_job_lock_acquire_seconds_count") == 3
    assert sample(text, "reminders_issued_total", '{kind="reminder"}') == 7
    last = sample(text, "reminders_job_last_success_timestamp_seconds")
    finished = now - timedelta(hours=2) + timedelta(minutes=2)
    assert abs(last - finished.timestamp()) < 1
    assert "reminders_deliveries_total{" not in text  # no deliveries yet: no channel rows


def test_delivery_metrics_count_the_queue_by_channel_and_status(
    conn: Connection, settings: Settings
) -> None:
    assignment = factories.assignment(conn, starts_on=date(2026, 1, 1))
    dispatch = conn.execute(
        "INSERT INTO reminders.reminder_dispatches (assignment_id, kind, gap_started_on,"
        " days_since_contact,"
        " organization_id, peer_mentor_id, coordinator_id, recipient_user_id)"
        " SELECT a.id, k.kind, a.starts_on, 30, a.organization_id, a.peer_mentor_id,"
        "        pm.coordinator_id, pm.user_id"
        " FROM assignments a JOIN peer_mentors pm ON pm.id = a.peer_mentor_id"
        " CROSS JOIN (VALUES ('reminder'), ('escalation')) k (kind) WHERE a.id = %s"
        " RETURNING id",
        (assignment,),
    ).fetchall()
    first, second = (d["id"] for d in dispatch)
    conn.execute(
        "INSERT INTO reminders.reminder_deliveries (dispatch_id, channel, status, next_attempt_at,"
        " idempotency_key, sent_at) VALUES"
        " (%(a)s, 'email', 'sent', now(), 'k1', now()),"
        " (%(b)s, 'email', 'dead', now(), 'k2', NULL),"
        " (%(a)s, 'webhook', 'sent', now(), 'k3', now()),"
        " (%(b)s, 'webhook', 'pending', now(), 'k4', NULL)",
        {"a": first, "b": second},
    )
    app = create_app(settings)
    text = get(app, "/metrics").text
    sent, dead = '{channel="email",outcome="sent"}', '{channel="email",outcome="dead"}'
    assert sample(text, "reminders_deliveries_total", sent) == 1
    assert sample(text, "reminders_deliveries_total", dead) == 1
    assert sample(text, "reminders_deliveries_queued_total", '{channel="email"}') == 2
    assert sample(text, "reminders_delivery_backlog", '{channel="webhook"}') == 1
    page = get(app, "/ops").text
    row = '<tr><td>{}</td><td class="n">{}</td><td class="n">{}</td></tr>'
    assert row.format("webhook", 1, 0) in page  # waiting, dead letters
    assert row.format("email", 0, 1) in page


def test_cancelled_deliveries_are_counted_by_reason_and_are_no_backlog(
    conn: Connection, settings: Settings
) -> None:
    assignment = factories.assignment(conn, starts_on=date(2026, 1, 1))
    dispatch = conn.execute(
        "INSERT INTO reminders.reminder_dispatches (assignment_id, kind, gap_started_on,"
        " days_since_contact, organization_id, peer_mentor_id, coordinator_id, recipient_user_id)"
        " SELECT a.id, 'reminder', a.starts_on, 30, a.organization_id, a.peer_mentor_id,"
        "        pm.coordinator_id, pm.user_id"
        " FROM assignments a JOIN peer_mentors pm ON pm.id = a.peer_mentor_id WHERE a.id = %s"
        " RETURNING id",
        (assignment,),
    ).fetchone()
    assert dispatch is not None
    conn.execute(
        "INSERT INTO reminders.reminder_deliveries (dispatch_id, channel, status, next_attempt_at,"
        " idempotency_key, cancel_reason, cancelled_at) VALUES"
        " (%(d)s, 'email', 'cancelled', now(), 'k1', 'gap_closed', now()),"
        " (%(d)s, 'webhook', 'cancelled', now(), 'k2', 'assignment_paused', now())",
        {"d": dispatch["id"]},
    )
    text = get(create_app(settings), "/metrics").text
    family = "reminders_deliveries_cancelled_total"
    assert sample(text, family, '{channel="email",reason="gap_closed"}') == 1
    assert sample(text, family, '{channel="email",reason="assignment_paused"}') == 0
    assert sample(text, family, '{channel="webhook",reason="assignment_paused"}') == 1
    assert sample(text, family, '{channel="webhook",reason="assignment_ended"}') == 0
    cancelled = '{channel="email",outcome="cancelled"}'
    assert sample(text, "reminders_deliveries_total", cancelled) == 1
    assert sample(text, "reminders_delivery_backlog", '{channel="email"}') == 0  # settled
    names = re.findall(r"^# TYPE (\S+)", text, re.MULTILINE)
    assert "reminders_deliveries_cancelled_total" in names
    assert [n for n in names if n.endswith("_created")] == []


def test_ops_page_marks_failed_and_skipped_runs_and_open_alerts(
    conn: Connection, settings: Settings
) -> None:
    now = datetime.now(UTC)
    insert_run(conn, "success", now - timedelta(days=3), minutes=4)
    insert_run(
        conn,
        "failed",
        now - timedelta(days=2),
        minutes=1,
        error="RuntimeError: <boom> for user 3f1c2d4e-1111-2222-3333-444455556666",
    )
    insert_run(conn, "skipped", now - timedelta(days=1), minutes=0)
    insert_run(conn, "success", now - timedelta(days=40), minutes=4)  # outside the 30 days
    conn.execute(
        "INSERT INTO reminders.monitoring_alerts (job_name, kind, subject, message,"
        " opened_at, opened_by, last_seen_at)"
        " VALUES (%s, 'failure', 'x', 'run 2 failed', now(), 'test', now())",
        (settings.job_name,),
    )
    response = get(create_app(settings), "/ops")
    assert response.status_code == 200
    page = response.text
    assert 'data-runs="3"' in page
    assert page.count('class="run run-failed"') == 1
    assert page.count('class="run run-skipped"') == 1
    assert 'data-state="failing"' in page
    assert "30 min limit: above every run" in page  # the axis fits the 4-minute runs
    assert "RuntimeError: &lt;boom&gt; for user &lt;uuid&gt;" in page
    assert "3f1c2d4e" not in page  # no row values, not even in a tooltip
    assert "run 2 failed" in page
    assert "Nothing waiting to be delivered." in page
    assert '<meta http-equiv="refresh" content="60">' in page
    assets = re.findall(
        r'(?:src|href)="([^"]*)"|url\(|@import|https?://(?!www\.w3\.org/2000/svg)', page
    )
    assert assets == []  # nothing loaded from anywhere
