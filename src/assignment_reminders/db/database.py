"""Opening connections: the one place that knows where the database is and how to talk to it."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import dict_row

from ..exceptions import DatabaseUnavailableError, first_line
from .embedded import embedded_database_url

if TYPE_CHECKING:
    from ..config import Settings

Connection = psycopg.Connection[dict[str, Any]]

# libpq keepalives bound how long a dead host can keep holding a session (docs/locking.md: ~2 h with
# OS defaults). Idle 10 s, then 3 probes 5 s apart; tcp_user_timeout 30 s for unacknowledged data.
KEEPALIVE_OPTIONS: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def database_url(settings: Settings) -> str:
    """The libpq connection string to use, starting the embedded server if that is the one."""
    if settings.database_url is not None:
        return settings.database_url.reveal()
    return embedded_database_url(settings.data_dir)


def lock_database_url(settings: Settings, url: str) -> str:
    """Where the lock connection goes: ``REMINDERS_LOCK_DATABASE_URL``, else *url* (the work's)."""
    return settings.lock.database_url.reveal() if settings.lock.database_url else url


def application_name(purpose: str) -> str:
    """``assignment-reminders/<purpose> <host>:<pid>``: what ``pg_stat_activity`` shows for us."""
    name = f"assignment-reminders/{purpose} {socket.gethostname()}:{os.getpid()}"
    return name[:63]  # NAMEDATALEN - 1


def connection_options(purpose: str, *, autocommit: bool = True) -> dict[str, Any]:
    """How every connection of ours is opened (also the API pool's, api/pool.py)."""
    return {
        "autocommit": autocommit,
        "row_factory": dict_row,
        "application_name": application_name(purpose),
        "connect_timeout": 10,
        "prepare_threshold": None,  # safe behind transaction poolers (docs/locking.md)
        **KEEPALIVE_OPTIONS,
    }


def connect(url: str, *, purpose: str, autocommit: bool = True) -> Connection:
    """Open a connection; errors carry where we tried to go, never the password."""
    from ..config import describe_database_url

    try:
        return psycopg.connect(url, **connection_options(purpose, autocommit=autocommit))
    except psycopg.Error as exc:
        raise DatabaseUnavailableError(
            f"cannot connect to {describe_database_url(url)}: {first_line(exc)}"
        ) from exc


DATABASE_FAULTS: tuple[type[Exception], ...] = (psycopg.OperationalError, DatabaseUnavailableError)
"""A database fault, as opposed to a statement the database refused: the server stopped or
restarted, the session was terminated, the network died (or a connection could not be opened)."""
