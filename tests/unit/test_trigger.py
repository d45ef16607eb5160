"""The cron trigger's decisions, with an in-memory lock, log and scheduler."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from assignment_reminders.joblog import SKIP_LOCK_HELD, RunCounts, RunStart
from assignment_reminders.lock import LockHolder
from assignment_reminders.scheduler import Checkpoint
from assignment_reminders.trigger import CronTrigger

NOW = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)


@dataclass
class FakeLock:
    answer: bool
    release_answer: bool = True
    key: int = 42
    calls: list[str] = field(default_factory=list)

    def try_acquire(self) -> bool:
        self.calls.append("try")
        return self.answer

    def checkpoint(self) -> None:
        return None

    def pause(self, seconds: float) -> None:
        return None

    def release(self) -> bool:
        self.calls.append("release")
        return self.release_answer

    @property
    def backend_pid(self) -> int | None:
        return 777 if self.answer else None


@dataclass
class FakeLog:
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    orphans: list[int] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def lock_holder(self, job_name: str, lock_key: int) -> tuple[LockHolder | None, Any]:
        return LockHolder(4242, "assignment-reminders/lock other:1", None, None), NOW

    def record_skipped(
        self,
        start: RunStart,
        *,
        finished_at: datetime,
        duration_ms: float,
        note: str,
        holder: LockHolder | None,
        holder_since: Any,
    ) -> int:
        self.events.append("skipped")
        run_id = len(self.rows) + 1
        self.rows[run_id] = {"status": "skipped", "note": note, "holder": holder}
        return run_id

    def fail_orphaned_runs(self, job_name: str, run_id: int, now: datetime) -> list[int]:
        self.events.append("sweep")
        return self.orphans

    def start_running(self, start: RunStart, lock_backend_pid: int | None) -> int:
        self.events.append("running")
        run_id = len(self.rows) + 1
        self.rows[run_id] = {"status": "running", "pid": lock_backend_pid}
        return run_id

    def finish(
        self,
        run_id: int,
        *,
        status: str,
        finished_at: datetime,
        duration_ms: float,
        counts: RunCounts,
        note: str | None,
        error: str | None,
    ) -> bool:
        self.events.append(f"finish:{status}")
        self.rows[run_id].update(status=status, error=error, counts=counts)
        return True

    def record_unlock(self, run_id: int, unlock_ok: bool) -> None:
        self.events.append(f"unlock:{unlock_ok}")
        self.rows[run_id]["unlock_ok"] = unlock_ok

    def add_note(self, run_id: int, note: str) -> None:
        self.events.append(f"note:{note}")

    def record_overlaps(self, run_id: int, job_name: str, token: int) -> list[int]:
        return []

    def ledger_counts(self, run_id: int) -> tuple[int, int] | None:
        return None  # the pass's own tally stands


@dataclass
class FakeScheduler:
    error: Exception | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    calls: int = 0
    nows: list[datetime] = field(default_factory=list)

    def run(
        self,
        *,
        now: datetime,
        run_id: int | None = None,
        checkpoint: Checkpoint | None = None,
        guard: object = None,
    ) -> RunCounts:
        self.calls += 1
        self.nows.append(now)
        if self.error is not None:
            raise self.error
        return RunCounts(due_rows_read=10, reminders_created=3)


def make(lock: FakeLock, scheduler: FakeScheduler, log: FakeLog) -> CronTrigger:
    return CronTrigger(lock=lock, log=log, scheduler=scheduler, job_name="job", clock=lambda: NOW)


def test_lock_not_won_never_calls_the_scheduler_and_writes_a_skipped_row() -> None:
    lock, scheduler, log = FakeLock(answer=False), FakeScheduler(), FakeLog()
    outcome = make(lock, scheduler, log).run()
    assert scheduler.calls == 0
    assert outcome.status == "skipped" and outcome.ok
    assert log.events == ["skipped"]
    assert log.rows[outcome.run_id]["note"] == SKIP_LOCK_HELD == "advisory_lock_held"
    assert log.rows[outcome.run_id]["holder"].pid == 4242
    assert lock.calls == ["try"], "a lock we did not win is not released"


def test_lock_won_runs_the_scheduler_once_and_releases_after_finishing_the_row() -> None:
    lock, scheduler, log = FakeLock(answer=True), FakeScheduler(), FakeLog()
    outcome = make(lock, scheduler, log).run()
    assert scheduler.calls == 1
    assert outcome.status == "success"
    assert outcome.counts.reminders_created == 3
    assert log.events == ["running", "sweep", "finish:success", "unlock:True"]  # sweep: not us
    assert lock.calls == ["try", "release"]
    assert log.rows[outcome.run_id]["pid"] == 777


def test_scheduler_raising_still_releases_the_lock_and_fails_the_row() -> None:
    lock = FakeLock(answer=True)
    scheduler, log = FakeScheduler(error=RuntimeError("boom")), FakeLog()
    outcome = make(lock, scheduler, log).run()
    assert outcome.status == "failed" and not outcome.ok
    assert outcome.error == "RuntimeError: boom"
    assert lock.calls == ["try", "release"]
    assert log.events[-2:] == ["finish:failed", "unlock:True"]


def test_interrupt_during_the_run_releases_the_lock_and_propagates() -> None:
    lock = FakeLock(answer=True)
    scheduler, log = FakeScheduler(error=KeyboardInterrupt()), FakeLog()  # type: ignore[arg-type]
    with pytest.raises(KeyboardInterrupt):
        make(lock, scheduler, log).run()
    assert lock.calls == ["try", "release"]
    assert "finish:failed" in log.events


def test_unlock_answering_false_is_recorded_on_the_row() -> None:
    lock, scheduler, log = FakeLock(answer=True, release_answer=False), FakeScheduler(), FakeLog()
    outcome = make(lock, scheduler, log).run()
    assert outcome.unlock_ok is False
    assert log.rows[outcome.run_id]["unlock_ok"] is False


def test_now_defaults_to_the_clock_and_can_be_passed_in() -> None:
    lock, scheduler, log = FakeLock(answer=True), FakeScheduler(), FakeLog()
    trigger = make(lock, scheduler, log)
    trigger.run()
    later = datetime(2027, 1, 1, tzinfo=UTC)
    trigger.run(now=later)
    assert scheduler.nows == [NOW, later]
