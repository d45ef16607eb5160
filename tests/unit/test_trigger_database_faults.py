"""CronTrigger when the database fails under the run (fakes): the row is finished 'failed' on a
fresh connection when one can be had, and the caller gets one DatabaseError."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
import pytest

from assignment_reminders.exceptions import DatabaseError, DatabaseUnavailableError
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.reminder_pass import Checkpoint
from assignment_reminders.job.trigger import DATABASE_FAULT, CronTrigger
from tests.fakes import FakeLock, FakeLog
from tests.unit.test_trigger_lock_lost import NOW


class DeadLog(FakeLog):
    """The work connection's log after the connection died."""

    def finish(self, run_id: int, **kwargs: Any) -> bool:
        raise psycopg.OperationalError("the connection is closed")

    def record_unlock(self, run_id: int, unlock_ok: bool) -> None:
        raise psycopg.OperationalError("the connection is closed")


class FreshLog(FakeLog):
    def __init__(self) -> None:
        super().__init__()
        self.unlocks: list[bool] = []

    def record_unlock(self, run_id: int, unlock_ok: bool) -> None:
        self.unlocks.append(unlock_ok)


class DyingPass:
    counts = RunCounts(reminders_created=4)

    def run(
        self,
        *,
        now: datetime,
        run_id: int | None = None,
        checkpoint: Checkpoint = lambda: None,
        guard: object = None,
    ) -> RunCounts:
        raise psycopg.errors.AdminShutdown("terminating connection due to administrator command")


class HoldingLock(FakeLock):
    def __init__(self) -> None:
        super().__init__(lose_before_batch=99)

    def release(self) -> bool:
        self.released = True
        return True


def make(fallback: Any) -> CronTrigger:
    return CronTrigger(
        lock=HoldingLock(),
        log=DeadLog(),
        reminder_pass=DyingPass(),
        job_name="job",
        clock=lambda: NOW,
        fallback_log=fallback,
    )


def test_the_row_is_finished_failed_on_a_fresh_connection_and_one_error_is_raised() -> None:
    fresh = FreshLog()
    with pytest.raises(DatabaseError) as raised:
        make(lambda: fresh).run(now=NOW)
    assert (fresh.finished["status"], fresh.finished["note"]) == ("failed", DATABASE_FAULT)
    assert fresh.finished["counts"].reminders_created == 4  # its committed batches
    assert fresh.unlocks == [True]
    message = raised.value.message
    assert "stopped because the database failed (terminating connection" in message
    assert "it is recorded as failed" in message
    assert isinstance(raised.value.__cause__, psycopg.errors.AdminShutdown)


def test_without_a_fresh_connection_the_next_run_is_named_as_the_one_to_record_it() -> None:
    def unreachable() -> FakeLog:
        raise DatabaseUnavailableError("cannot connect to postgresql://db:5432/app: refused")

    with pytest.raises(DatabaseError, match="the next run will record it as failed"):
        make(unreachable).run(now=NOW)
