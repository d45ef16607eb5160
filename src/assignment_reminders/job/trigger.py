"""The cron trigger: one invocation of the reminder job, single-flight under an advisory lock.

This is the one code path behind ``reminders run`` and
``POST /functions/v1/assignment-reminder-cron``; ``compose.py`` wires it (connections, lock, log,
the pass, the steps after it) and :class:`CronTrigger` runs it::

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
from typing import Any, Protocol
from uuid import UUID, uuid4

import psycopg

from ..clock import utc_now
from ..db.database import DATABASE_FAULTS
from ..delivery.states import DrainResult
from ..exceptions import DatabaseError, LockLostError, RunRowDeletedError, first_line
from ..figures import numbered, rounded
from ..locking.holder import LockHolder
from ..locking.job_lock import JobLock, timed_try_acquire
from ..logs import bind, log_context
from . import advice as advice_table
from .advice import advice, lost_lock
from .counts import RunCounts
from .fence import Fencing, Guard
from .joblog import SKIP_LOCK_HELD, ExecutionLog, RunStart
from .reminder_pass import Checkpoint, PassRunner
from .run_status import Finish, RunStatus

logger = logging.getLogger(__name__)

LOCK_LOST = advice_table.LOCK_LOST
"""The note of a run that stopped because its lock stopped being ours (advice.py: its advice)."""

DATABASE_FAULT = "database_fault"
"""The note of a run that stopped because the database failed under it (connection lost)."""

DECLARED_DEAD = "declared_dead_by_another_run"
"""The note added to a run whose row another run marked failed while it worked."""

RUN_ROW_DELETED = "run_row_deleted"
"""The outcome's note of a run whose row was deleted from the log while it worked (no row
carries it: the outcome, its one line and the log say it)."""


def _unwrapped(exc: BaseException) -> BaseException:
    """The driver's error under the gateway's wrapping (*exc* itself when there is none)."""
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else None
    return cause if isinstance(cause, psycopg.Error) else exc


def driver_line(exc: BaseException) -> str:
    """The first line of what the driver said, under the gateway's wrapping (the run's row
    and its one error line say what PostgreSQL said, not our paraphrase of it)."""
    return first_line(_unwrapped(exc))


def describe(exc: BaseException) -> str:
    """``Kind: message`` for the run's row: a wrapped driver error by the driver's kind."""
    shown = _unwrapped(exc)
    return f"{type(shown).__name__}: {shown}"


Step = Callable[[Checkpoint, Guard], None]
"""What follows the reminder pass while the lock is held (the delivery drain; a drill's hold).
*checkpoint* raises when the lock is gone; *guard* opens a fenced transaction (:mod:`.fence`)."""


@dataclass(frozen=True)
class RunOutcome:
    """What one invocation did."""

    invocation_id: UUID
    status: RunStatus
    run_id: int
    note: str | None = None
    error: str | None = None
    counts: RunCounts = field(default_factory=RunCounts)
    lock_acquire_ms: float = 0.0
    duration_ms: float = 0.0
    unlock_ok: bool | None = None
    holder: LockHolder | None = None
    delivery: DrainResult | None = None  # the delivery step's, when it ran (job.compose)

    @property
    def ok(self) -> bool:
        return self.status in (RunStatus.SUCCESS, RunStatus.SKIPPED)

    def delivery_tail(self) -> str:
        """``; delivery: 50 delivered, 0 failed (to be retried), 0 dead, 0 cancelled`` when the
        run's delivery step ran, else empty: the tail of ``run``'s line and the success ping."""
        return "" if self.delivery is None else f"; delivery: {self.delivery.summary()}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, figures rounded (``lock_acquire_ms`` 13.24, not 13.240977999998904)."""
        data = asdict(self)
        data["invocation_id"] = str(self.invocation_id)
        data["status"] = self.status.value
        data["delivery"] = None if self.delivery is None else self.delivery.to_dict()
        if self.holder is not None and self.holder.backend_start is not None:
            data["holder"]["backend_start"] = self.holder.backend_start.isoformat()
        rounded_data: dict[str, Any] = rounded(data)
        return rounded_data


class Trigger(Protocol):
    """One invocation of the job, whoever calls (the CLI, the cron endpoint, the schedule)."""

    def run(self, *, now: datetime | None = None) -> RunOutcome: ...


class CronTrigger:
    """Runs the pass at most once at a time, whoever calls: the :class:`Trigger` protocol.

    It holds what every invocation runs with; each invocation's own state (its fencing token,
    its batches, the log its row is written to, a database fault) is a :class:`Run`."""

    def __init__(
        self,
        *,
        lock: JobLock,
        log: ExecutionLog,
        reminder_pass: PassRunner,
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
        self.reminder_pass = reminder_pass
        self.job_name = job_name
        self.trigger_source = trigger_source
        self.clock = clock
        self.pause_between_batches = pause_between_batches
        self.after_pass = list(after_pass)  # delivery, a drill's hold: in order, lock held
        self.fencing = fencing  # None: writes are not fenced (unit tests with fakes)
        # where the run's end is recorded when the work connection died under it
        self.fallback_log = fallback_log
        self.on_locked = on_locked  # told the invocation id once the lock is ours (pings)

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
            return Run(self, start, now or started_at).run_locked(started)

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
            status=RunStatus.SKIPPED,
            run_id=run_id,
            note=SKIP_LOCK_HELD,
            lock_acquire_ms=start.lock_acquire_ms,
            duration_ms=duration_ms,
            holder=holder,
        )


class Run:
    """One invocation that won the lock, from its first write to its :class:`RunOutcome`.

    Its state lives as long as the invocation: the fencing token, the batches started, the
    database fault that stopped it, the log its row is being written to (a fresh one once the
    work connection died) and what that row says once finished."""

    def __init__(self, trigger: CronTrigger, start: RunStart, now: datetime) -> None:
        self.trigger = trigger
        self.start = start
        self.now = now
        self.token: int | None = None
        self.batches = 0
        self.fault: Exception | None = None
        self.recorded_by: ExecutionLog | None = trigger.log
        self.row_status: RunStatus | None = None  # what the run's row says, once finished

    def checkpoint(self) -> None:
        """Before each batch: is the lock still ours? (Drills: wait between batches, watching.)"""
        lock = self.trigger.lock
        lock.checkpoint()
        if self.trigger.pause_between_batches > 0 and self.batches > 0:
            lock.pause(self.trigger.pause_between_batches)
        self.batches += 1

    def guard(self) -> AbstractContextManager[object]:
        """Around each batch and delivery claim: the fenced transaction (:mod:`.fence`)."""
        fencing = self.trigger.fencing
        if fencing is None or self.token is None:
            return contextlib.nullcontext()
        return fencing.guard(self.token)

    def _holds(self) -> AbstractContextManager[bool]:
        fencing = self.trigger.fencing
        if fencing is None:
            return contextlib.nullcontext(True)
        if self.token is None:
            return contextlib.nullcontext(False)
        return fencing.holds(self.token)

    def _begin(self) -> tuple[int, LockLostError | None]:
        """Take the fencing token (the first write), write our 'running' row. A lock lost
        before the token was taken is returned, not raised: the run still gets its row,
        finished as 'lock_lost'. Nothing may come between the row and the caller's try block
        (an interruption there would leave the row 'running')."""
        t = self.trigger
        lost: LockLostError | None = None
        if t.fencing is not None:
            try:
                self.token = t.fencing.take(t.lock.backend_pid)
            except LockLostError as exc:
                lost = exc
        return t.log.start_running(self.start, t.lock.backend_pid), lost

    def _fail_orphans(self, run_id: int) -> None:
        """Rows of dead holders still 'running' (their lock is gone, it is ours): 'failed',
        ``holder_died``, naming this run by its number. Inside the run's try block."""
        t = self.trigger
        orphans = t.log.fail_orphaned_runs(t.job_name, run_id, self.start.started_at)
        if orphans:
            logger.warning(
                "marked %s, left 'running' by a dead process, as failed", numbered("run", orphans)
            )

    def _record_overlaps(self, run_id: int) -> None:
        """Runs whose batch committed after this run began to write: recorded on both rows.
        Inside the run's try block, so that an interruption here still finishes its row."""
        if self.token is None:
            return
        overlapped = self.trigger.log.record_overlaps(run_id, self.trigger.job_name, self.token)
        if overlapped:
            logger.warning(
                "%s committed ledger rows after this run began to write (their batch"
                " was in flight when they lost the lock): recorded on both rows",
                numbered("run", overlapped),
            )

    def _work(self, run_id: int, lost: LockLostError | None) -> RunCounts:
        if lost is not None:
            raise lost
        self._fail_orphans(run_id)
        self._record_overlaps(run_id)
        t = self.trigger
        counts = t.reminder_pass.run(
            now=self.now, run_id=run_id, checkpoint=self.checkpoint, guard=self.guard
        )
        for step in t.after_pass:
            step(t.lock.checkpoint, self.guard)
        return counts

    def run_locked(self, started: float) -> RunOutcome:
        """The run under the lock: its row, the pass and the steps after it, its end recorded,
        the lock released. *started* is ``perf_counter()`` at the invocation's start."""
        t = self.trigger
        end, counts = Finish(RunStatus.FAILED), RunCounts()
        run_id: int | None = None
        unlock_ok: bool | None = None
        duration_ms = 0.0
        try:
            run_id, lost = self._begin()
            bind(run_id=run_id)
            try:
                counts = self._work(run_id, lost)
                end = Finish(RunStatus.SUCCESS)
            except (LockLostError, RunRowDeletedError) as exc:  # said in one line, no traceback
                note = LOCK_LOST if isinstance(exc, LockLostError) else RUN_ROW_DELETED
                end = Finish(RunStatus.FAILED, note, f"{type(exc).__name__}: {exc}")
                logger.error("stopping: %s", exc)
            except DATABASE_FAULTS as exc:  # the database failed under us: no traceback
                end = Finish(RunStatus.FAILED, DATABASE_FAULT, f"DatabaseError: {driver_line(exc)}")
                self.fault = exc
                logger.error("stopping: the database failed: %s", driver_line(exc))
            except Exception as exc:
                end = Finish(RunStatus.FAILED, None, describe(exc))
                logger.exception("the reminder run failed")
            except BaseException as exc:  # interrupted (SIGTERM, Ctrl-C): record it, then go on
                end = Finish(RunStatus.FAILED, "interrupted", f"{type(exc).__name__}: {exc}")
                raise
            finally:
                if end.status is not RunStatus.SUCCESS:
                    counts = t.reminder_pass.counts  # what its committed batches created
                duration_ms = (time.perf_counter() - started) * 1000
                end = self._finish(run_id, end, counts=counts, duration_ms=duration_ms)
        finally:
            unlock_ok = t.lock.release()
            if not unlock_ok:
                logger.error(  # the unlock said false, the session was gone, or a beat failed
                    "the job's lock (key %d) was no longer this run's when it released it",
                    t.lock.key,
                )
                if end.status is RunStatus.SUCCESS:  # never a success whose lock was not ours
                    end = Finish(
                        RunStatus.FAILED,
                        LOCK_LOST,
                        "LockLostError: the lock was not held by this run at release",
                    )
            if run_id is not None:
                self._record_unlock(run_id, unlock_ok)
        if self.fault is not None:
            raise self._database_failed(run_id, end.note)
        if run_id is not None:
            counts = self._committed(run_id, counts)
        return RunOutcome(
            invocation_id=self.start.invocation_id,
            status=end.status,
            run_id=run_id,
            note=end.note,
            error=end.error,
            counts=counts,
            lock_acquire_ms=self.start.lock_acquire_ms,
            duration_ms=duration_ms,
            unlock_ok=unlock_ok,
        )

    def _finish(self, run_id: int, end: Finish, *, counts: RunCounts, duration_ms: float) -> Finish:
        """Finish the row in a fenced transaction: a run whose lock is gone by now is 'failed'
        (``lock_lost``), whatever it did. When the work connection is gone, the row is finished
        'failed' on a fresh connection (:meth:`_finish_elsewhere`). Returns the final
        :class:`Finish`."""
        t = self.trigger
        finished_at = t.clock()
        try:
            with self._holds() as held:
                if not held:
                    logger.error("run %s: the lock was gone before the run finished", run_id)
                    end = Finish(
                        RunStatus.FAILED,
                        end.note or LOCK_LOST,
                        end.error or "LockLostError: the lock was gone before the run finished",
                    )
                finished = t.log.finish(
                    run_id,
                    status=end.status,
                    note=end.note,
                    error=end.error,
                    finished_at=finished_at,
                    duration_ms=duration_ms,
                    counts=counts,
                )
        except DATABASE_FAULTS as exc:
            self.fault = self.fault or exc
            end = Finish(
                RunStatus.FAILED,
                end.note or DATABASE_FAULT,
                end.error or f"DatabaseError: {driver_line(exc)}",
            )
            self._finish_elsewhere(
                run_id, end, finished_at=finished_at, duration_ms=duration_ms, counts=counts
            )
            return end
        self.row_status = end.status if finished else RunStatus.FAILED
        if finished:
            return end
        note = end.note if end.note in (LOCK_LOST, RUN_ROW_DELETED) else DECLARED_DEAD
        try:
            noted = t.log.add_note(run_id, note)
        except DATABASE_FAULTS as exc:  # reported in one line by run_locked, as any fault
            self.fault = self.fault or exc
            return Finish(RunStatus.FAILED, note, end.error)
        if noted:
            logger.error("run %s was marked failed by another run while it worked", run_id)
            return Finish(RunStatus.FAILED, note, end.error)
        self.row_status = None  # no row says anything
        if end.note == RUN_ROW_DELETED:
            return end  # the pass found it first, and said so
        gone = RunRowDeletedError(run_id)  # after the pass (a drain, a drill's hold)
        logger.error("%s", gone)
        return Finish(
            RunStatus.FAILED,
            f"{end.note}; {RUN_ROW_DELETED}" if end.note else RUN_ROW_DELETED,
            end.error or f"{type(gone).__name__}: {gone}",
        )

    def _committed(self, run_id: int, counts: RunCounts) -> RunCounts:
        """The reminders and escalations that committed with this run's id, as its row counts
        them (the database keeps them: a batch in flight when the lock was lost, rows a batch
        took back before committing); the pass's own tally if the row cannot be read."""
        log = self.recorded_by
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
        t = self.trigger
        if self.recorded_by is not t.log:
            return self.recorded_by  # already switched (or None: no fresh connection)
        self.recorded_by = None
        if t.fallback_log is not None:
            try:
                self.recorded_by = t.fallback_log()
            except DATABASE_FAULTS as exc:
                logger.error("no fresh connection to record the run's end: %s", first_line(exc))
        return self.recorded_by

    def _finish_elsewhere(
        self,
        run_id: int,
        end: Finish,
        *,
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
                    status=RunStatus.FAILED,
                    finished_at=finished_at,
                    duration_ms=duration_ms,
                    counts=counts,
                    note=end.note,
                    error=end.error,
                )
                self.row_status = RunStatus.FAILED
                return
        except DATABASE_FAULTS as exc:
            self.recorded_by = None
            logger.error("could not record run %s as failed: %s", run_id, first_line(exc))
        logger.error("run %s stays 'running' until the next run marks it failed", run_id)

    def _record_unlock(self, run_id: int, unlock_ok: bool) -> None:
        log = self.recorded_by
        if log is None:
            return
        try:
            log.record_unlock(run_id, unlock_ok)
        except DATABASE_FAULTS as exc:
            self.fault = self.fault or exc
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
        recorded = self.row_status is not None
        became = (
            f"it is recorded as {self.row_status}"
            if recorded
            else "the next run will record it as failed"
        )
        detail = driver_line(self.fault) if self.fault is not None else "?"
        what = (
            "lost its lock, then its database session failed"
            if lost_lock(note)
            else "stopped because the database failed"
        )
        error = DatabaseError(
            f"the reminder run {run_id} {what} ({detail}); {became}."
            f" {advice(note, recorded=recorded)}: committed batches stay and no reminder is"
            " created twice"
        )
        error.__cause__ = self.fault
        return error
