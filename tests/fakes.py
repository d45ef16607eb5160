"""In-memory stand-ins for the trigger's lock, run log and pass: the one set every unit test uses.

``tests/unit/test_fakes.py`` checks each fake's methods against the real classes' signatures, so
a change to ``JobLock``, ``ExecutionLog`` or the pass shows up here, not as a fake that quietly
accepts calls the real one would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from assignment_reminders.exceptions import LockLostError
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.joblog import RunStart
from assignment_reminders.job.reminder_pass import Checkpoint
from assignment_reminders.job.run_status import RunStatus
from assignment_reminders.locking.holder import LockHolder

NOW = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
OTHER_HOLDER = LockHolder(4242, "assignment-reminders/lock other:1", None, None)


@dataclass
class FakeLock:
    """A :class:`~assignment_reminders.locking.job_lock.JobLock`: won when *answer*; the
    checkpoint raises :class:`LockLostError` from check number *lose_before_batch* on."""

    answer: bool = True
    release_answer: bool = True
    key: int = 42
    lose_before_batch: int | None = None
    pid: int = 777
    calls: list[str] = field(default_factory=list)
    checks: int = 0
    released: bool = False

    def try_acquire(self) -> bool:
        self.calls.append("try")
        return self.answer

    def checkpoint(self) -> None:
        self.checks += 1
        if self.lose_before_batch is not None and self.checks >= self.lose_before_batch:
            raise LockLostError("the advisory lock was lost: terminated")

    def pause(self, seconds: float) -> None:
        self.checkpoint()

    def release(self) -> bool:
        self.calls.append("release")
        self.released = True
        return self.release_answer

    @property
    def backend_pid(self) -> int | None:
        return self.pid if self.answer else None


@dataclass
class FakeLog:
    """An :class:`~assignment_reminders.job.joblog.ExecutionLog` in memory: its rows, the order
    of its writes (*events*), the last ``finish`` call's arguments (*finished*)."""

    declared_dead: bool = False  # another run marked ours failed: ``finish`` finds no row
    row_deleted: bool = False  # our row was deleted: neither ``finish`` nor ``add_note`` finds it
    holder: LockHolder | None = OTHER_HOLDER
    rows: dict[int, dict[str, Any]] = field(default_factory=dict)
    orphans: list[int] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    finished: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def lock_holder(self, job_name: str, lock_key: int) -> tuple[LockHolder | None, Any]:
        return self.holder, NOW

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
        self.rows[run_id] = {"status": RunStatus.SKIPPED, "note": note, "holder": holder}
        return run_id

    def fail_orphaned_runs(self, job_name: str, run_id: int, now: datetime) -> list[int]:
        self.events.append("sweep")
        return self.orphans

    def start_running(self, start: RunStart, lock_backend_pid: int | None) -> int:
        self.events.append("running")
        run_id = len(self.rows) + 1
        self.rows[run_id] = {"status": RunStatus.RUNNING, "pid": lock_backend_pid}
        return run_id

    def finish(
        self,
        run_id: int,
        *,
        status: RunStatus,
        finished_at: datetime,
        duration_ms: float,
        counts: RunCounts,
        note: str | None,
        error: str | None,
    ) -> bool:
        self.events.append(f"finish:{status}")
        self.finished = {
            "status": status,
            "finished_at": finished_at,
            "duration_ms": duration_ms,
            "counts": counts,
            "note": note,
            "error": error,
        }
        self.rows.setdefault(run_id, {}).update(status=status, error=error, counts=counts)
        return not (self.declared_dead or self.row_deleted)

    def record_unlock(self, run_id: int, unlock_ok: bool) -> None:
        self.events.append(f"unlock:{unlock_ok}")
        self.rows.setdefault(run_id, {})["unlock_ok"] = unlock_ok

    def add_note(self, run_id: int, note: str) -> bool:
        self.events.append(f"note:{note}")
        if self.row_deleted:
            return False
        self.notes.append(note)
        return True

    def record_overlaps(self, run_id: int, job_name: str, token: int) -> list[int]:
        return []

    def ledger_counts(self, run_id: int) -> tuple[int, int] | None:
        return None  # the pass's own tally stands


@dataclass
class FakePass:
    """The pass: 10 due rows read and 3 reminders created, or *error* raised."""

    error: BaseException | None = None
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
