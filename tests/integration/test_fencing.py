"""Fenced writes (fence.py): a run writes a batch only while it provably holds the lock.

Default heartbeat (5 s): these runs lose their lock between heartbeats, so only the fence can
notice in time.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.delivery.messages import Renderer
from assignment_reminders.delivery.service import DeliveryDrain
from assignment_reminders.delivery.states import DrainResult
from assignment_reminders.delivery.webhook import WebhookChannel
from assignment_reminders.dev.seed import seed
from assignment_reminders.exceptions import LockLostError
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.fence import PgFencing
from assignment_reminders.job.joblog import PgExecutionLog
from assignment_reminders.job.reminder_pass import ReminderPass
from assignment_reminders.job.trigger import LOCK_LOST, CronTrigger
from assignment_reminders.locking.lock import LOCK_KEY, SessionAdvisoryLock
from tests import factories
from tests.conftest import wait_for
from tests.dispatch_counts import dispatch_count
from tests.locks import lock_pids, open_lock_connection
from tests.receivers import WEBHOOK_SECRET, Recorder, webhook_receiver
from tests.run_rows import insert_run, runs

NOW = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
JOB = "assignment-reminder-cron"


@pytest.fixture
def lock_conn(database_url: str) -> Iterator[Connection]:
    with open_lock_connection(database_url) as c:
        yield c


def take_lock(lock_conn: Connection) -> SessionAdvisoryLock:
    lock = SessionAdvisoryLock(lock_conn, LOCK_KEY)
    assert lock.try_acquire()
    return lock


def terminate(conn: Connection, pid: int) -> None:
    conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    wait_for(lambda: pid not in lock_pids(conn))


def test_a_batch_after_the_lock_backend_died_writes_nothing_and_the_run_fails_lock_lost(
    conn: Connection, database_url: str
) -> None:
    for _ in range(6):
        factories.assignment(conn, starts_on=date(2026, 11, 1))
    batches: list[int] = []
    holder: list[int] = []

    def cut_after_first_batch(total: RunCounts) -> None:
        batches.append(dispatch_count(conn))
        if len(batches) == 1:  # after the first batch: its lock session dies
            terminate(conn, holder[0])

    with open_lock_connection(database_url) as lock_conn, connect(database_url, purpose="w") as w:
        holder.append(lock_conn.info.backend_pid)
        original = CronTrigger(
            lock=SessionAdvisoryLock(lock_conn, LOCK_KEY),  # default heartbeat: 5 s
            log=PgExecutionLog(w),
            reminder_pass=ReminderPass(w, batch_size=2, on_batch=cut_after_first_batch),
            job_name=JOB,
            fencing=PgFencing(w, JOB, LOCK_KEY),
        ).run(now=NOW)
    assert (original.status, original.note) == ("failed", LOCK_LOST)
    [first_batch] = batches  # the only batch that ran: the second found the lock gone
    assert first_batch > 0
    assert dispatch_count(conn) == first_batch, "the batch after the cut wrote nothing"
    [row] = runs(conn)
    assert (row["status"], row["note"].split(";")[0]) == ("failed", LOCK_LOST)
    assert row["reminders_created"] + row["escalations_created"] == first_batch
    assert row["unlock_ok"] is False


def test_a_new_winner_waits_for_the_old_runs_batch_in_flight_and_fences_it_out(
    conn: Connection, database_url: str, lock_conn: Connection
) -> None:
    old_work = connect(database_url, purpose="old-work")
    new_work = connect(database_url, purpose="new-work")
    try:
        old = PgFencing(old_work, JOB, LOCK_KEY)
        old_token = old.take(take_lock(lock_conn).backend_pid)
        with old.guard(old_token):  # the old run's batch is in flight...
            terminate(conn, lock_conn.info.backend_pid)  # ...when its lock session dies
            with open_lock_connection(database_url) as winner_conn:
                new = PgFencing(new_work, JOB, LOCK_KEY)
                taken: list[int] = []
                bump = threading.Thread(
                    target=lambda: taken.append(new.take(take_lock(winner_conn).backend_pid))
                )
                bump.start()
                wait_for(
                    lambda: conn.execute(
                        "SELECT 1 FROM pg_stat_activity"
                        " WHERE pid = %s AND wait_event_type = 'Lock'",
                        (new_work.info.backend_pid,),
                    ).fetchone()
                )
                assert taken == [], "the new winner waits for the old batch to commit"
                old_work.execute("SELECT 1")  # the old batch's statement, still allowed
            # leaving the guard commits the old batch
        bump.join(10)
        assert taken == [old_token + 1]
        with pytest.raises(LockLostError, match="fencing token"), old.guard(old_token):
            pytest.fail("the old run's next batch must not run")
    finally:
        old_work.close()
        new_work.close()


def test_a_fence_taken_after_the_lock_was_lost_is_refused(
    conn: Connection, database_url: str, lock_conn: Connection
) -> None:
    lock = take_lock(lock_conn)
    pid = lock.backend_pid
    terminate(conn, lock_conn.info.backend_pid)
    with pytest.raises(LockLostError, match="pg_locks"):
        PgFencing(conn, JOB, LOCK_KEY).take(pid)
    assert conn.execute("SELECT count(*) AS n FROM reminders.job_fences").fetchone() == {"n": 0}


def test_fences_are_for_service_role_only(conn: Connection) -> None:
    rows = conn.execute(
        "SELECT r.rolname,"
        " has_table_privilege(r.rolname, 'reminders.job_fences', 'SELECT') AS s,"
        " has_table_privilege(r.rolname, 'reminders.job_fences', 'UPDATE') AS u"
        " FROM pg_roles r WHERE r.rolname IN ('service_role', 'anon', 'authenticated')"
        " ORDER BY r.rolname"
    ).fetchall()
    assert [(r["rolname"], r["s"], r["u"]) for r in rows] == [
        ("anon", False, False),
        ("authenticated", False, False),
        ("service_role", True, True),
    ]


@contextlib.contextmanager
def webhook_drain(work: Connection, url: str) -> Iterator[DeliveryDrain]:
    """A drain of batches of 5 to the webhook at *url*, 40 days after NOW."""
    channel = WebhookChannel(url, WEBHOOK_SECRET.encode())
    drain = DeliveryDrain(
        work,
        {"webhook": channel},
        Renderer("https://app.example.org"),
        clock=lambda: NOW + timedelta(days=40),
        rng=random.Random(1),
        batch_size=5,
    )
    try:
        yield drain
    finally:
        drain.close()
        channel.close()


def test_the_delivery_drain_claims_nothing_once_the_lock_is_gone(
    conn: Connection, database_url: str, lock_conn: Connection
) -> None:
    seed(conn, assignments=30, today=NOW.date())
    ReminderPass(conn, channels=["webhook"]).run(now=NOW + timedelta(days=40))
    queued = conn.execute("SELECT count(*) AS n FROM reminders.reminder_deliveries").fetchone()
    assert queued is not None and queued["n"] > 0
    recorder = Recorder()
    with webhook_receiver(recorder) as url, connect(database_url, purpose="work") as work:
        fencing = PgFencing(work, JOB, LOCK_KEY)
        token = fencing.take(take_lock(lock_conn).backend_pid)
        terminate(conn, lock_conn.info.backend_pid)
        with webhook_drain(work, url) as drain, pytest.raises(LockLostError):
            drain.drain(guard=lambda: fencing.guard(token))
    assert recorder.accepted_total == 0
    rows = conn.execute(
        "SELECT status, attempts, count(*) AS n FROM reminders.reminder_deliveries"
        " GROUP BY status, attempts"
    ).fetchall()
    assert rows == [{"status": "pending", "attempts": 0, "n": queued["n"]}], "nothing claimed"


def test_a_drain_stopped_by_a_lost_lock_has_counted_what_it_delivered_before(
    conn: Connection, database_url: str
) -> None:
    seed(conn, assignments=30, today=NOW.date())
    ReminderPass(conn, channels=["webhook"]).run(now=NOW + timedelta(days=40))
    claims = 0

    @contextlib.contextmanager
    def guard() -> Iterator[None]:  # the lock is lost after the first claim
        nonlocal claims
        claims += 1
        if claims > 1:
            raise LockLostError("the job's lock is gone")
        yield

    counted = DrainResult()
    recorder = Recorder()
    with (
        webhook_receiver(recorder) as url,
        connect(database_url, purpose="work") as work,
        webhook_drain(work, url) as drain,
        pytest.raises(LockLostError),
    ):
        drain.drain(guard=guard, into=counted)
    # the run's outcome reports *counted*: the batch claimed before the loss, sent and recorded
    assert recorder.accepted_total == 5
    assert counted.to_dict() == {"delivered": 5, "retried": 0, "dead": 0, "cancelled": 0}
    sent = conn.execute(
        "SELECT count(*) AS n FROM reminders.reminder_deliveries WHERE status = 'sent'"
    ).fetchone()
    assert sent == {"n": 5}


def test_the_log_refuses_a_success_whose_release_found_the_lock_gone(conn: Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="success_held_its_lock"):
        insert_run(conn, "success", NOW, unlock_ok=False)
    insert_run(conn, "failed", NOW, unlock_ok=False, note="lock_lost")  # the truthful record
