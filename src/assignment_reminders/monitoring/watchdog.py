"""The running process watching its own run: an overrun alert while the run is still going.

:func:`watch_for_overrun` wraps one invocation. A daemon thread waits for the overrun threshold,
then runs the overrun check (on its own connection, through the shared alert state, so it and the
independent ``reminders check`` never alert twice) every check interval until the run ends. When
the run ends after the watchdog has fired, it checks once more so the recovery is sent even if
no independent checker runs. A process that is hung as a whole (SIGSTOP, a frozen VM) stops its
watchdog too: that case is the independent check's (``reminders check``, ``reminders serve``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from ..config import Settings
from ..exceptions import ReminderError
from .checks import OVERRUN
from .monitor import check_once_for

logger = logging.getLogger(__name__)


class OverrunWatchdog:
    def __init__(self, settings: Settings, clock: Callable[[], datetime]) -> None:
        self.settings = settings
        self.clock = clock
        self.fired = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="overrun-watchdog", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self.fired:
            self._check()

    def _watch(self) -> None:
        m = self.settings.monitoring
        wait = float(m.overrun_after_seconds)
        while not self._stop.wait(wait):
            self.fired = True
            self._check()
            wait = float(m.check_interval_seconds)

    def _check(self) -> None:
        try:
            check_once_for(
                self.settings, now=self.clock(), record=True, role="watchdog", kinds=(OVERRUN,)
            )
        except ReminderError as exc:  # the run goes on; the independent check still reports
            logger.error("overrun watchdog could not check: %s", exc.message)


@contextmanager
def watch_for_overrun(settings: Settings, clock: Callable[[], datetime]) -> Iterator[None]:
    dog = OverrunWatchdog(settings, clock)
    dog.start()
    try:
        yield
    finally:
        dog.stop()
