"""The cron trigger: one invocation of the reminder job, single-flight under an advisory lock.

This is the one code path behind ``reminders run`` and
``POST /functions/v1/assignment-reminder-cron``; ``job.py`` wires it (connections, lock, log,
scheduler, the steps after the pass) and :class:`CronTrigger` runs it::

    try the lock (REMINDERS_LOCK_SCOPE: session or transaction; never blocking)
    ├── not won: write a 'skipped' row (note 'advisory_lock_held', who holds it) and return
    └── won:     (the lock's heartbeat now confirms it every few seconds on the lock connection)
                 take the job's fencing token (fence.py): bumped only while pg_locks shows the
                 lock on our lock backend, before anything is written
                 mark rows left 'running' by dead holders 'failed', write our 'running' row,
                 record on both rows any run whose batch committed after our fencing bump began
                 try:     run ReminderPass, then the steps `after_pass` (drain
                          the delivery queue); before each batch of either, lock.checkpoint() raises
                          LockLostError when the heartbeat found the lock gone, and each batch
                          (each delivery claim) runs in a transaction that proves the lock and
                          the token are still ours, else raises and writes nothing:
                          'failed', note 'lock_lost'
                 finally: finish the row in a fenced transaction ('success' only while the lock
                          is still ours), release the lock; a release that finds the lock gone
                          turns a 'success' into 'failed' / 'lock_lost' and is recorded;
                          the outcome's reminders and escalations are read back from the row,
                          which the ledger's triggers keep (what committed with our run id)
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import psycopg

from . import advice as advice_table
from .advice import advice, cause_of
from .clock import utc_now
from .database import DATABASE_FAULTS
from .exceptions import DatabaseError, LockLostError, first_line
from .fence import Fencing, Guard
from .figures import rounded
from .joblog import SKIP_LOCK_HELD, ExecutionLog, RunCounts, RunStart
from .lock import JobLock, LockHolder, timed_try_acquire
from .logs import bind, log_context
from .scheduler import Checkpoint, ReminderScheduler

logger = logging.getLogger(__name__)

LOCK_LOST = "lock_lost"
"""The note of a run that stopped because its lock stopped being ours (advice.py: its advice)."""

DATABASE_FAULT = "database_fault"
"""The note of a run that stopped because the database failed under it (connection lost)."""


def driver_line(exc: BaseException) -> str:
    """The first line of what the driver said, under the gateway's wrapping (the run's row
    and its one error line say what PostgreSQL said, not our paraphrase of it)."""
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else None
    return first_line(cause if isinstance(cause, psycopg.Error) else exc)


def describe(exc: BaseException) -> str:
    """``Kind: message`` for the run's row: a wrapped driver error by the driver's kind."""
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else None
    shown = cause if isinstance(cause, psycopg.Error) else exc
    return f"{type(shown).__name__}: {shown}"


Step = Callable[[Checkpoint, Guard], None]
"""What follows the reminder pass while the lock is held (the delivery drain; a drill's hold).
*checkpoint* raises when the lock is gone; *guard* opens a fenced transaction (:mod:`.fence`)."""


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
        """JSON-ready, figures rounded (``lock_acquire_ms`` 13.24, not 13.240977999998904)."""
        data = asdict(self)
        data["invocation_id"] = str(self.invocation_id)
        if self.holder is not None:
            data["holder"]["backend_start"] = str(self.holder.backend_start)
        rounded_data: dict[str, Any] = rounded(data)
        return rounded_data


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
        pause_between_batches: float = 0.0,
        after_pass: Sequence[Step] = (),
        fencing: Fencing | None = None,
        fallback_log: Callable[[], ExecutionLog] | None = None,
        on_locked: Callable[[UUID], object] | None = None,
    ) -> None:
        self.lock = lock
        self.log = log
        self.scheduler = scheduler
        self.job_name = job_name
        self.trigger_source = trigger_source
        self.clock = clock
        self.pause_between_batches = pause_between_batches
        self._batches = 0
        self.after_pass = list(after_pass)  # delivery, a drill's hold: in order, lock held
        self.fencing = fencing  # None: writes are not fenced (unit tests with fakes)
        self._token: int | None = None
        # where the run's end is recorded when the work connection died under it
        self.fallback_log = fallback_log
        self._fault: Exception | None = None
        self._recorded_by: ExecutionLog | None = None
        self._row_status: str | None = None  # what the run's row says, once finished
        self.on_locked = on_locked  # told the invocation id once the lock is ours (pings)

    def _checkpoint(self) -> None:
        """Before each batch: is the lock still ours? (Drills: wait between batches, watching.)"""
        self.lock.checkpoint()
        if self.pause_between_batches > 0 and self._batches > 0:
            self.lock.pause(self.pause_between_batches)
        self._batches += 1

    def run(self, *, now: datetime | None = None) -> RunOutcome:
        """One invocation. *now* is the moment reminders are computed for (default: the clock)."""
        invocation_id = uuid4()
        with log_context(invocation_id=str(invocation_id)):  # on every line of this invocation
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
            if self.on_locked is not None:
                self.on_locked(invocation_id)
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
        bind(run_id=run_id)
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
        """Take the fencing token (the first write), write our 'running' row. A lock lost
        before the token was taken is returned, not raised: the run still gets its row,
        finished as 'lock_lost'. Nothing may come between the row and the caller's try block
        (an interruption there would leave the row 'running')."""
        try:
            self._take_fence()
        except LockLostError as exc:
            lost: LockLostError | None = exc
        else:
            lost = None
        return self.log.start_running(start, self.lock.backend_pid), lost

    def _fail_orphans(self, run_id: int, started_at: datetime) -> None:
        """Rows of dead holders still 'running' (their lock is gone, it is ours): 'failed',
        ``holder_died``, naming this run by its number. Inside the run's try block."""
        orphans = self.log.fail_orphaned_runs(self.job_name, run_id, started_at)
        if orphans:
            logger.warning(
                "marked run(s) %s, left 'running' by a dead process, as failed",
                ", ".join(map(str, orphans)),
            )

    def _record_overlaps(self, run_id: int) -> None:
        """Runs whose batch committed after this run began to write: recorded on both rows.
        Inside the run's try block, so that an interruption here still finishes its row."""
        if self._token is None:
            return
        overlapped = self.log.record_overlaps(run_id, self.job_name, self._token)
        if overlapped:
            logger.warning(
                "run(s) %s committed ledger rows after this run began to write (their batch"
                " was in flight when they lost the lock): recorded on both rows",
                ", ".join(map(str, overlapped)),
            )

    def _work(
        self, run_id: int, start: RunStart, now: datetime, lost: LockLostError | None
    ) -> RunCounts:
        if lost is not None:
            raise lost
        self._fail_orphans(run_id, start.started_at)
        self._record_overlaps(run_id)
        counts = self.scheduler.run(
            now=now, run_id=run_id, checkpoint=self._checkpoint, guard=self._guard
        )
        for step in self.after_pass:
            step(self.lock.checkpoint, self._guard)
        return counts

    def _run_locked(self, start: RunStart, started: float, now: datetime) -> RunOutcome:
        self._fault, self._recorded_by, self._row_status = None, self.log, None
        status, note, error, counts = "failed", None, None, RunCounts()
        run_id: int | None = None
        unlock_ok: bool | None = None
        duration_ms = 0.0
        try:
            run_id, lost = self._begin(start)
            bind(run_id=run_id)
            try:
                counts = self._work(run_id, start, now, lost)
                status = "success"
            except LockLostError as exc:
                error, note = f"{type(exc).__name__}: {exc}", LOCK_LOST
                counts = self.scheduler.counts  # what its committed batches created
                logger.error("stopping: %s", exc)
            except DATABASE_FAULTS as exc:  # the database failed under us: no traceback
                error, note = f"DatabaseError: {driver_line(exc)}", DATABASE_FAULT
                counts = self.scheduler.counts
                self._fault = exc
                logger.error("stopping: the database failed: %s", driver_line(exc))
            except Exception as exc:
                error = describe(exc)
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
                self._record_unlock(run_id, unlock_ok)
        if self._fault is not None:
            raise self._database_failed(run_id, note)
        if run_id is not None:
            counts = self._committed(run_id, counts)
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
        (``lock_lost``), whatever it did. When the work connection is gone, the row is finished
        'failed' on a fresh connection (:meth:`_finish_elsewhere`). Returns the final status,
        note and error."""
        finished_at = self.clock()
        try:
            with self._holds() as held:
                if not held:
                    logger.error("run %s: the lock was gone before the run finished", run_id)
                    status = "failed"
                    note = note or LOCK_LOST
                    error = error or "LockLostError: the lock was gone before the run finished"
                finished = self.log.finish(
                    run_id,
                    status=status,
                    note=note,
                    error=error,
                    finished_at=finished_at,
                    duration_ms=duration_ms,
                    counts=counts,
                )
        except DATABASE_FAULTS as exc:
            self._fault = self._fault or exc
            status, note = "failed", note or DATABASE_FAULT
            error = error or f"DatabaseError: {driver_line(exc)}"
            self._finish_elsewhere(
                run_id,
                note=note,
                error=error,
                finished_at=finished_at,
                duration_ms=duration_ms,
                counts=counts,
            )
            return status, note, error
        self._row_status = status if finished else "failed"
        if not finished:
            logger.error("run %s was marked failed by another run while it worked", run_id)
            if note != LOCK_LOST:
                note = "declared_dead_by_another_run"
            status = "failed"
            self.log.add_note(run_id, note)
        return status, note, error

    def _committed(self, run_id: int, counts: RunCounts) -> RunCounts:
        """The reminders and escalations that committed with this run's id, as its row counts
        them (the database keeps them: a batch in flight when the lock was lost, rows a batch
        took back before committing); the pass's own tally if the row cannot be read."""
        log = self._recorded_by
        try:
            ledger = log.ledger_counts(run_id) if log is not None else None
        except DATABASE_FAULTS as exc:
            logger.error("could not read what run %s committed: %s", run_id, first_line(exc))
            ledger = None
        if ledger is None:
            return counts
        if ledger != (counts.reminders_created, counts.escalations_created):
            logger.info(
                "run %s committed %d reminders and %d escalations (the pass counted %d and %d)",
                run_id,
                *ledger,
                counts.reminders_created,
                counts.escalations_created,
            )
        return replace(counts, reminders_created=ledger[0], escalations_created=ledger[1])

    def _fresh_log(self) -> ExecutionLog | None:
        if self._recorded_by is not self.log:
            return self._recorded_by  # already switched (or None: no fresh connection)
        self._recorded_by = None
        if self.fallback_log is not None:
            try:
                self._recorded_by = self.fallback_log()
            except DATABASE_FAULTS as exc:
                logger.error("no fresh connection to record the run's end: %s", first_line(exc))
        return self._recorded_by

    def _finish_elsewhere(
        self,
        run_id: int,
        *,
        note: str,
        error: str,
        finished_at: datetime,
        duration_ms: float,
        counts: RunCounts,
    ) -> None:
        """The work connection died: finish the row 'failed' on a fresh one, or leave it
        'running' for the next run, which marks it failed (``holder_died``)."""
        log = self._fresh_log()
        try:
            if log is not None:
                log.finish(
                    run_id,
                    status="failed",
                    finished_at=finished_at,
                    duration_ms=duration_ms,
                    counts=counts,
                    note=note,
                    error=error,
                )
                self._row_status = "failed"
                return
        except DATABASE_FAULTS as exc:
            self._recorded_by = None
            logger.error("could not record run %s as failed: %s", run_id, first_line(exc))
        logger.error("run %s stays 'running' until the next run marks it failed", run_id)

    def _record_unlock(self, run_id: int, unlock_ok: bool) -> None:
        log = self._recorded_by
        if log is None:
            return
        try:
            log.record_unlock(run_id, unlock_ok)
        except DATABASE_FAULTS as exc:
            self._fault = self._fault or exc
            retry = self._fresh_log()
            if retry is None:
                return
            try:
                retry.record_unlock(run_id, unlock_ok)
            except DATABASE_FAULTS:
                logger.error("could not record the unlock of run %s", run_id)

    def _database_failed(self, run_id: int | None, note: str | None) -> DatabaseError:
        """One line for the caller: what failed, what became of the run, and what to do for
        its cause (:mod:`.advice`: a lost lock or a database that answered again is not
        "check that PostgreSQL is running")."""
        recorded = self._row_status is not None
        became = (
            f"it is recorded as {self._row_status}"
            if recorded
            else "the next run will record it as failed"
        )
        detail = driver_line(self._fault) if self._fault is not None else "?"
        what = (
            "lost its lock, then its database session failed"
            if cause_of(note, recorded=recorded) == advice_table.LOCK_LOST
            else "stopped because the database failed"
        )
        error = DatabaseError(
            f"the reminder run {run_id} {what} ({detail}); {became}."
            f" {advice(note, recorded=recorded)}: committed batches stay and no reminder is"
            " created twice"
        )
        error.__cause__ = self._fault
        return error
