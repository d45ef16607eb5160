"""tests/unit does no I/O: no sockets, no child processes, no database connections.

Every unit test runs with these refused (an ``OSError`` naming the rule; a database connection
fails as a database that is down would, which is what the API's 503 tests want). A test that
needs a real service belongs in tests/integration. ``make test-unit`` runs this directory alone:
no PostgreSQL, no network, seconds.

An app made without its lifespan (``TestClient(app)`` outside ``with``) opens its API pool at
the first request that needs the database and never closes it: the pool's threads would go on
reconnecting in the background, into later tests. Every pool a test opens is closed after it,
and every set of database threads stopped.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any, NoReturn

import psycopg
import pytest

from assignment_reminders.api.pool import ApiPool
from assignment_reminders.api.workers import DbWorkers

RULE = "tests/unit does no I/O (tests/unit/conftest.py): this test belongs in tests/integration"


def _refuse(*args: Any, **kwargs: Any) -> NoReturn:
    raise OSError(RULE)


def _no_database(*args: Any, **kwargs: Any) -> NoReturn:
    raise psycopg.OperationalError(f"connection refused ({RULE})")


@pytest.fixture(autouse=True)
def no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket.socket, "bind", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse)
    monkeypatch.setattr(psycopg.Connection, "connect", classmethod(_no_database))


@pytest.fixture(autouse=True)
def pools_closed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    pools: list[ApiPool] = []
    workers: list[DbWorkers] = []
    open_pool, start_workers = ApiPool.open, DbWorkers.start

    def open_and_remember(self: ApiPool) -> Any:
        pools.append(self)
        return open_pool(self)

    def start_and_remember(self: DbWorkers) -> None:
        workers.append(self)
        start_workers(self)

    monkeypatch.setattr(ApiPool, "open", open_and_remember)
    monkeypatch.setattr(DbWorkers, "start", start_and_remember)
    yield
    for w in workers:
        w.stop()
    for pool in pools:
        pool.close()
