"""A batch that PostgreSQL aborts for a conflict with a concurrent writer is run again whole; any
other error, or the same conflict past the last attempt, is the caller's (the pass's own
statements retry, the host's are never touched)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

import psycopg
import pytest

from assignment_reminders.db.database import Connection
from assignment_reminders.db.gateway import translate
from assignment_reminders.exceptions import (
    ConstraintViolationError,
    DatabaseError,
    RunRowDeletedError,
)
from assignment_reminders.job import reminder_pass
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.reminder_pass import RUN_ROW_KEY

NOW = datetime(2026, 12, 6, 6, tzinfo=UTC)
NO_CONNECTION = cast(Connection, object())  # the gateway is replaced: nothing reaches it


def driver_error(sqlstate: str) -> DatabaseError:
    """Our wrapper of a driver error with *sqlstate*, as the gateway raises it; ``run_row``:
    the ledger's run reference refusing (23503 under the run key's name)."""
    if sqlstate == "run_row":
        cause: psycopg.Error = psycopg.errors.ForeignKeyViolation("run row gone")
        error: DatabaseError = ConstraintViolationError("refused", constraint=RUN_ROW_KEY)
    else:
        cause = psycopg.errors.lookup(sqlstate)("conflict")
        error = translate(cause, "query schedule_batch")
    error.__cause__ = cause
    return error


class Script:
    """Stands in for the gateway: the batch statement fails with the given SQLSTATEs in turn,
    then one empty batch succeeds."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = list(failures)
        self.batches = 0

    def fetch_one(
        self, conn: object, query: Any, params: object = None, *, row: Callable[..., Any]
    ) -> Any:
        if query.name == "schedule_batch":
            self.batches += 1
            if self.failures:
                raise driver_error(self.failures.pop(0))
            return row(
                due_rows_read=0, due=0, reminders=0, escalations=0, notifications=0, deliveries=0,
                staged=0, last_due_on=None, last_assignment_id=None,
            )  # fmt: skip
        return row(
            reminders_taken_back=0, escalations_taken_back=0, deliveries_taken_back=0,
            not_held=0, first_skipped_due=None, first_skipped_id=None, unindexed=0,
        )  # fmt: skip

    def execute(self, conn: object, query: object, params: object = None) -> int:
        return 0


@contextlib.contextmanager
def no_transaction(conn: object, what: str = "") -> Iterator[None]:
    yield


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> Script:
    def install(failures: list[str]) -> Script:
        s = Script(failures)
        monkeypatch.setattr(reminder_pass, "fetch_one", s.fetch_one)
        monkeypatch.setattr(reminder_pass, "execute", s.execute)
        monkeypatch.setattr(reminder_pass, "transaction", no_transaction)
        return s

    return install  # type: ignore[return-value]


@pytest.mark.parametrize("sqlstate", ["40P01", "40001", "23503"])
def test_a_batch_aborted_by_a_conflict_is_run_again(script: Any, sqlstate: str) -> None:
    s = script([sqlstate, sqlstate])
    counts = reminder_pass.ReminderPass(NO_CONNECTION).run(now=NOW)
    assert s.batches == 3
    assert counts == RunCounts()


def test_a_conflict_past_the_last_attempt_is_raised(script: Any) -> None:
    s = script(["40P01"] * reminder_pass.BATCH_ATTEMPTS)
    with pytest.raises(DatabaseError):
        reminder_pass.ReminderPass(NO_CONNECTION).run(now=NOW)
    assert s.batches == reminder_pass.BATCH_ATTEMPTS


def test_any_other_error_is_not_retried(script: Any) -> None:
    s = script(["42P01"])  # undefined_table: a broken schema, not a race
    with pytest.raises(DatabaseError):
        reminder_pass.ReminderPass(NO_CONNECTION).run(now=NOW)
    assert s.batches == 1


def test_the_runs_own_row_deleted_is_not_retried_and_says_so(script: Any) -> None:
    s = script(["run_row"])  # 23503 as an assignment deleted mid-batch is, but no retry can help
    with pytest.raises(RunRowDeletedError, match="run 9's row in cron_execution_logs was deleted"):
        reminder_pass.ReminderPass(NO_CONNECTION).run(now=NOW, run_id=9)
    assert s.batches == 1
