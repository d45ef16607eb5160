"""The cron trigger: one invocation of the reminder job, single-flight under an advisory lock.

This is the one code path behind ``reminders run`` and
``POST /functions/v1/assignment-reminder-cron``::

    try the lock (REMINDERS_LOCK_SCOPE: session or transaction; never blocking)
    ├── not won: write a 'skipped' row (note 'advisory_lock_held', who holds it) and return
    └── won:     (the lock's heartbeat now confirms it every few seconds on the lock connection)
                 mark rows left 'running' by dead holders 'failed', write our 'running' row
                 try:     run ReminderSchedulerService, then `deliver` (drain the delivery
                          queue); before each batch of either, lock.checkpoint() raises
                          LockLostError when the lock is gone: 'failed', note 'lock_lost'
                 finally: finish the row ('success' or 'failed'), release the lock, and record
                          whether the release found the lock still ours
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from .clock import utc_now
from .config import Settings
from .database import connect, database_url, lock_database_url
from .exceptions import LockLostError
from .joblog import SKIP_LOCK_HELD, ExecutionLog, PgExecutionLog, RunCounts, RunStart
from .lock import (
    JobLock,
    LockHolder,
    LockTiming,
    open_job_lock,
    timed_try_acquire,
)
from .logs import bind, log_context
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
        deliver: Callable[[Callable[[], None]], None] | None = None,
        on_locked: Callable[[UUID], object] | None = None,
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

    def _run_locked(self, start: RunStart, started: float, now: datetime) -> RunOutcome:
        status, note, error, counts = "failed", None, None, RunCounts()
        run_id: int | None = None
        unlock_ok: bool | None = None
        try:
            orphans = self.log.fail_orphaned_runs(
                self.job_name, start.invocation_id, start.started_at
            )
            if orphans:
                logger.warning(
                    "marked %d run(s) left 'running' by a dead process as failed", len(orphans)
                )
            run_id = self.log.start_running(start, self.lock.backend_pid)
            bind(run_id=run_id)
            try:
                counts = self.scheduler.run(now=now, run_id=run_id, checkpoint=self._checkpoint)
                if self.deliver is not None:
                    self.deliver(self.lock.checkpoint)
                if self.hold is not None:
                    self.hold()
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
                if not self.log.finish(
                    run_id,
                    status=status,
                    finished_at=self.clock(),
                    duration_ms=duration_ms,
                    counts=counts,
                    note=note,
                    error=error,
                ):
                    logger.error("run %s was marked failed by another run while it worked", run_id)
                    if note != LOCK_LOST:
                        note = "declared_dead_by_another_run"
                    status = "failed"
                    self.log.add_note(run_id, note)
        finally:
            unlock_ok = self.lock.release()
            if not unlock_ok:
                logger.error(
                    "pg_advisory_unlock(%d) returned false: this run no longer held the lock",
                    self.lock.key,
                )
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


def run_once(
    settings: Settings,
    *,
    now: datetime | None = None,
    trigger_source: str = "cli",
    hold_seconds: float = 0.0,
    pause_between_batches: float = 0.0,
    clock: Callable[[], datetime] = utc_now,
) -> RunOutcome:
    """Open the lock and work connections, run one invocation, close both; with
    ``REMINDERS_PING_URL``, ping the monitor as it starts and ends (monitoring/ping.py)."""
    from .monitoring.ping import Pinger

    pinger = Pinger(ping.reveal()) if (ping := settings.monitoring.ping_url) is not None else None
    try:
        outcome = _run_once(
            settings,
            now=now,
            trigger_source=trigger_source,
            hold_seconds=hold_seconds,
            pause_between_batches=pause_between_batches,
            clock=clock,
            on_locked=pinger.start if pinger is not None else None,
        )
    except BaseException as exc:
        if pinger is not None:  # no row values, no host: the exception's kind only
            pinger.fail(None, f"{type(exc).__name__}: the run could not start or was stopped")
        raise
    if pinger is not None and outcome.status == "success":
        c = outcome.counts
        pinger.success(
            outcome.invocation_id,
            f"success: run {outcome.run_id}, {c.assignments_scanned} assignments scanned,"
            f" {c.reminders_created} reminders, {c.escalations_created} escalations",
        )
    elif pinger is not None and outcome.status == "failed":
        pinger.fail(outcome.invocation_id, outcome.error or outcome.note)
    return outcome


def _run_once(
    settings: Settings,
    *,
    now: datetime | None,
    trigger_source: str,
    hold_seconds: float,
    pause_between_batches: float,
    clock: Callable[[], datetime],
    on_locked: Callable[[UUID], object] | None,
) -> RunOutcome:
    from .delivery.runner import CronDelivery
    from .monitoring.retention import prune_after_run
    from .monitoring.watchdog import watch_for_overrun

    url = database_url(settings)
    lock_url = lock_database_url(settings, url)
    timing = LockTiming(settings.lock.heartbeat_seconds, settings.lock.idle_timeout_seconds)
    with (
        connect(lock_url, purpose="lock") as lock_conn,  # the lock assumes the role itself
        connect(url, purpose="work") as work_conn,
    ):
        lock = open_job_lock(
            lock_conn, lock_url, scope=settings.lock.scope, role=settings.lock.role, timing=timing
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
            on_locked=on_locked,
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
