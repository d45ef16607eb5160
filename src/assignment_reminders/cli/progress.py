"""Progress of a long reminder pass: a bar on a terminal, a log line now and then otherwise.

The CLI's display, given to ``job.run_once`` as ``show_progress``: called after each batch with
the counts so far and a function giving the total (the due-index rows up to the latest local
date, counted only when first drawn, so the bar may end a little off 100 %). Nothing shows for a
pass shorter than ``quiet_seconds``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TextIO

from ..job.counts import RunCounts

logger = logging.getLogger(__name__)

BAR_WIDTH = 30


class Progress:
    """The ``show_progress`` callback. ``close()`` ends the bar's line."""

    def __init__(
        self,
        *,
        stream: TextIO,
        tty: bool | None = None,
        interval: float = 10.0,
        quiet_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._total_source: Callable[[], int] = lambda: 0
        self._total: int | None = None
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.interval = interval
        self.quiet_seconds = quiet_seconds
        self.monotonic = monotonic
        self.started = monotonic()
        self._last_log = self.started
        self._drawn = False

    @property
    def total(self) -> int:
        if self._total is None:
            self._total = self._total_source()
        return self._total

    def line(self, counts: RunCounts, elapsed: float) -> str:
        done = counts.due_rows_read
        total = max(self.total, done)
        created = counts.reminders_created + counts.escalations_created
        rate = done / elapsed if elapsed > 0 else 0.0
        if total:
            filled = round(BAR_WIDTH * done / total)
            head = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {100 * done / total:3.0f}% "
        else:
            head = ""
        return (
            f"{head}{done:,}/{total:,} due, {created:,} reminders created,"
            f" {rate:,.0f}/s, {elapsed:.1f} s"
        )

    def __call__(self, counts: RunCounts, total: Callable[[], int]) -> None:
        self._total_source = total
        now = self.monotonic()
        elapsed = now - self.started
        if elapsed < self.quiet_seconds:
            return
        if self.tty:
            self.stream.write("\r" + self.line(counts, elapsed))
            self.stream.flush()
            self._drawn = True
        elif now - self._last_log >= self.interval:
            self._last_log = now
            logger.info("progress: %s", self.line(counts, elapsed))

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False
