"""What the cron trigger needs of a lock: the :class:`JobLock` protocol (no driver, no I/O).

The advisory locks that implement it are in :mod:`.lock`; tests supply their own (tests/fakes.py).
"""

from __future__ import annotations

import time
from typing import Protocol


class JobLock(Protocol):
    """What the cron trigger needs of a lock. Tests supply their own."""

    key: int

    def try_acquire(self) -> bool: ...

    def checkpoint(self) -> None:
        """Raise :class:`LockLostError` when the lock is no longer (provably) ours."""

    def pause(self, seconds: float) -> None:
        """Wait, checking the lock all along (drills: ``--hold-seconds``)."""

    def release(self) -> bool: ...

    @property
    def backend_pid(self) -> int | None: ...


def timed_try_acquire(lock: JobLock) -> tuple[bool, float]:
    """Try the lock; return whether we won and how long the attempt took, in milliseconds."""
    started = time.perf_counter()
    acquired = lock.try_acquire()
    return acquired, (time.perf_counter() - started) * 1000
