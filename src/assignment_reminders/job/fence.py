"""Fenced writes: every transaction a run commits proves that the run still holds its lock.

The advisory lock alone cannot promise that: a run learns that its lock session died only at its
next heartbeat, and meanwhile a new winner may have started. So the winner takes a *fencing
token* (``reminders.job_fences``, one row per job) right after the lock and before any write:
:meth:`PgFencing.take` bumps it, but only while ``pg_locks`` shows the lock on the winner's lock
backend. Every batch, delivery claim and the run's finish then opens a transaction whose first
statement share-locks that row where ``token = <ours>`` and ``pg_locks`` still shows our lock
(:meth:`PgFencing.guard`); no row means the lock is gone, and the transaction ends without
writing (:class:`LockLostError`). A new winner's bump waits for a batch that holds the share
lock, so an old run's in-flight batch commits before the new run writes anything, and the old
run's next batch finds a newer token: the two never interleave.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from ..db.database import Connection
from ..db.gateway import fetch_one, fetch_value, named, transaction
from ..exceptions import LockLostError

_FENCE_CHECK = named("fence_check")
_FENCE_TAKE = named("fence_take")

Guard = Callable[[], AbstractContextManager[object]]
"""Each write of a run (a batch, a delivery claim) runs inside ``guard()``: the cron run's guard
is a transaction that proves the run still holds its lock and raises, writing nothing, otherwise.
``contextlib.nullcontext`` outside the cron run."""


@dataclass(frozen=True)
class _Fenced:
    """``fence_check``: the token still the job's, and the transaction's idle timeout set."""

    token: int
    idle_timeout: str


class Fencing(Protocol):
    """What the cron trigger needs to fence its writes. :class:`PgFencing` is the real one."""

    def take(self, lock_pid: int | None) -> int:
        """Bump the job's token while the lock is ours; raise :class:`LockLostError` if not."""

    def holds(self, token: int) -> AbstractContextManager[bool]:
        """A transaction whose first statement says whether *token* still holds the lock."""

    def guard(self, token: int) -> AbstractContextManager[None]:
        """A transaction that raises :class:`LockLostError`, writing nothing, unless it holds."""


@dataclass
class PgFencing:
    """Fencing tokens in ``reminders.job_fences``, taken and checked on the work connection."""

    conn: Connection
    job_name: str
    lock_key: int
    idle_timeout_seconds: float = 30.0
    _lock_pid: int | None = None

    def take(self, lock_pid: int | None) -> int:
        self._lock_pid = lock_pid
        token = fetch_value(
            self.conn,
            _FENCE_TAKE,
            {"job_name": self.job_name, "lock_key": self.lock_key, "lock_pid": lock_pid},
            kind=int,
        )
        if token is None:
            raise LockLostError(
                f"the advisory lock was lost: pg_locks no longer shows it on backend {lock_pid}"
            )
        return token

    @contextlib.contextmanager
    def holds(self, token: int) -> Iterator[bool]:
        with transaction(self.conn, "a fenced transaction"):
            row = fetch_one(
                self.conn,
                _FENCE_CHECK,
                {
                    "job_name": self.job_name,
                    "lock_key": self.lock_key,
                    "lock_pid": self._lock_pid,
                    "token": token,
                    "idle_timeout_ms": str(round(self.idle_timeout_seconds * 1000)),
                },
                row=_Fenced,
            )
            yield row is not None

    @contextlib.contextmanager
    def guard(self, token: int) -> Iterator[None]:
        with self.holds(token) as held:
            if not held:
                raise LockLostError(
                    f"the advisory lock was lost: pg_locks no longer shows it on backend"
                    f" {self._lock_pid}, or a newer run took the job's fencing token"
                    f" (ours was {token})"
                )
            yield
