"""The advisory lock that keeps the reminder run single-flight.

The key
-------
``LOCK_KEY`` is the first 8 bytes of ``sha256(b"assignment-reminder-cron")`` read big-endian with
the top bit cleared (a positive bigint): stable across releases and machines, and derived from the
job's name so a new job gets its own key by construction rather than by someone picking
``12345678``. It is pinned here *and* registered in ``public.background_job_lock_keys`` (unique key,
unique job name), so no other background process can claim it; a test keeps the three in step.
In ``pg_locks`` it shows as ``classid = 1439926592, objid = 2250578414, objsubid = 1``.

The lock
--------
Taken with ``pg_try_advisory_lock`` (never the blocking form) through the SQL wrappers
``public.reminders_try_advisory_lock`` / ``public.reminders_advisory_unlock``, which only
``service_role`` may execute, on a dedicated connection held for the whole run and used for
nothing else. A session lock ends when its session does, so a crashed run leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Final, Protocol

import psycopg
from psycopg import sql

from .database import Connection, connect
from .exceptions import DatabaseError, LockError
from .queries import query

logger = logging.getLogger(__name__)

LOCK_KEY: Final = 6184437623531313646
"""``derive_lock_key("assignment-reminder-cron")``; see the module docstring."""


def derive_lock_key(job_name: str) -> int:
    """The advisory-lock key of a job: sha256 of its name, first 8 bytes, top bit cleared."""
    digest = hashlib.sha256(job_name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def key_halves(key: int) -> tuple[int, int]:
    """``(classid, objid)`` as ``pg_locks`` shows a bigint key."""
    return (key >> 32) & 0xFFFF_FFFF, key & 0xFFFF_FFFF


@dataclass(frozen=True)
class LockHolder:
    """Who holds the lock, from ``pg_locks`` joined to ``pg_stat_activity``."""

    pid: int
    application_name: str | None
    client_addr: str | None
    backend_start: object | None


class JobLock(Protocol):
    """What the cron trigger needs of a lock. Tests supply their own."""

    key: int

    def try_acquire(self) -> bool: ...

    def release(self) -> bool: ...

    @property
    def backend_pid(self) -> int | None: ...


class SessionAdvisoryLock:
    """A session-level advisory lock on a connection dedicated to it."""

    def __init__(self, conn: Connection, key: int) -> None:
        self.conn = conn
        self.key = key
        self._backend_pid: int | None = None

    @property
    def backend_pid(self) -> int | None:
        return self._backend_pid

    def try_acquire(self) -> bool:
        """``pg_try_advisory_lock``: answers at once, never waits for the holder."""
        try:
            row = self.conn.execute(query("lock_try"), {"lock_key": self.key}).fetchone()
        except psycopg.errors.InsufficientPrivilege as exc:
            raise LockError(
                "the lock connection may not execute public.reminders_try_advisory_lock: "
                "connect as a role that is (or may SET ROLE to) service_role"
            ) from exc
        except psycopg.Error as exc:
            raise DatabaseError(
                f"could not try the advisory lock: {exc.diag.message_primary}"
            ) from exc
        acquired = bool(row and row["acquired"])
        if acquired:
            self._backend_pid = self.conn.info.backend_pid
        return acquired

    def is_held(self) -> bool:
        """Whether ``pg_locks`` shows the lock granted to this connection's backend."""
        row = self.conn.execute(query("lock_held_by_me"), {"lock_key": self.key}).fetchone()
        return bool(row and row["held"])

    def release(self) -> bool:
        """``pg_advisory_unlock``; False means the lock was not ours any more (or never was)."""
        try:
            row = self.conn.execute(query("lock_release"), {"lock_key": self.key}).fetchone()
        except psycopg.Error as exc:
            # The connection is gone, and with it the session and its lock: not ours to release.
            logger.error("advisory unlock failed, the lock connection is broken: %s", exc)
            return False
        return bool(row and row["released"])


def open_lock_connection(url: str, *, role: str = "service_role") -> Connection:
    """A connection for the lock and nothing else, running as *role* when the login may."""
    conn = connect(url, purpose="lock")
    try:
        row = conn.execute(
            "SELECT current_user = %(role)s AS is_role,"
            " EXISTS (SELECT FROM pg_roles WHERE rolname = %(role)s)"
            "   AND pg_has_role(current_user, %(role)s, 'MEMBER') AS may_set",
            {"role": role},
        ).fetchone()
        if row and not row["is_role"] and row["may_set"]:
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    except psycopg.Error as exc:
        conn.close()
        raise DatabaseError(f"could not prepare the lock connection: {exc}") from exc
    return conn


def timed_try_acquire(lock: JobLock) -> tuple[bool, float]:
    """Try the lock; return whether we won and how long the attempt took, in milliseconds."""
    started = time.perf_counter()
    acquired = lock.try_acquire()
    return acquired, (time.perf_counter() - started) * 1000
