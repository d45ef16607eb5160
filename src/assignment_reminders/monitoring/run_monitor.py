"""Monitoring's part in every run: the overrun watchdog, heartbeat pings, retention, and the
incident of a run that failed (or of one it found dead), opened as soon as the run is recorded.

:class:`RunMonitor` is a :class:`~assignment_reminders.job.compose.RunObserver`;
:func:`monitored_run` is ``job.run_once`` with it, what ``reminders run``, the cron endpoint and
``reminders serve``'s schedule call. Monitoring depends on the job's composition root, never the
reverse.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import psycopg

from ..clock import utc_now
from ..config import Settings
from ..db.database import Connection
from ..exceptions import ReminderError, first_line
from ..job.compose import run_once
from ..job.run_status import RunStatus
from ..job.trigger import RunOutcome
from ..logs import log_context
from .checks import FAILURE, OVERLAPPING_RUNS, UNLOCK_FAILED
from .monitor import check_once_for, run_checks
from .retention import prune_after_run
from .sinks import sinks_from_settings
from .watchdog import watch_for_overrun

if TYPE_CHECKING:
    from .ping import Pinger

logger = logging.getLogger(__name__)

RUN_KINDS: Final = (FAILURE, UNLOCK_FAILED, OVERLAPPING_RUNS)
"""What a run's end settles at once: its failure (or the failure of a run it found dead, marked
``holder_died``), a release that found the lock gone, an overlap recorded on its row."""


class RunMonitor:
    """Alerts while a run overruns, pings ``REMINDERS_PING_URL`` (start, success, fail), prunes
    the execution log after a run that did work, and settles the run's incidents (:data:`RUN_KINDS`)
    as soon as its row is recorded: a failed run opens its ``failure`` incident then, not at the
    next check; a success resolves it."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        url = settings.monitoring.ping_url
        self.pinger: Pinger | None = None
        self.started = False  # the lock was taken: the run has (or had) a row
        if url is not None:
            from .ping import Pinger  # httpx: imported only when pings are configured (start-up)

            self.pinger = Pinger(url.reveal())

    def watch(self) -> AbstractContextManager[object]:
        return watch_for_overrun(self.settings, self.clock)

    def locked(self, invocation_id: UUID) -> None:
        self.started = True
        if self.pinger is not None:
            self.pinger.start(invocation_id)

    def ended(self, outcome: RunOutcome, conn: Connection) -> None:
        # still the run's lines: they carry its run_id and invocation_id
        with log_context(invocation_id=str(outcome.invocation_id), run_id=outcome.run_id):
            self._ended(outcome, conn)

    def _ended(self, outcome: RunOutcome, conn: Connection) -> None:
        prune_after_run(
            conn,
            status=outcome.status,
            now=self.clock(),
            retention_days=self.settings.monitoring.retention_days,
        )
        if outcome.status != RunStatus.SKIPPED:
            self._settle(lambda: self._settle_on(conn))
        if self.pinger is None:
            return
        if outcome.status == RunStatus.SUCCESS:
            done = f"run {outcome.run_id}, {outcome.counts.summary()}{outcome.delivery_tail()}"
            self.pinger.success(outcome.invocation_id, f"success: {done}")
        elif outcome.status == RunStatus.FAILED:
            self.pinger.fail(outcome.invocation_id, outcome.error or outcome.note)

    def _settle_on(self, conn: Connection) -> None:
        run_checks(
            conn,
            self.settings,
            now=self.clock(),
            sinks=sinks_from_settings(self.settings),
            record=True,
            role="run",
            kinds=RUN_KINDS,
        )

    def _settle(self, settle: Callable[[], object]) -> None:
        """Never fails the run: the independent check settles what this could not."""
        try:
            settle()
        except (ReminderError, psycopg.Error) as exc:
            why = exc.message if isinstance(exc, ReminderError) else first_line(exc)
            logger.warning("could not settle the run's incidents now (a check will): %s", why)

    def crashed(self, error: BaseException) -> None:
        if self.started and isinstance(error, ReminderError):  # e.g. the database failed mid-run
            self._settle(
                lambda: check_once_for(
                    self.settings, now=self.clock(), record=True, role="run", kinds=RUN_KINDS
                )
            )
        if self.pinger is not None:  # no row values, no host: the exception's kind only
            self.pinger.fail(
                None, f"{type(error).__name__}: the run could not start or was stopped"
            )


def monitored_run(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, **options: Any
) -> RunOutcome:
    """``job.run_once`` watched by monitoring (see :class:`RunMonitor`)."""
    return run_once(settings, clock=clock, observers=[RunMonitor(settings, clock)], **options)
