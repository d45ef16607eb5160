"""Is this connection a real session? The question a session-level advisory lock depends on.

A session lock belongs to a *backend*. Through a transaction pooler (PgBouncer
``pool_mode=transaction``, Supavisor port 6543) our client gets a backend per transaction and
the lock stays on whichever backend took it, where another client can inherit it
(docs/locking.md). So before a session lock is taken, :func:`check_real_session` finds out,
with no lock involved:

1. ``PQbackendPID`` (the pid the server announced when we connected) equals ``pg_backend_pid()``:
   nothing sits in between, a direct connection.
2. Otherwise a pooler does. A session pooler never hands a connected client's backend to anyone
   else, and keeps ours for us. So a probe client opens a transaction and asks for its backend
   (under a transaction pooler it usually gets ours: PgBouncer reuses the most recent server
   connection), then, while the probe pins its backend, we ask for ours again (it must not have
   changed). Either symptom means transaction pooling, and the lock is refused.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from psycopg import sql

from ..config import describe_database_url
from ..db.database import Connection, connect
from ..db.gateway import execute, fetch_value, named
from ..exceptions import TransactionPoolerError, first_line

_BACKEND_PID = named("backend_pid")

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class SessionCheck:
    kind: str
    """``direct`` or ``session-pooled``."""
    backend_pid: int


def backend_pid(conn: Connection) -> int:
    pid = fetch_value(conn, _BACKEND_PID, kind=int)
    assert pid is not None
    return pid


def refusal(url: str, why: str) -> TransactionPoolerError:
    return TransactionPoolerError(
        f"the lock connection to {describe_database_url(url)} is transaction-pooled ({why}):"
        " a session-level advisory lock is not safe there. Set REMINDERS_LOCK_SCOPE=transaction,"
        " or point REMINDERS_LOCK_DATABASE_URL at a real session: the direct connection"
        " (db.<project>.supabase.co:5432) or the session pooler (port 5432)",
        reason=why,
    )


def check_real_session(
    conn: Connection, url: str, *, probe_timeout: float = PROBE_TIMEOUT_SECONDS
) -> SessionCheck:
    """How *conn* (opened from *url*) reaches its backend; raises when it is transaction-pooled."""
    pid = backend_pid(conn)
    if conn.info.backend_pid == pid:
        return SessionCheck("direct", pid)
    probe = _Probe(url)
    probe.start()
    try:
        other = probe.backend_pid(probe_timeout)
        if other is None:
            raise refusal(
                url, f"a second client got no backend within {probe_timeout:g} s: undecided"
            )
        if other == pid:
            raise refusal(url, f"another client was given our backend (pid {pid})")
        again = backend_pid(conn)
        if again != pid:
            raise refusal(url, f"our backend changed between statements ({pid} -> {again})")
    finally:
        probe.finish()
    logger.debug("lock connection is session-pooled (backend %d)", pid)
    return SessionCheck("session-pooled", pid)


class _Probe:
    """A second client on its own thread, so a pooler with no free backend cannot hang us."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._answered = threading.Event()
        self._release = threading.Event()
        self._pid: int | None = None
        self._thread = threading.Thread(target=self._run, name="pooler-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def backend_pid(self, timeout: float) -> int | None:
        self._answered.wait(timeout)
        return self._pid

    def finish(self) -> None:
        self._release.set()
        self._thread.join(5.0)

    def _run(self) -> None:
        try:
            with connect(self.url, purpose="lock-probe") as probe:
                execute(probe, sql.SQL("BEGIN"))
                self._pid = backend_pid(probe)
                self._answered.set()
                self._release.wait(PROBE_TIMEOUT_SECONDS)
                execute(probe, sql.SQL("ROLLBACK"))
        except Exception as exc:
            logger.warning("pooler probe failed: %s", first_line(exc))
        finally:
            self._answered.set()
