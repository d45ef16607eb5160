"""Adaptive concurrency: how many messages a channel keeps in flight.

Between 1 and a maximum (``REMINDERS_DELIVERY_CONCURRENCY``), adjusted after each batch from what
the batch measured, like TCP's congestion window:

* a temporary failure (connection error, timeout, 5xx, 429, SMTP 4xx): halve. A receiver that
  struggles gets fewer connections, not more retries at once;
* the last step up raised the throughput by at least 10 %: double again (a remote receiver, whose
  round trips the in-flight messages overlap, gets as many as pay off);
* it did not: go back to the previous limit and hold; probe upwards again after a while, since
  receivers and networks change.

A local receiver has no latency to overlap: the limit settles low, where one event loop does not
waste CPU juggling connections. Time and throughput are passed in: tests decide them.
"""

from __future__ import annotations

from dataclasses import dataclass

GAIN = 1.10  # a step up must raise the throughput by this much to count
PROBE_AFTER = 20  # batches held at one limit before trying one step up again


@dataclass
class AdaptiveLimit:
    maximum: int
    current: int = 4
    _previous: int = 0  # the limit before the last step up (0: none)
    _previous_rate: float = 0.0
    _held: int = 0

    def __post_init__(self) -> None:
        self.maximum = max(1, self.maximum)
        self.current = max(1, min(self.current, self.maximum))

    def update(self, sent: int, seconds: float, *, failures: int = 0) -> int:
        """Record one batch (*sent* messages in *seconds*, *failures* of them temporary
        failures); returns the limit for the next one."""
        if failures:
            self._step(max(1, self.current // 2))
            return self.current
        if sent < self.current or seconds <= 0:  # too small a batch to say anything
            return self.current
        rate = sent / seconds
        if self._previous and rate < self._previous_rate * GAIN:
            self._step(self._previous)  # the step up did not pay: back, and hold
        elif self._previous or self._held >= PROBE_AFTER or not self._previous_rate:
            self._step_up(rate)
        else:
            self._held += 1
            self._previous_rate = rate
        return self.current

    def _step_up(self, rate: float) -> None:
        if self.current >= self.maximum:
            self._previous, self._previous_rate, self._held = 0, rate, 0
            return
        self._previous, self._previous_rate = self.current, rate
        self.current = min(self.maximum, self.current * 2)
        self._held = 0

    def _step(self, limit: int) -> None:
        self.current = limit
        self._previous, self._held = 0, 0
