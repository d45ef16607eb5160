"""The cron trigger: one invocation of the reminder job, single-flight under an advisory lock.

This is the one code path behind ``reminders run`` and
``POST /functions/v1/assignment-reminder-cron``::

    try the lock (REMINDERS_LOCK_SCOPE: session or transaction; never blocking)
    ├── not won: write a 'skipped' row (note 'advisory_lock_held', who holds it) and return
    └── won:     (the lock's heartbeat now confirms it every few seconds on the lock connection)
                 take the job's fencing token (fence.py): bumped only while pg_locks shows the
                 lock on our lock backend, before anything is written
                 mark rows left 'running' by dead holders 'failed', write our 'running' row
                 try:     run ReminderSchedulerService, then `deliver` (drain the delivery
                          queue); before each batch of either, lock.checkpoint() raises
                          LockLostError when the heartbeat found the lock gone, and each batch
                          (each delivery claim) runs in a transaction that proves the lock and
                          the token are still ours, else raises and writes nothing:
                          'failed', note 'lock_lost'
                 finally: finish the row in a fenced transaction ('success' only while the lock
                          is still ours), release the lock; a release that finds the lock gone
                          turns a 'success' into 'failed' / 'lock_lost' and is recorded
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from .clock import utc_now
from .config import Settings
from .database import connect, database_url, lock_database_url
from .exceptions import LockLostError
from .fence import Fencing, Guard, PgFencing
from .joblog import SKIP_LOCK_HELD, ExecutionLog, PgExecutionLog, RunCounts, RunStart
from .lock import (
    JobLock,
    LockHolder,
    LockTiming,
    open_job_lock,
    timed_try_acquire,
)
from .scheduler import ReminderScheduler, ReminderSchedulerService

logger = logging.getLogger(__name__)

LOCK_LOST = "lock_lost"
"""The note of a run that stopped because its lock stopped being ours."""


@dataclass(frozen=True)
class RunOutcome:
    """What one invocation did."""

    invocation_id: UUID
    status: str
    run_id: int
    note: str | None = None
    error: str | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    lock_acquire_ms: float = 0.0
    duration_ms: float = 0.0
    unlock_ok: bool | None = None
    holder: LockHolder | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("success", "skipped")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["invocation_id"] = str(self.invocation_id)
        if self.holder is not None:
            data["holder"]["backend_start"] = str(self.holder.backend_start)
        return data


class CronTrigger:
    """Runs the scheduler at most once at a time, whoever calls."""

    def __init__(
        self,
        *,
        lock: JobLock,
        log: ExecutionLog,
        scheduler: ReminderScheduler,
        job_name: str,
        trigger_source: str = "cli",
        clock: Callable[[], datetime] = utc_now,
        hold: Callable[[], None] | None = None,
        pause_between_batches: float = 0.0,
        deliver: Callable[[Callable[[], None], Guard], None] | None = None,
        fencing: Fencing | None = None,
    ) -> None:
        self.lock = lock
        self.log = log
        self.scheduler = scheduler
        self.job_name = job_name
        self.trigger_source = trigger_source
        self.clock = clock
        self.hold = hold
        self.pause_between_batches = pause_between_batches
        self._batches = 0
        self.deliver = deliver  # runs after the pass, while the lock is held
        self.fencing = fencing  # None: writes are not fenced (unit tests with fakes)
        self._token: int | None = None

    def _checkpoint(self) -> None:
        """Before each batch: is the lock still ours? (Drills: wait between batches, watching.)"""
        self.lock.checkpoint()
        if self.pause_between_batches > 0 and self._batches > 0:
            self.lock.pause(self.pause_between_batches)
        self._batches += 1

    def run(self, *, now: datetime | None = None) -> RunOutcome:
        """One invocation. *now* is the moment reminders are computed for (default: the clock)."""
        invocation_id = uuid4()
        started_at = self.clock()
        started = time.perf_counter()
        acquired, acquire_ms = timed_try_acquire(self.lock)
        start = RunStart(
            job_name=self.job_name,
            invocation_id=invocation_id,
            trigger_source=self.trigger_source,
            started_at=started_at,
            lock_key=self.lock.key,
            lock_acquire_ms=acquire_ms,
        )
        if not acquired:
            return self._skip(start, started)
        return self._run_locked(start, started, now or started_at)

    def _skip(self, start: RunStart, started: float) -> RunOutcome:
        holder, since = self.log.lock_holder(self.job_name, self.lock.key)
        duration_ms = (time.perf_counter() - started) * 1000
        run_id = self.log.record_skipped(
            start,
            finished_at=self.clock(),
            duration_ms=duration_ms,
            note=SKIP_LOCK_HELD,
            holder=holder,
            holder_since=since,
        )
        logger.info(
            "skipped: another run holds the lock (pid %s, %s)",
            holder.pid if holder else "?",
            holder.application_name if holder else "gone by now",
        )
        return RunOutcome(
            invocation_id=start.invocation_id,
            status="skipped",
            run_id=run_id,
            note=SKIP_LOCK_HELD,
            lock_acquire_ms=start.lock_acquire_ms,
            duration_ms=duration_ms,
            holder=holder,
        )

    def _guard(self) -> AbstractContextManager[object]:
        """Around each batch and delivery claim: the fenced transaction (:mod:`.fence`)."""
        if self.fencing is None or self._token is None:
            return contextlib.nullcontext()
        return self.fencing.guard(self._token)

    def _holds(self) -> AbstractContextManager[bool]:
        if self.fencing is None:
            return contextlib.nullcontext(True)
        if self._token is None:
            return contextlib.nullcontext(False)
        return self.fencing.holds(self._token)

    def _take_fence(self) -> None:
        if self.fencing is not None:
            self._token = self.fencing.take(self.lock.backend_pid)

    def _begin(self, start: RunStart) -> tuple[int, LockLostError | None]:
        """Take the fencing token (the first write), fail the rows of dead holders, write our
        'running' row. A lock lost before the token was taken is returned, not raised: the run
        still gets its row, finished as 'lock_lost'."""
        try:
            self._take_fence()
        except LockLostError as exc:
            lost: LockLostError | None = exc
        else:
            lost = None
            orphans = self.log.fail_orphaned_runs(
                self.job_name, start.invocation_id, start.started_at
            )
            if orphans:
                logger.warning(
                    "marked %d run(s) left 'running' by a dead process as failed", len(orphans)
                )
        return self.log.start_running(start, self.lock.backend_pid), lost

    def _work(self, run_id: int, now: datetime, lost: LockLostError | None) -> RunCounts:
        if lost is not None:
            raise lost
        counts = self.scheduler.run(
            now=now, run_id=run_id, checkpoint=self._checkpoint, guard=self._guard
        )
        if self.deliver is not None:
            self.deliver(self.lock.checkpoint, self._guard)
        if self.hold is not None:
            self.hold()
        return counts

    def _run_locked(self, start: RunStart, started: float, now: datetime) -> RunOutcome:
        status, note, error, counts = "failed", None, None, RunCounts()
        run_id: int | None = None
        unlock_ok: bool | None = None
        duration_ms = 0.0
        try:
            run_id, lost = self._begin(start)
            try:
                counts = self._work(run_id, now, lost)
                status = "success"
            except LockLostError as exc:
                error, note = f"{type(exc).__name__}: {exc}", LOCK_LOST
                counts = self.scheduler.counts  # what its committed batches created
                logger.error("stopping: %s", exc)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                counts = self.scheduler.counts
                logger.exception("the reminder run failed")
            except BaseException as exc:  # interrupted (SIGTERM, Ctrl-C): record it, then go on
                error, note = f"{type(exc).__name__}: {exc}", "interrupted"
                counts = self.scheduler.counts
                raise
            finally:
                duration_ms = (time.perf_counter() - started) * 1000
                status, note, error = self._finish(
                    run_id, status, note, error, counts=counts, duration_ms=duration_ms
                )
        finally:
            unlock_ok = self.lock.release()
            if not unlock_ok:
                logger.error(
                    "pg_advisory_unlock(%d) returned false: this run no longer held the lock",
                    self.lock.key,
                )
                if status == "success":  # never a success whose lock was not ours to the end
                    status, note = "failed", LOCK_LOST
                    error = "LockLostError: the lock was not held by this run at release"
            if run_id is not None:
                self.log.record_unlock(run_id, unlock_ok)
        return RunOutcome(
            invocation_id=start.invocation_id,
            status=status,
            run_id=run_id,
            note=note,
            error=error,
            counts=counts,
            lock_acquire_ms=start.lock_acquire_ms,
            duration_ms=duration_ms,
            unlock_ok=unlock_ok,
        )

    def _finish(
        self,
        run_id: int,
        status: str,
        note: str | None,
        error: str | None,
        *,
        counts: RunCounts,
        duration_ms: float,
    ) -> tuple[str, str | None, str | None]:
        """Finish the row in a fenced transaction: a run whose lock is gone by now is 'failed'
        (``lock_lost``), whatever it did. Returns the final status, note and error."""
        with self._holds() as held:
            if not held:
                logger.error("run %s: the lock was gone before the run finished", run_id)
                status = "failed"
                note = note or LOCK_LOST
                error = error or "LockLostError: the lock was gone before the run finished"
            finished = self.log.finish(
                run_id,
                status=status,
                finished_at=self.clock(),
                duration_ms=duration_ms,
                counts=counts,
                note=note,
                error=error,
            )
        if not finished:
            logger.error("run %s was marked failed by another run while it worked", run_id)
            if note != LOCK_LOST:
                note = "declared_dead_by_another_run"
            status = "failed"
            self.log.add_note(run_id, note)
        return status, note, error


def run_once(
    settings: Settings,
    *,
    now: datetime | None = None,
    trigger_source: str = "cli",
    hold_seconds: float = 0.0,
    pause_between_batches: float = 0.0,
    clock: Callable[[], datetime] = utc_now,
) -> RunOutcome:
    """Open the lock and work connections, run one invocation, close both."""
    from .delivery.runner import CronDelivery
    from .monitoring.retention import prune_after_run
    from .monitoring.watchdog import watch_for_overrun

    url = database_url(settings)
    lock_url = lock_database_url(settings, url)
    timing = LockTiming(settings.lock_heartbeat_seconds, settings.lock_idle_timeout_seconds)
    with (
        connect(lock_url, purpose="lock") as lock_conn,  # the lock assumes the role itself
        connect(url, purpose="work") as work_conn,
    ):
        lock = open_job_lock(
            lock_conn, lock_url, scope=settings.lock_scope, role=settings.lock_role, timing=timing
        )
        extra = CronDelivery(settings, work_conn, clock)
        trigger = CronTrigger(
            lock=lock,
            log=PgExecutionLog(work_conn),
            scheduler=ReminderSchedulerService(
                work_conn,
                batch_size=settings.batch_size,
                on_batch=extra.progress,
                channels=extra.channels,
            ),
            job_name=settings.job_name,
            trigger_source=trigger_source,
            clock=clock,
            hold=(lambda: lock.pause(hold_seconds)) if hold_seconds > 0 else None,
            pause_between_batches=pause_between_batches,
            deliver=extra.deliver,
            fencing=PgFencing(
                work_conn,
                settings.job_name,
                lock.key,
                idle_timeout_seconds=settings.lock_idle_timeout_seconds,
            ),
        )
        try:
            with watch_for_overrun(settings, clock):  # monitoring: alert while still running
                outcome = trigger.run(now=now)
        finally:
            extra.progress.close()
        prune_after_run(  # monitoring: execution log retention, its own small step
            work_conn,
            status=outcome.status,
            now=clock(),
            retention_days=settings.monitoring.retention_days,
        )
        return outcome
