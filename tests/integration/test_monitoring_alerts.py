"""Alerts fire once per incident and recover once, with the clock passed in, to real sinks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from assignment_reminders.config import JOB_NAME, MonitoringSettings, Secret, Settings, SmtpSettings
from assignment_reminders.db.database import Connection, connect
from assignment_reminders.monitoring.alerts import open_alerts
from assignment_reminders.monitoring.checks import (
    FAILURE,
    MISSED_RUN,
    OVERLAPPING_RUNS,
    OVERRUN,
    STUCK_LOCK,
)
from assignment_reminders.monitoring.monitor import CheckResult, run_checks
from assignment_reminders.monitoring.sinks import LogSink, sinks_from_settings
from assignment_reminders.monitoring.status import read_status
from tests.alert_receivers import (
    ALERT_WEBHOOK_SECRET,
    Mailbox,
    WebhookReceiver,
    smtp_server,
    webhook,
)
from tests.run_rows import T0, insert_run

__all__ = ["smtp_server", "webhook"]


@pytest.fixture
def alerting(
    conn: Connection, settings: Settings, webhook: WebhookReceiver, smtp_server: Mailbox
) -> Callable[[datetime], CheckResult]:
    configured = replace(
        settings,
        monitoring=MonitoringSettings(
            webhook_url=Secret(webhook.url),
            webhook_secret=Secret(ALERT_WEBHOOK_SECRET),
            email_to=("ops@example.org",),
        ),
        smtp=SmtpSettings(host=smtp_server.host, port=smtp_server.port, tls="none"),
    )
    sinks = sinks_from_settings(configured)
    assert [s.name for s in sinks] == ["log", "webhook", "email"]

    def check(now: datetime) -> CheckResult:
        return run_checks(conn, configured, now=now, sinks=sinks, record=True)

    return check


def sent(webhook: WebhookReceiver, mailbox: Mailbox, kind: str) -> tuple[int, int]:
    """(alerts, recoveries) of *kind* seen by the webhook, after checking email saw the same."""
    texts = webhook.texts()
    alerts = sum(t.startswith(f"[ALERT] {kind}:") for t in texts)
    recoveries = sum(t.startswith(f"[RECOVERED] {kind} ") for t in texts)
    subjects = mailbox.subjects()
    assert sum(s.startswith(f"[ALERT] {kind}:") for s in subjects) == alerts
    assert sum(s.startswith(f"[RECOVERED] {kind} ") for s in subjects) == recoveries
    return alerts, recoveries


def test_overrun_alerts_once_and_recovers_once(
    conn: Connection,
    alerting: Callable[[datetime], CheckResult],
    webhook: WebhookReceiver,
    smtp_server: Mailbox,
) -> None:
    run_id = insert_run(conn, "running", T0)
    assert alerting(T0 + timedelta(minutes=29)).healthy
    for minutes in (31, 35, 50):
        result = alerting(T0 + timedelta(minutes=minutes))
        assert [f.kind for f in result.findings] == [OVERRUN]
    assert sent(webhook, smtp_server, OVERRUN) == (1, 0)
    assert "running for 31 min" in webhook.texts()[0]
    conn.execute(
        "UPDATE reminders.cron_execution_logs SET status = 'success', finished_at = %s"
        " WHERE id = %s",
        (T0 + timedelta(minutes=55), run_id),
    )
    assert alerting(T0 + timedelta(minutes=56)).healthy
    assert alerting(T0 + timedelta(minutes=57)).healthy
    assert sent(webhook, smtp_server, OVERRUN) == (1, 1)


def test_missed_run_alerts_once_and_recovers_once(
    conn: Connection,
    alerting: Callable[[datetime], CheckResult],
    webhook: WebhookReceiver,
    smtp_server: Mailbox,
) -> None:
    # daily at 06:00 Oslo (05:00 UTC = T0): the next run is expected at T0 + 24 h; the default
    # grace is 30 min, so the first miss is alerted at T0 + 24 h 30 min, not 26 h after
    insert_run(conn, "success", T0, unlock_ok=True)
    assert alerting(T0 + timedelta(hours=24, minutes=29)).healthy
    for hours in (24.6, 28, 30):
        assert [f.kind for f in alerting(T0 + timedelta(hours=hours)).findings] == [MISSED_RUN]
    assert sent(webhook, smtp_server, MISSED_RUN) == (1, 0)
    insert_run(conn, "success", T0 + timedelta(hours=30), unlock_ok=True)
    assert alerting(T0 + timedelta(hours=31)).healthy
    assert alerting(T0 + timedelta(hours=32)).healthy
    assert sent(webhook, smtp_server, MISSED_RUN) == (1, 1)


def test_stuck_lock_alerts_once_naming_the_holder_and_recovers_once(
    conn: Connection,
    alerting: Callable[[datetime], CheckResult],
    webhook: WebhookReceiver,
    smtp_server: Mailbox,
) -> None:
    holder = {
        "holder_pid": 4242,
        "holder_application_name": "assignment-reminders/lock box-7:99",
        "holder_client_addr": "10.0.0.7",
        "holder_since": T0,
    }
    insert_run(conn, "success", T0, unlock_ok=True)
    for i in range(1, 6):
        started = T0 + timedelta(hours=i)
        insert_run(conn, "skipped", started, minutes=0, note="advisory_lock_held", **holder)
        result = alerting(started + timedelta(minutes=1))
        assert [f.kind for f in result.findings] == ([STUCK_LOCK] if i >= 3 else [])
    assert sent(webhook, smtp_server, STUCK_LOCK) == (1, 0)
    alert = webhook.texts()[0]
    assert "pid 4242" in alert
    assert "assignment-reminders/lock box-7:99" in alert
    assert "10.0.0.7" in alert
    insert_run(conn, "success", T0 + timedelta(hours=6), unlock_ok=True)
    assert alerting(T0 + timedelta(hours=6, minutes=2)).healthy
    assert alerting(T0 + timedelta(hours=6, minutes=3)).healthy
    assert sent(webhook, smtp_server, STUCK_LOCK) == (1, 1)


def test_failure_alerts_once_with_its_error_and_recovers_once(
    conn: Connection,
    alerting: Callable[[datetime], CheckResult],
    webhook: WebhookReceiver,
    smtp_server: Mailbox,
) -> None:
    insert_run(conn, "failed", T0, error="RuntimeError: the database said no", unlock_ok=True)
    for minutes in (2, 3, 4):
        assert [f.kind for f in alerting(T0 + timedelta(minutes=minutes)).findings] == [FAILURE]
    assert sent(webhook, smtp_server, FAILURE) == (1, 0)
    assert "RuntimeError: the database said no" in webhook.texts()[0]
    assert "RuntimeError: the database said no" in smtp_server.messages[0].get_payload()
    insert_run(conn, "success", T0 + timedelta(minutes=10), unlock_ok=True)
    assert alerting(T0 + timedelta(minutes=12)).healthy
    assert alerting(T0 + timedelta(minutes=13)).healthy
    assert sent(webhook, smtp_server, FAILURE) == (1, 1)


def test_unlock_failure_alerts_and_recovers(
    conn: Connection,
    alerting: Callable[[datetime], CheckResult],
    webhook: WebhookReceiver,
    smtp_server: Mailbox,
) -> None:
    insert_run(conn, "failed", T0, unlock_ok=False, note="lock_lost")
    assert not alerting(T0 + timedelta(minutes=2)).healthy
    assert not alerting(T0 + timedelta(minutes=3)).healthy
    assert sent(webhook, smtp_server, "unlock_failed") == (1, 0)
    insert_run(conn, "success", T0 + timedelta(minutes=5), unlock_ok=True)
    assert alerting(T0 + timedelta(minutes=7)).healthy
    assert sent(webhook, smtp_server, "unlock_failed") == (1, 1)


def test_replicas_checking_at_once_open_one_incident(
    database_url: str, conn: Connection, settings: Settings
) -> None:
    insert_run(conn, "failed", T0, error="boom")
    barrier = threading.Barrier(4)
    results: list[CheckResult] = []
    errors: list[BaseException] = []

    def replica() -> None:
        try:
            with connect(database_url, purpose="replica") as c:
                barrier.wait()
                now = T0 + timedelta(hours=1)
                results.append(run_checks(c, settings, now=now, sinks=[LogSink()], record=True))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 4
    # exactly one replica reported the incident as opened, and the table holds exactly one
    assert sorted(len(r.changes.opened) for r in results) == [0, 0, 0, 1]
    alerts = conn.execute("SELECT count(*) AS n FROM reminders.monitoring_alerts").fetchone()
    assert alerts == {"n": 1}
    assert [a.kind for a in open_alerts(conn, settings.job_name)] == [FAILURE]


def test_a_second_open_incident_is_refused_by_the_database(conn: Connection) -> None:
    import psycopg

    sql = (
        "INSERT INTO reminders.monitoring_alerts (job_name, kind, subject, message,"
        " opened_at, opened_by, last_seen_at) VALUES ('j', 'failure', 'j', 'm', now(), 'me', now())"
    )
    conn.execute(sql)
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(sql)


def test_a_broken_webhook_does_not_stop_the_email_and_never_logs_its_url(
    conn: Connection,
    settings: Settings,
    smtp_server: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.alert_receivers import free_port

    url = f"http://127.0.0.1:{free_port()}/hooks/T000/secret-path"  # nothing listens there
    configured = replace(
        settings,
        monitoring=MonitoringSettings(
            webhook_url=Secret(url),
            webhook_secret=Secret(ALERT_WEBHOOK_SECRET),
            email_to=("ops@example.org",),
        ),
        smtp=SmtpSettings(host=smtp_server.host, port=smtp_server.port, tls="none"),
    )
    insert_run(conn, "failed", T0, error="boom")
    result = run_checks(
        conn,
        configured,
        now=T0 + timedelta(minutes=5),
        sinks=sinks_from_settings(configured),
        record=True,
    )
    assert [a.kind for a in result.changes.opened] == [FAILURE]
    assert len(smtp_server.messages) == 1
    assert "could not send alert" in caplog.text
    assert "secret-path" not in caplog.text


def test_overlapping_runs_alert_once_with_both_run_ids_and_status_marks_them(
    conn: Connection,
    settings: Settings,
    alerting: Callable[[datetime], CheckResult],
    webhook: WebhookReceiver,
    smtp_server: Mailbox,
) -> None:
    # a cut run still finishing while the next winner worked: the log must identify it
    cut = insert_run(conn, "failed", T0, minutes=3, note="lock_lost", lock_acquire_ms=4)
    winner = insert_run(conn, "success", T0 + timedelta(minutes=1), minutes=5, lock_acquire_ms=4)
    insert_run(conn, "skipped", T0 + timedelta(minutes=2), minutes=0.01)
    insert_run(conn, "success", T0 + timedelta(minutes=7), minutes=1, unlock_ok=True)
    for minutes in (10, 11, 12):
        result = alerting(T0 + timedelta(minutes=minutes))
        assert OVERLAPPING_RUNS in [f.kind for f in result.findings]
    assert sent(webhook, smtp_server, OVERLAPPING_RUNS) == (1, 0)
    [alert] = [a for a in open_alerts(conn, JOB_NAME) if a.kind == OVERLAPPING_RUNS]
    assert alert.details["run_ids"] == [cut, winner]
    assert f"runs {cut} (failed" in alert.message and f"{winner} (success" in alert.message

    current = read_status(conn, settings, now=T0 + timedelta(minutes=12))
    marks = {r["id"]: r["overlapped"] for r in current.runs}
    assert marks[cut] == f"with {winner}" and marks[winner] == f"with {cut}"
    assert [m for i, m in marks.items() if i not in (cut, winner)] == [None, None]
    assert f"with {winner}" in current.render()
