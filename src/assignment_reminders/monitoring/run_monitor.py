"""Monitoring's part in every run: the overrun watchdog, heartbeat pings and retention.

:class:`RunMonitor` is a :class:`~assignment_reminders.job.RunObserver`; :func:`monitored_run`
is ``job.run_once`` with it, what ``reminders run``, the cron endpoint and ``reminders serve``'s
schedule call. Monitoring depends on the job's composition root, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ..clock import utc_now
from ..config import Settings
from ..database import Connection
from ..job import run_once
from ..trigger import RunOutcome
from .retention import prune_after_run
from .watchdog import watch_for_overrun

if TYPE_CHECKING:
    from .ping import Pinger


class RunMonitor:
    """Alerts while a run overruns, pings ``REMINDERS_PING_URL`` (start, success, fail), and
    prunes the execution log after a run that did work."""

    def __init__(self, settings: Settings, clock: Callable[[], datetime] = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        url = settings.monitoring.ping_url
        self.pinger: Pinger | None = None
        if url is not None:
            from .ping import Pinger  # httpx: imported only when pings are configured (start-up)

            self.pinger = Pinger(url.reveal())

    def watch(self) -> AbstractContextManager[object]:
        return watch_for_overrun(self.settings, self.clock)

    def locked(self, invocation_id: UUID) -> None:
        if self.pinger is not None:
            self.pinger.start(invocation_id)

    def ended(self, outcome: RunOutcome, conn: Connection) -> None:
        prune_after_run(
            conn,
            status=outcome.status,
            now=self.clock(),
            retention_days=self.settings.monitoring.retention_days,
        )
        if self.pinger is None:
            return
        if outcome.status == "success":
            c = outcome.counts
            self.pinger.success(
                outcome.invocation_id,
                f"success: run {outcome.run_id}, {c.assignments_scanned} due read,"
                f" {c.reminders_created} reminders, {c.escalations_created} escalations",
            )
        elif outcome.status == "failed":
            self.pinger.fail(outcome.invocation_id, outcome.error or outcome.note)

    def crashed(self, error: BaseException) -> None:
        if self.pinger is not None:  # no row values, no host: the exception's kind only
            self.pinger.fail(
                None, f"{type(error).__name__}: the run could not start or was stopped"
            )


def monitored_run(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now, **options: Any
) -> RunOutcome:
    """``job.run_once`` watched by monitoring (see :class:`RunMonitor`)."""
    return run_once(settings, clock=clock, observers=[RunMonitor(settings, clock)], **options)
