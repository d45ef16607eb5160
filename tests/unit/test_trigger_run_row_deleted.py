"""CronTrigger when its run's row is deleted from the log while it works (fakes; no database):
one error line, the outcome says so, no traceback and no note written to another run's row."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

import psycopg
import pytest

from assignment_reminders.exceptions import DatabaseError, RunRowDeletedError
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.trigger import LOCK_LOST, RUN_ROW_DELETED, CronTrigger, Step
from tests.fakes import FakeLock, FakeLog, FakePass

NOW = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def trigger(
    the_pass: FakePass, log: FakeLog, lock: FakeLock | None = None, after: Sequence[Step] = ()
) -> CronTrigger:
    return CronTrigger(
        lock=lock or FakeLock(),
        log=log,
        reminder_pass=the_pass,
        job_name="j",
        clock=lambda: NOW,
        after_pass=after,
    )


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_pass_that_finds_its_row_deleted_fails_with_one_line_and_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # its first batches committed 3 reminders, then the next found the run's row gone
    the_pass = FakePass(error=RunRowDeletedError(1), counts=RunCounts(reminders_created=3))
    log = FakeLog(row_deleted=True)
    outcome = trigger(the_pass, log).run(now=NOW)
    assert (outcome.status, outcome.note) == ("failed", RUN_ROW_DELETED)
    assert (outcome.error or "").startswith("RunRowDeletedError: run 1's row in cron_execution")
    assert "\n" not in (outcome.error or "")
    assert outcome.counts.reminders_created == 3  # what its committed batches created
    [line] = errors(caplog)
    assert line.exc_info is None and "was deleted while the run was going" in line.getMessage()
    assert log.notes == []  # nothing claims another run declared it dead


def test_a_row_deleted_after_the_pass_turns_the_success_into_a_failure_that_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outcome = trigger(FakePass(), FakeLog(row_deleted=True)).run(now=NOW)
    assert (outcome.status, outcome.note) == ("failed", RUN_ROW_DELETED)
    assert "RunRowDeletedError" in (outcome.error or "")
    assert [r.getMessage() for r in errors(caplog)] == [str(RunRowDeletedError(1))]


def test_a_lost_lock_keeps_its_note_first_when_the_row_is_gone_too() -> None:
    lock = FakeLock(lose_before_batch=1, release_answer=False, pid=7)
    outcome = trigger(
        FakePass(),
        FakeLog(row_deleted=True),
        lock,
        after=[lambda checkpoint, guard: checkpoint()],
    ).run(now=NOW)
    assert outcome.note == f"{LOCK_LOST}; {RUN_ROW_DELETED}"
    assert (outcome.error or "").startswith("LockLostError")


class NoteFailsLog(FakeLog):
    """Another run marked ours failed, and the database goes away before the note is added."""

    def add_note(self, run_id: int, note: str) -> bool:
        raise psycopg.OperationalError("the connection is closed")


def test_a_database_fault_while_noting_the_runs_end_is_one_error_not_a_traceback() -> None:
    lock = FakeLock()
    with pytest.raises(DatabaseError) as failed:
        trigger(FakePass(), NoteFailsLog(declared_dead=True), lock).run(now=NOW)
    assert "\n" not in str(failed.value)
    assert "the connection is closed" in str(failed.value)
    assert lock.released
