"""The background threads of ``reminders serve``: the job on its schedule, the checks on a timer.

Every replica runs both. At a fire time each replica calls the one cron code path
(:func:`~.run_monitor.monitored_run`); the advisory lock lets one run and the others
log 'skipped'. The checks write to the shared alert state, so replicas never alert twice.
A fire time missed because the process was down or busy is not caught up: the next run covers
it (the reminder pass is idempotent), and the missed-run check reports a long gap.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from ..clock import utc_now
from ..config import Settings
from ..exceptions import ReminderError
from .cron import CronSchedule
from .monitor import check_once_for
from .run_monitor import monitored_run

logger = logging.getLogger(__name__)

MAX_SLEEP = 60.0  # re-read the clock at least this often (suspend, clock steps)


class BuiltinCron:
    def __init__(
        self,
        settings: Settings,
        schedule: CronSchedule,
        *,
        run_job: Callable[..., Any],
        check: Callable[..., Any],
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.schedule = schedule
        self.run_job = run_job
        self.check = check
        self.clock = clock
        self.next_fire = schedule.next_after(clock())
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._cron_loop, name="cron", daemon=True),
            threading.Thread(target=self._check_loop, name="checks", daemon=True),
        ]

    def start(self) -> None:
        logger.info(
            "built-in cron: %r in %s, next run at %s",
            self.schedule.expression,
            self.schedule.zone.key,
            self.next_fire.astimezone(self.schedule.zone).isoformat(),
        )
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    def _cron_loop(self) -> None:
        while not self._stop.is_set():
            remaining = (self.next_fire - self.clock()).total_seconds()
            if remaining > 0:
                self._stop.wait(min(remaining, MAX_SLEEP))
                continue
            try:
                outcome = self.run_job(
                    self.settings, trigger_source="builtin-cron", clock=self.clock
                )
                logger.info(
                    "scheduled run: %s (run %s)%s",
                    outcome.status,
                    outcome.run_id,
                    outcome.delivery_tail(),
                )
            except ReminderError as exc:
                logger.error("scheduled run failed: %s", exc.message)
            except Exception:
                logger.exception("scheduled run crashed")
            self.next_fire = self.schedule.next_after(max(self.next_fire, self.clock()))

    def _check_loop(self) -> None:
        interval = float(self.settings.monitoring.check_interval_seconds)
        while not self._stop.wait(interval):
            try:
                self.check(self.settings, now=self.clock(), record=True, role="builtin-cron")
            except ReminderError as exc:
                logger.error("monitoring checks failed: %s", exc.message)
            except Exception:
                logger.exception("monitoring checks crashed")


def start_background(settings: Settings, schedule: CronSchedule) -> BuiltinCron:
    """Start both threads on *schedule* (``serve`` parsed it before anything started)."""
    cron = BuiltinCron(
        settings,
        schedule,
        run_job=monitored_run,
        check=check_once_for,
        clock=utc_now,
    )
    cron.start()
    return cron
