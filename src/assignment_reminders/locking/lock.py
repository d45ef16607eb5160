"""The advisory lock that keeps the reminder run single-flight.

The key
-------
``LOCK_KEY`` is the first 8 bytes of ``sha256(b"assignment-reminder-cron")`` read big-endian with
the top bit cleared (a positive bigint): stable across releases and machines, and derived from the
job's name so a new job gets its own key by construction rather than by someone picking
``12345678``. It is pinned here *and* registered in
``reminders.background_job_lock_keys`` (unique key, unique job name), so no other background
process can claim it; a test keeps the three in step.
In ``pg_locks`` it shows as ``classid = 1439926592, objid = 2250578414, objsubid = 1``.

The lock
--------
Never the blocking form, always through SQL wrappers only ``service_role`` may execute, on a
dedicated connection held for the whole run and used for nothing else. Two scopes
(``REMINDERS_LOCK_SCOPE``; the evaluation is docs/adr/0001-lock-scope.md):

* ``session`` (:class:`SessionAdvisoryLock`, the default): ``pg_try_advisory_lock``. Before it is
  taken, :func:`~.pooler_check.check_real_session` proves the connection is a real session
  (direct or session-pooled) and refuses a transaction pooler; after, ``pg_locks`` must show the
  lock on our ``pg_backend_pid()``. A session lock ends when its session does, so a crashed run
  leaves nothing.
* ``transaction`` (:class:`TransactionAdvisoryLock`): ``pg_try_advisory_xact_lock`` inside one
  explicit transaction kept open on the lock connection for the whole run: what works through a
  transaction pooler, which pins one backend to a client for as long as its transaction lasts.

Either way a :class:`~.heartbeat.Heartbeat` confirms the lock every few seconds and keeps the
server-side idle timeout of the lock session (``idle_session_timeout`` /
``idle_in_transaction_session_timeout``) from firing, so a hung holder loses the lock within
that timeout, and the run stops at the next batch (:meth:`JobLock.checkpoint`) when the lock is
gone. libpq keepalives and ``tcp_user_timeout`` (database.py) bound how long a vanished host
holds it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Final

from psycopg import sql

from ..db.database import Connection
from ..db.gateway import execute, fetch_one, named
from ..exceptions import (
    ConfigurationError,
    DatabaseError,
    DatabasePermissionError,
    DatabaseUnavailableError,
    LockError,
    ReminderError,
    SchemaMissingError,
    first_line,
)
from .heartbeat import Heartbeat
from .job_lock import JobLock
from .pooler_check import check_real_session, refusal

_LOCK_BEAT = named("lock_beat")
_LOCK_ROLE = named("lock_role")
_ROLLBACK = sql.SQL("ROLLBACK")
_SESSION_LOCK_TRY = named("session_lock_try")
_SESSION_UNLOCK = named("session_unlock")
_XACT_LOCK_TRY = named("xact_lock_try")


@dataclass(frozen=True)
class _Beat:
    """``lock_beat``: the lock connection's backend, and whether pg_locks shows it holding."""

    pid: int
    held: bool


@dataclass(frozen=True)
class _Taken:
    """``xact_lock_try``: whether the lock was won, on which backend."""

    acquired: bool
    pid: int


@dataclass(frozen=True)
class _SessionTaken:
    """``session_lock_try``: won, on which backend, undone (not the expected one), held."""

    acquired: bool
    pid: int
    undone: bool
    held: bool


@dataclass(frozen=True)
class _Released:
    """``session_unlock``."""

    released: bool


@dataclass(frozen=True)
class _Role:
    """``lock_role``: whether the login is *role*, the role exists, and SET ROLE may reach it."""

    is_role: bool
    known: bool
    may_set: bool


logger = logging.getLogger(__name__)

LOCK_KEY: Final = 6184437623531313646
"""``derive_lock_key("assignment-reminder-cron")``; see the module docstring."""


def derive_lock_key(job_name: str) -> int:
    """The advisory-lock key of a job: sha256 of its name, first 8 bytes, top bit cleared."""
    digest = hashlib.sha256(job_name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


@dataclass(frozen=True)
class LockTiming:
    """How often the heartbeat beats, and how long a silent lock session lives on the server."""

    heartbeat_seconds: float = 5.0
    idle_timeout_seconds: float = 30.0

    @property
    def idle_timeout_ms(self) -> str:
        return str(round(self.idle_timeout_seconds * 1000))


class _AdvisoryLock:
    """What both scopes share: the connection, the heartbeat and the lock checks."""

    scope = ""

    _prepared = False

    def __init__(
        self,
        conn: Connection,
        key: int,
        *,
        url: str | None = None,
        role: str | None = None,
        timing: LockTiming | None = None,
    ) -> None:
        self.conn = conn
        self.key = key
        self.url = url
        self.role = role
        self.timing = timing or LockTiming()
        self._backend_pid: int | None = None
        self._heartbeat: Heartbeat | None = None

    @property
    def backend_pid(self) -> int | None:
        return self._backend_pid

    def checkpoint(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.checkpoint()

    def pause(self, seconds: float) -> None:
        if self._heartbeat is not None:
            self._heartbeat.pause(seconds)
        else:
            time.sleep(seconds)

    def _beat(self) -> str | None:
        row = fetch_one(self.conn, _LOCK_BEAT, {"lock_key": self.key}, row=_Beat)
        if row is None:
            return "the heartbeat query returned nothing"
        if row.pid != self._backend_pid:
            return f"the lock connection moved from backend {self._backend_pid} to {row.pid}"
        if not row.held:
            return f"pg_locks no longer shows the lock on backend {self._backend_pid}"
        return None

    def _held_on(self, pid: int) -> None:
        """The lock is ours on backend *pid*: beat from now on to keep confirming it."""
        self._backend_pid = pid
        self._heartbeat = Heartbeat(self._beat, interval=self.timing.heartbeat_seconds)
        self._heartbeat.start()

    def _stop_heartbeat(self) -> bool:
        """Stop beating; True when the lock was never reported lost."""
        if self._heartbeat is None:
            return True
        self._heartbeat.stop()
        lost = self._heartbeat.lost_reason
        self._heartbeat = None
        return lost is None

    def _settings(self, *, local: bool, timeout: str) -> sql.Composed:
        """``SET [LOCAL] ROLE ...; SET [LOCAL] <timeout> = ...``: one round trip, no parameters."""
        scope = sql.SQL("SET LOCAL " if local else "SET ")
        statements = [
            sql.SQL("{}{} = {}").format(
                scope, sql.Identifier(timeout), sql.Literal(self.timing.idle_timeout_ms)
            )
        ]
        if self.role is not None:
            statements.insert(0, sql.SQL("{}ROLE {}").format(scope, sql.Identifier(self.role)))
        return sql.SQL("; ").join(statements)

    def _wrap(self, exc: DatabaseError, what: str) -> ReminderError:
        """The gateway's error, said from the lock's side: a missing grant names the role to
        use; a lost connection stays a database fault; a missing schema still says migrate."""
        if isinstance(exc, DatabasePermissionError):
            return LockError(
                f"the lock connection may not {what}: connect as a role that is (or may SET ROLE"
                " to) service_role"
            )
        if isinstance(exc, SchemaMissingError | DatabaseUnavailableError):
            return exc
        cause = exc.__cause__
        return DatabaseError(f"could not {what}: {first_line(cause) if cause else exc.message}")


class SessionAdvisoryLock(_AdvisoryLock):
    """A session-level advisory lock on a connection dedicated to it, verified to be ours."""

    scope = "session"

    _expected_pid: int | None = None

    def prepare(self) -> None:
        """Make the connection fit for a session lock, before (and outside the timing of) the try.

        With a *url*, proves the connection is a real session first: raises
        :class:`TransactionPoolerError`, having taken no lock and set nothing, when it is not.
        Then assumes the role and sets ``idle_session_timeout`` on this session.
        """
        try:
            if self.url is not None:
                self._expected_pid = check_real_session(self.conn, self.url).backend_pid
            execute(self.conn, self._settings(local=False, timeout="idle_session_timeout"))
        except DatabaseError as exc:
            raise self._wrap(exc, "prepare the lock connection") from exc.__cause__
        self._prepared = True

    def try_acquire(self) -> bool:
        """``pg_try_advisory_lock``: one statement, answers at once, never waits for the holder.

        The same statement reads ``pg_locks`` and, should the lock have landed on another backend
        than the one :meth:`prepare` vouched for, unlocks it there again: a refusal leaves nothing.
        """
        if not self._prepared:
            self.prepare()
        try:
            row = fetch_one(
                self.conn,
                _SESSION_LOCK_TRY,
                {"lock_key": self.key, "expected_pid": self._expected_pid},
                row=_SessionTaken,
            )
        except DatabaseError as exc:
            raise self._wrap(exc, "take the advisory lock") from exc.__cause__
        assert row is not None
        if not row.acquired:
            return False
        if row.undone:
            raise refusal(
                self.url or "the lock connection",
                f"the lock was taken on backend {row.pid}, not on ours ({self._expected_pid})",
            )
        if not row.held:
            self.release()
            raise LockError(f"pg_locks does not show the lock on our backend {row.pid}")
        self._held_on(row.pid)
        return True

    def release(self) -> bool:
        """``pg_advisory_unlock``; False means the lock was not ours any more (or never was)."""
        confirmed = self._stop_heartbeat()
        try:
            row = fetch_one(self.conn, _SESSION_UNLOCK, {"lock_key": self.key}, row=_Released)
        except DatabaseError as exc:
            # The connection is gone, and with it the session and its lock: not ours to release.
            logger.error("advisory unlock failed, the lock connection is broken: %s", exc)
            return False
        return confirmed and bool(row and row.released)


class TransactionAdvisoryLock(_AdvisoryLock):
    """``pg_try_advisory_xact_lock`` in one explicit transaction held open for the whole run."""

    scope = "transaction"

    def prepare(self) -> None:
        """Open the lock transaction: role and idle timeout ``SET LOCAL``, in one round trip."""
        statements = sql.SQL("BEGIN; {}").format(
            self._settings(local=True, timeout="idle_in_transaction_session_timeout")
        )
        try:
            execute(self.conn, statements)
        except DatabaseError as exc:
            self._end_transaction()
            raise self._wrap(exc, "open the lock transaction") from exc.__cause__
        self._prepared = True

    def try_acquire(self) -> bool:
        """``pg_try_advisory_xact_lock`` in the open transaction; ends it when not won."""
        if not self._prepared:
            self.prepare()
        try:
            row = fetch_one(self.conn, _XACT_LOCK_TRY, {"lock_key": self.key}, row=_Taken)
        except DatabaseError as exc:
            self._end_transaction()
            raise self._wrap(exc, "take the advisory lock") from exc.__cause__
        if not (row and row.acquired):
            self._end_transaction()
            return False
        self._held_on(row.pid)
        return True

    def release(self) -> bool:
        """End the transaction; True when the lock was still ours up to that moment."""
        confirmed = self._stop_heartbeat()
        try:
            still = self._beat() is None
        except DatabaseError as exc:
            logger.error(
                "the lock connection is broken; its transaction and lock are gone: %s", exc
            )
            self._prepared = False
            return False
        return self._end_transaction() and confirmed and still

    def _end_transaction(self) -> bool:
        self._prepared = False
        try:
            execute(self.conn, _ROLLBACK)  # nothing was written: rollback ends it cheapest
        except DatabaseError as exc:
            logger.error("could not end the lock transaction: %s", exc)
            return False
        return True


def assumable_role(conn: Connection, role: str, *, required: bool = False) -> str | None:
    """*role* when the login is not already it but may ``SET ROLE`` to it, else None.

    *required*: a role the database does not have is a configuration error (REMINDERS_LOCK_ROLE),
    not something to ignore silently.
    """
    row = fetch_one(conn, _LOCK_ROLE, {"role": role}, row=_Role)
    if required and (row is None or not row.known):
        raise ConfigurationError(
            f"REMINDERS_LOCK_ROLE is {role!r}, a role this database does not have: set it to an"
            " existing role, or create it (on a new database, run `reminders migrate` first)"
        )
    return role if row and not row.is_role and row.may_set else None


def open_job_lock(
    conn: Connection, url: str, *, scope: str, role: str, timing: LockTiming
) -> JobLock:
    """The lock of the configured *scope* on the dedicated lock connection *conn*."""
    assume = assumable_role(conn, role, required=True)
    lock: SessionAdvisoryLock | TransactionAdvisoryLock
    if scope == "transaction":
        lock = TransactionAdvisoryLock(conn, LOCK_KEY, url=url, role=assume, timing=timing)
    else:
        lock = SessionAdvisoryLock(conn, LOCK_KEY, url=url, role=assume, timing=timing)
    lock.prepare()  # before the timed try: pooler check, role, timeouts
    return lock
