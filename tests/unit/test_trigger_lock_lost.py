"""CronTrigger when the lock stops being ours mid-run (fakes; no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from assignment_reminders.exceptions import DatabaseError
from assignment_reminders.job.advice import ADVICE, DATABASE_DOWN, SESSION_ENDED, cause_of
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.reminder_pass import Checkpoint
from assignment_reminders.job.trigger import LOCK_LOST, CronTrigger
from tests.fakes import FakeLock, FakeLog

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def losing(lose_before_batch: int) -> FakeLock:
    """A lock that is lost at check number *lose_before_batch*; releasing it then says so."""
    return FakeLock(lose_before_batch=lose_before_batch, release_answer=False, pid=7)


class BatchPass:
    """Three batches of one reminder each, asking the checkpoint before each."""

    def __init__(self) -> None:
        self.batches = 0
        self.counts = RunCounts()

    def run(
        self,
        *,
        now: datetime,
        run_id: int | None = None,
        checkpoint: Checkpoint = lambda: None,
        guard: object = None,
    ) -> RunCounts:
        for _ in range(3):
            checkpoint()
            self.batches += 1
            self.counts = RunCounts(reminders_created=self.batches)
        return self.counts


def trigger(lock: FakeLock, log: FakeLog, the_pass: BatchPass) -> CronTrigger:
    return CronTrigger(
        lock=lock, log=log, reminder_pass=the_pass, job_name="job", clock=lambda: NOW
    )


def test_a_lost_lock_stops_the_run_at_the_next_batch_as_failed_lock_lost() -> None:
    lock, log, the_pass = losing(lose_before_batch=2), FakeLog(), BatchPass()
    outcome = trigger(lock, log, the_pass).run(now=NOW)
    assert the_pass.batches == 1
    assert (outcome.status, outcome.note) == ("failed", LOCK_LOST)
    assert (log.finished["status"], log.finished["note"]) == ("failed", LOCK_LOST)
    assert log.finished["counts"].reminders_created == 1  # the batch it committed is counted
    assert "LockLostError" in (outcome.error or "")
    assert lock.released


def test_a_run_declared_dead_meanwhile_keeps_lock_lost_and_notes_it_on_the_row() -> None:
    lock, log = losing(lose_before_batch=2), FakeLog(declared_dead=True)
    outcome = trigger(lock, log, BatchPass()).run(now=NOW)
    assert (outcome.status, outcome.note) == ("failed", LOCK_LOST)
    assert log.notes == [LOCK_LOST]


def test_pause_between_batches_watches_the_lock() -> None:
    lock, log, the_pass = losing(lose_before_batch=3), FakeLog(), BatchPass()
    t = trigger(lock, log, the_pass)
    t.pause_between_batches = 5
    outcome = t.run(now=NOW)
    # batch 1 ran; before batch 2: checkpoint (2), then the pause's own check (3) found it lost
    assert the_pass.batches == 1
    assert outcome.note == LOCK_LOST


def test_delivery_after_the_pass_stops_sending_when_the_lock_is_lost() -> None:
    # the pass's 3 batches check the lock 3 times; the drain's second batch finds it gone
    lock, log = losing(lose_before_batch=5), FakeLog()
    sent: list[int] = []

    def deliver(checkpoint: Checkpoint, guard: object) -> None:
        for batch in range(10):
            checkpoint()
            sent.append(batch)

    t = CronTrigger(
        lock=lock,
        log=log,
        reminder_pass=BatchPass(),
        job_name="job",
        clock=lambda: NOW,
        after_pass=[deliver],
    )
    outcome = t.run(now=NOW)
    assert sent == [0]
    assert (outcome.status, outcome.note) == ("failed", LOCK_LOST)


class BrokenLog(FakeLog):
    """The work connection died: finishing the row raises a driver error."""

    def finish(self, run_id: int, **kwargs: Any) -> bool:
        raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")


def run_on_broken_log(fallback: FakeLog | None, *, lose_before_batch: int) -> str:
    t = CronTrigger(
        lock=losing(lose_before_batch=lose_before_batch),
        log=BrokenLog(),
        reminder_pass=BatchPass(),
        job_name="job",
        clock=lambda: NOW,
        fallback_log=(lambda: fallback) if fallback is not None else None,
    )
    with pytest.raises(DatabaseError) as raised:
        t.run(now=NOW)
    return raised.value.message


def test_a_lost_lock_is_not_advised_as_a_database_that_is_down() -> None:
    message = run_on_broken_log(FakeLog(), lose_before_batch=2)
    assert "Check that PostgreSQL is running" not in message
    assert "lost its lock" in message and "REMINDERS_LOCK_IDLE_TIMEOUT_SECONDS" in message
    assert message.endswith("committed batches stay and no reminder is created twice")


def test_a_session_ended_while_a_fresh_connection_records_the_run_says_the_database_is_up() -> None:
    message = run_on_broken_log(FakeLog(), lose_before_batch=99)
    assert "it is recorded as failed" in message
    assert "Check that PostgreSQL is running" not in message
    assert ADVICE[SESSION_ENDED] in message


def test_no_connection_at_all_advises_checking_postgresql() -> None:
    message = run_on_broken_log(None, lose_before_batch=99)
    assert "the next run will record it as failed" in message
    assert ADVICE[DATABASE_DOWN] in message
    assert ADVICE[DATABASE_DOWN].startswith("Check that PostgreSQL is running")


def test_the_advice_table_has_one_entry_per_cause_and_knows_the_lock_lost_note() -> None:
    assert set(ADVICE) == {LOCK_LOST, SESSION_ENDED, DATABASE_DOWN}
    assert cause_of(f"{LOCK_LOST}; holder_died: ...", recorded=True) == LOCK_LOST


def test_a_lost_lock_and_no_connection_after_it_is_advised_as_a_database_down() -> None:
    # a database shut down mid-run ends the lock session first: the lock is lost, but nothing
    # says the database is up, so the advice is to check it (drilled: `reminders embedded stop`
    # during `reminders run --hold-seconds 20`)
    message = run_on_broken_log(None, lose_before_batch=2)
    assert "lost its lock" in message
    assert "stayed up" not in message
    assert ADVICE[DATABASE_DOWN] in message
    assert cause_of(LOCK_LOST, recorded=False) == DATABASE_DOWN
