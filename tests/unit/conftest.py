"""tests/unit does no I/O: no sockets, no child processes, no database connections.

Every unit test runs with these refused (an ``OSError`` naming the rule; a database connection
fails as a database that is down would, which is what the API's 503 tests want). A test that
needs a real service belongs in tests/integration. ``make test-unit`` runs this directory alone:
no PostgreSQL, no network, seconds.
"""

from __future__ import annotations

import socket
import subprocess
from typing import Any, NoReturn

import psycopg
import pytest

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
