"""The lock heartbeat: a thread that keeps confirming on the lock connection that the lock is ours.

Why a thread: the run's work happens on the *work* connection, so nothing else would touch the
lock connection for minutes, and a lock that vanished there (``pg_terminate_backend``, a restart, a
network cut, the server's idle timeout after we were hung) would go unnoticed until the unlock
returned false. Every ``interval`` seconds the thread runs *beat* (one short statement on the lock
connection) which also keeps ``idle_session_timeout`` / ``idle_in_transaction_session_timeout``
from firing while we are alive.

psycopg connections must not be used by two threads at once: once started, the heartbeat is the
only user of the lock connection until :meth:`Heartbeat.stop` returns.

The run asks :meth:`Heartbeat.checkpoint` before each batch. It raises :class:`LockLostError` when
a beat failed, and when the last good beat is older than ``stale_after`` (we were paused: SIGSTOP,
a long GC, a suspended VM) it first asks for a fresh beat and waits for it, so a holder that wakes
up after losing its lock stops before doing anything more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from ..exceptions import LockLostError

logger = logging.getLogger(__name__)

Beat = Callable[[], str | None]
"""One check on the lock connection: None when the lock is confirmed ours, else why it is not.
An exception means the same as a reason: the lock can no longer be vouched for."""


class Heartbeat:
    """Runs *beat* every *interval* seconds on its own thread until stopped or the lock is lost."""

    def __init__(
        self,
        beat: Beat,
        *,
        interval: float,
        stale_after: float | None = None,
        answer_timeout: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._beat = beat
        self.interval = interval
        self.stale_after = stale_after if stale_after is not None else 2 * interval
        self.answer_timeout = answer_timeout if answer_timeout is not None else 2 * interval + 5
        self._clock = clock
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lost_event = threading.Event()
        self._lost: str | None = None
        self._begun = 0
        self._done = 0
        self._last_ok = clock()
        self._thread: threading.Thread | None = None

    @property
    def lost_reason(self) -> str | None:
        with self._cond:
            return self._lost

    def start(self) -> None:
        """Start beating, one interval from now (the caller has just confirmed the lock)."""
        self._last_ok = self._clock()
        self._thread = threading.Thread(target=self._run, name="lock-heartbeat", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread; after this the lock connection is the caller's again."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the lock heartbeat did not stop within %.0f s", timeout)

    def checkpoint(self) -> None:
        """Raise :class:`LockLostError` unless the lock was confirmed ours very recently."""
        with self._cond:
            if self._lost is not None:
                raise LockLostError(f"the advisory lock was lost: {self._lost}")
            if self._clock() - self._last_ok <= self.stale_after:
                return
            wanted = self._begun + 1  # a beat that starts after this moment
            self._wake.set()
            answered = self._cond.wait_for(
                lambda: self._lost is not None or self._done >= wanted, self.answer_timeout
            )
            if self._lost is not None:
                raise LockLostError(f"the advisory lock was lost: {self._lost}")
            if not answered:
                self._lost = f"the lock connection did not answer within {self.answer_timeout:g} s"
                self._lost_event.set()
                raise LockLostError(f"the advisory lock cannot be vouched for: {self._lost}")

    def pause(self, seconds: float) -> None:
        """Wait *seconds*, checking the lock all along; raises as soon as it is lost."""
        deadline = self._clock() + seconds
        while True:
            self.checkpoint()
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            self._lost_event.wait(min(remaining, self.interval / 2))

    def _run(self) -> None:
        # The lock was just confirmed by whoever started us: the first beat is one interval away.
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set() or not self._beat_once():
                return

    def _beat_once(self) -> bool:
        with self._cond:
            self._begun += 1
        try:
            reason = self._beat()
        except Exception as exc:
            text = str(exc).strip()
            reason = f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")
        with self._cond:
            self._done += 1
            if reason is None:
                self._last_ok = self._clock()
            elif not self._stop.is_set():
                self._lost = reason
                self._lost_event.set()
                logger.error("lock heartbeat: %s", reason)
            self._cond.notify_all()
        return reason is None
