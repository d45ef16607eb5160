"""The execution log tells what happened (docs/cron-trigger.md, "What the log guarantees").

Real PostgreSQL and real concurrent sessions: a run's lock backend is terminated while one of its
batches is in flight, a second run wins the lock and its first write waits for that batch, which
commits after the second run began. Each row then counts exactly the ledger rows carrying its run
id, both rows name each other, and monitoring opens one ``overlapping_runs`` incident naming both
and a ``failure`` incident for the first run even though the second succeeded before any check.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assignment_reminders.clock import utc_now
from assignment_reminders.db.database import Connection, connect
from assignment_reminders.dev.seed import seed
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.fence import PgFencing
from assignment_reminders.job.joblog import PgExecutionLog
from assignment_reminders.job.reminder_pass import ReminderPass
from assignment_reminders.job.trigger import LOCK_LOST, CronTrigger, RunOutcome
from assignment_reminders.locking.lock import LOCK_KEY, SessionAdvisoryLock
from assignment_reminders.monitoring.checks import FAILURE, OVERLAPPING_RUNS
from assignment_reminders.monitoring.monitor import CheckResult
from tests.alert_receivers import Mailbox, WebhookReceiver
from tests.conftest import wait_for
from tests.integration.test_monitoring_alerts import alerting, sent, smtp_server, webhook
from tests.locks import lock_pids, open_lock_connection
from tests.run_rows import insert_run, runs

__all__ = ["alerting", "smtp_server", "webhook"]

NOW = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
PASS_AT = NOW + timedelta(days=40)  # every seeded assignment is due (reminders and escalations)
JOB = "assignment-reminder-cron"


def ledger(conn: Connection, run_id: int) -> tuple[int, int]:
    """(reminders, escalations) in the ledger carrying *run_id*."""
    row = conn.execute(
        "SELECT count(*) FILTER (WHERE kind = 'reminder') AS r,"
        " count(*) FILTER (WHERE kind = 'escalation') AS e"
        " FROM reminders.reminder_dispatches WHERE run_id = %s",
        (run_id,),
    ).fetchone()
    assert row is not None
    return int(row["r"]), int(row["e"])


def counted(row: dict[str, Any]) -> tuple[int, int]:
    return int(row["reminders_created"]), int(row["escalations_created"])


def waiting_on_a_lock(conn: Connection, pid: int) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'", (pid,)
    ).fetchone()
    return row is not None


def run_in_thread(target: Callable[[], RunOutcome]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []

    def go() -> None:
        try:
            result.append(target())
        except BaseException as exc:  # surfaced by the test's assertion on the result
            result.append(exc)

    thread = threading.Thread(target=go, daemon=True)
    thread.start()
    return thread, result


@pytest.mark.parametrize("seed_value", [18, 1803])
def test_a_batch_committing_after_its_run_lost_the_lock_is_counted_and_reported(
    *,
    conn: Connection,
    database_url: str,
    alerting: Callable[[datetime], CheckResult],
    webhook: WebhookReceiver,
    smtp_server: Mailbox,
    seed_value: int,
) -> None:
    rng = random.Random(seed_value)
    seed(conn, assignments=rng.randint(40, 80), today=NOW.date())
    old_batch, new_batch = rng.randint(8, 20), rng.randint(5, 30)

    blocker = connect(database_url, purpose="blocker")  # holds the old run's batch in flight
    old_lock_conn = open_lock_connection(database_url)
    old_work = connect(database_url, purpose="old-work")
    new_lock_conn = open_lock_connection(database_url)
    new_work = connect(database_url, purpose="new-work")
    try:
        new_row_written = threading.Event()

        def after_old_batch(total: RunCounts) -> None:
            # the old batch has committed; its run goes on only once the new run has written
            # its row (it has taken its fencing token and swept the old row as failed by then)
            wait_for(
                lambda: conn.execute(
                    "SELECT 1 FROM reminders.cron_execution_logs"
                    " WHERE status = 'running' AND lock_backend_pid = %s",
                    (new_lock_conn.info.backend_pid,),
                ).fetchone()
            )
            new_row_written.set()

        old = CronTrigger(
            lock=SessionAdvisoryLock(old_lock_conn, LOCK_KEY),  # default heartbeat: 5 s
            log=PgExecutionLog(old_work),
            reminder_pass=ReminderPass(old_work, batch_size=old_batch, on_batch=after_old_batch),
            job_name=JOB,
            fencing=PgFencing(old_work, JOB, LOCK_KEY),
        )
        new = CronTrigger(
            lock=SessionAdvisoryLock(new_lock_conn, LOCK_KEY),
            log=PgExecutionLog(new_work),
            reminder_pass=ReminderPass(new_work, batch_size=new_batch),
            job_name=JOB,
            fencing=PgFencing(new_work, JOB, LOCK_KEY),
        )

        with blocker.transaction():
            # the batch statement inserts notifications: it waits here, its transaction open
            # (the fence share-locked, the due rows read)
            blocker.execute("LOCK TABLE public.notifications IN SHARE MODE")
            old_thread, old_result = run_in_thread(lambda: old.run(now=PASS_AT))
            wait_for(lambda: waiting_on_a_lock(conn, old_work.info.backend_pid))
            lost_pid = old_lock_conn.info.backend_pid
            conn.execute("SELECT pg_terminate_backend(%s)", (lost_pid,))
            wait_for(lambda: lost_pid not in lock_pids(conn))
            new_thread, new_result = run_in_thread(lambda: new.run(now=PASS_AT))
            # the new run won the lock; its fencing bump waits for the old batch in flight
            wait_for(lambda: lock_pids(conn) == [new_lock_conn.info.backend_pid])
            wait_for(lambda: waiting_on_a_lock(conn, new_work.info.backend_pid))
        # the blocker let go: the old batch commits now, after the new run began to write
        old_thread.join(30)
        new_thread.join(30)
        assert new_row_written.is_set()
    finally:
        for c in (blocker, old_lock_conn, old_work, new_lock_conn, new_work):
            c.close()

    [old_outcome], [new_outcome] = old_result, new_result
    assert isinstance(old_outcome, RunOutcome) and isinstance(new_outcome, RunOutcome)
    assert (old_outcome.status, old_outcome.note) == ("failed", LOCK_LOST)
    assert new_outcome.status == "success"
    rows = {r["id"]: r for r in runs(conn)}
    old_row, new_row = rows[old_outcome.run_id], rows[new_outcome.run_id]
    old_committed = ledger(conn, old_outcome.run_id)
    assert 0 < sum(old_committed) <= old_batch, "the old run's batch in flight committed"
    assert old_row["status"] == "failed"
    assert counted(old_row) == old_committed, "the row counts what committed with its id"
    assert counted(new_row) == ledger(conn, new_outcome.run_id)
    old_said = (old_outcome.counts.reminders_created, old_outcome.counts.escalations_created)
    assert old_said == old_committed, "its --json says what the ledger holds"
    assert old_row.get("overlapped_with") == [new_outcome.run_id]
    assert new_row.get("overlapped_with") == [old_outcome.run_id]

    for _ in range(2):  # however often monitoring checks: one incident each, announced once
        alerting(utc_now())
    assert sent(webhook, smtp_server, OVERLAPPING_RUNS) == (1, 0)
    [overlap] = [t for t in webhook.texts() if t.startswith(f"[ALERT] {OVERLAPPING_RUNS}:")]
    assert f"runs {old_outcome.run_id} (failed" in overlap
    assert f"{new_outcome.run_id} (success" in overlap
    assert sent(webhook, smtp_server, FAILURE) == (1, 1), "opened and recovered, both sent"
    failure = conn.execute(
        "SELECT subject, resolved_at FROM reminders.monitoring_alerts WHERE kind = 'failure'"
    ).fetchall()
    assert [r["subject"] for r in failure] == [f"run:{old_outcome.run_id}"]
    assert failure[0]["resolved_at"] is not None


def test_rows_a_batch_takes_back_before_committing_leave_its_count_later_deletions_do_not(
    conn: Connection,
) -> None:
    seed(conn, assignments=20, today=NOW.date())
    run_id = insert_run(conn, "running", NOW)
    with conn.transaction():  # a pass batch, then a recheck deleting some of what it wrote
        ReminderPass(conn).run(now=PASS_AT, run_id=run_id)
        conn.execute(
            "DELETE FROM reminders.reminder_dispatches WHERE id IN"
            " (SELECT id FROM reminders.reminder_dispatches ORDER BY id LIMIT 3)"
        )
    [row] = [r for r in runs(conn) if r["id"] == run_id]
    assert counted(row) == ledger(conn, run_id)
    committed = counted(row)
    gone = conn.execute(
        "DELETE FROM public.assignments WHERE id = (SELECT assignment_id"
        " FROM reminders.reminder_dispatches WHERE run_id = %s ORDER BY id LIMIT 1)",
        (run_id,),
    )
    assert gone.rowcount == 1
    [row] = [r for r in runs(conn) if r["id"] == run_id]
    assert counted(row) == committed, "what the run committed stays as it was"


def test_a_failed_run_a_success_followed_before_any_check_opens_and_resolves_its_incident(
    conn: Connection,
    alerting: Callable[[datetime], CheckResult],
    webhook: WebhookReceiver,
    smtp_server: Mailbox,
) -> None:
    t0 = utc_now() - timedelta(minutes=30)
    insert_run(conn, "failed", t0, error="DatabaseError: terminated")
    assert [f.kind for f in alerting(t0 + timedelta(minutes=2)).findings] == [FAILURE]
    insert_run(conn, "success", t0 + timedelta(minutes=5))
    assert alerting(t0 + timedelta(minutes=6)).healthy
    assert sent(webhook, smtp_server, FAILURE) == (1, 1), "seen failing: one incident"
    failed = insert_run(conn, "failed", t0 + timedelta(minutes=10), note="lock_lost")
    insert_run(conn, "success", t0 + timedelta(minutes=15))  # before any check ran
    for minutes in (16, 17):
        assert alerting(t0 + timedelta(minutes=minutes)).healthy
    assert sent(webhook, smtp_server, FAILURE) == (2, 2), "opened and resolved, once"
    assert f"run {failed} of" in webhook.texts()[-2]
