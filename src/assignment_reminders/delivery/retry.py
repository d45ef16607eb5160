"""Retry policy: exponential backoff with jitter, then dead. The random source is passed in."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt *n* (1-based) failed: wait between half and all of ``base * 2**(n-1)``, capped."""

    max_attempts: int = 8
    base_seconds: float = 30.0
    cap_seconds: float = 6 * 3600.0

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempts - 1))
        return timedelta(seconds=ceiling / 2 + rng.random() * ceiling / 2)

    def next_attempt(self, attempts: int, now: datetime, rng: random.Random) -> datetime | None:
        """When to try again after *attempts* failed attempts, or None: give up (dead)."""
        if attempts >= self.max_attempts:
            return None
        return now + self.delay(attempts, rng)
