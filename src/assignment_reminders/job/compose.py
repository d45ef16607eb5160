"""The composition root of one run of the job: what :class:`~.trigger.CronTrigger` runs with.

:func:`run_once` opens the lock and work connections, builds the lock, the execution log, the
pass, the fencing, the steps after it (the delivery drain, a drill's hold) and runs
one invocation. Whoever calls it adds only what is theirs:

* the CLI a progress display (``show_progress``): display is not the job's business;
* monitoring its observers (:class:`RunObserver`: the overrun watchdog, heartbeat pings,
  retention), through ``monitoring.run_monitor.monitored_run``.

This module imports neither ``monitoring`` nor ``api`` nor ``cli``: they depend on it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

import psycopg

from ..clock import utc_now
from ..config import Settings
from ..db.database import Connection, connect, database_url, lock_database_url
from ..db.gateway import fault
from ..delivery.channels import configured_channel_names, skipped_channels
from ..delivery.runner import delivery_step
from ..locking.job_lock import JobLock
from ..locking.lock import LockTiming, open_job_lock
from .counts import RunCounts
from .fence import Guard, PgFencing
from .joblog import PgExecutionLog
from .reminder_pass import Checkpoint, ReminderPass, due_rows
from .trigger import CronTrigger, RunOutcome, Step

channel_logger = logging.getLogger("assignment_reminders.delivery.channels")

ShowProgress = Callable[[RunCounts, Callable[[], int]], None]
"""Told after each batch what the pass has done so far, and given a function estimating how many
assignments there are (a query: call it only when needed)."""


class RunObserver(Protocol):
    """Watches one invocation from outside its work (monitoring). Never fails the run."""

    def watch(self) -> AbstractContextManager[object]:
        """Around the invocation (the overrun watchdog)."""
        ...

    def locked(self, invocation_id: UUID) -> None:
        """The lock is ours; the work starts (a start ping)."""
        ...

    def ended(self, outcome: RunOutcome, conn: Connection) -> None:
        """The invocation ended, the lock is released; *conn* is the work connection."""
        ...

    def crashed(self, error: BaseException) -> None:
        """The invocation could not start or was stopped (no outcome)."""
        ...


def announce_step(lines: Sequence[str]) -> Step:
    """Log *lines* (the channels a run skips) from within the run."""

    def announce(checkpoint: Checkpoint, guard: Guard) -> None:
        for line in lines:
            channel_logger.info(line)

    return announce


def hold_step(lock: JobLock, seconds: float) -> Step:
    """Drills: keep the lock *seconds* after the work, ending early if it is lost meanwhile."""

    def hold(checkpoint: Checkpoint, guard: Guard) -> None:
        lock.pause(seconds)

    return hold


def run_once(
    settings: Settings,
    *,
    now: datetime | None = None,
    trigger_source: str = "cli",
    hold_seconds: float = 0.0,
    pause_between_batches: float = 0.0,
    clock: Callable[[], datetime] = utc_now,
    show_progress: ShowProgress | None = None,
    observers: Sequence[RunObserver] = (),
) -> RunOutcome:
    """Open the lock and work connections, run one invocation, close both.

    A database fault (server stopped or restarted, a session terminated, a dead network) raises
    one :class:`DatabaseError` after the run's row is recorded as failed where it can be."""
    try:
        try:
            return _run_once(
                settings,
                now=now,
                trigger_source=trigger_source,
                hold_seconds=hold_seconds,
                pause_between_batches=pause_between_batches,
                clock=clock,
                show_progress=show_progress,
                observers=observers,
            )
        except psycopg.Error as exc:  # the one way a driver error leaves a run: DatabaseError
            raise fault(exc, "the reminder run") from exc
    except BaseException as exc:
        for observer in observers:
            observer.crashed(exc)
        raise


def _run_once(
    settings: Settings,
    *,
    now: datetime | None,
    trigger_source: str,
    hold_seconds: float,
    pause_between_batches: float,
    clock: Callable[[], datetime],
    show_progress: ShowProgress | None,
    observers: Sequence[RunObserver],
) -> RunOutcome:
    url = database_url(settings)
    lock_url = lock_database_url(settings, url)
    timing = LockTiming(settings.lock.heartbeat_seconds, settings.lock.idle_timeout_seconds)
    with (
        connect(lock_url, purpose="lock") as lock_conn,  # the lock assumes the role itself
        connect(url, purpose="work") as work_conn,
        contextlib.ExitStack() as spare,  # a fresh connection, only if the work one dies
        contextlib.ExitStack() as watching,
    ):
        lock = open_job_lock(
            lock_conn, lock_url, scope=settings.lock.scope, role=settings.lock.role, timing=timing
        )
        channels = configured_channel_names(settings, announce=False)  # decided once per run
        # said after the pass, before delivery: within the run, its lines carry its run_id
        after_pass: list[Step] = [announce_step(skipped_channels(settings))]
        if (deliver := delivery_step(settings, work_conn, channels, clock)) is not None:
            after_pass.append(deliver)
        if hold_seconds > 0:
            after_pass.append(hold_step(lock, hold_seconds))
        trigger = CronTrigger(
            lock=lock,
            log=PgExecutionLog(work_conn),
            reminder_pass=ReminderPass(
                work_conn,
                batch_size=settings.batch_size,
                on_batch=_on_batch(show_progress, work_conn, now or clock()),
                channels=channels,
            ),
            job_name=settings.job_name,
            trigger_source=trigger_source,
            clock=clock,
            pause_between_batches=pause_between_batches,
            after_pass=after_pass,
            fencing=PgFencing(
                work_conn,
                settings.job_name,
                lock.key,
                idle_timeout_seconds=settings.lock.idle_timeout_seconds,
            ),
            fallback_log=lambda: PgExecutionLog(
                spare.enter_context(connect(url, purpose="work-recovery"))
            ),
            on_locked=_tell_locked(observers),
        )
        for observer in observers:
            watching.enter_context(observer.watch())
        outcome = trigger.run(now=now)
        if deliver is not None and deliver.result is not None:
            outcome = dataclasses.replace(outcome, delivery=deliver.result)
        watching.close()
        for observer in observers:
            observer.ended(outcome, work_conn)
        return outcome


def _on_batch(
    show: ShowProgress | None, conn: Connection, now: datetime
) -> Callable[[RunCounts], None] | None:
    if show is None:
        return None
    total = functools.cache(lambda: due_rows(conn, now))  # read once, if at all
    return lambda counts: show(counts, total)


def _tell_locked(observers: Sequence[RunObserver]) -> Callable[[UUID], None] | None:
    if not observers:
        return None

    def locked(invocation_id: UUID) -> None:
        for observer in observers:
            observer.locked(invocation_id)

    return locked
