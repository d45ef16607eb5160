"""Shared fixtures: a real PostgreSQL, a migrated template, and a fresh database per test.

The server is the one in ``DATABASE_URL`` when set, else an embedded PostgreSQL (pgserver) in a
temporary directory, stopped when the session ends. The template database is migrated once per
session; each test gets ``CREATE DATABASE ... TEMPLATE`` of it, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from assignment_reminders.config import Settings
from assignment_reminders.database import Connection, connect, with_dbname
from assignment_reminders.migrations import migrate

REPO = Path(__file__).resolve().parents[1]


def wait_for(predicate: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll *predicate* until it returns something truthy; fail the test after *timeout* s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


def private_data_dir() -> Path:
    """A directory for an embedded server, outside pytest's tmp tree.

    As root, pgserver runs PostgreSQL as an unprivileged user that must traverse the path, and
    every pytest session resets its tmp root to mode 0700, which would lock that user out.
    """
    return Path(tempfile.mkdtemp(prefix="assignment-reminders-test-"))


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from assignment_reminders.embedded import embedded_database_url, stop_embedded_database

    parent = private_data_dir()
    try:
        yield embedded_database_url(parent / "pgdata", keep_running=False)
    finally:
        stop_embedded_database(parent / "pgdata")
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    name = f"ar_template_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    with connect(with_dbname(pg_admin_url, name), purpose="test-migrate") as conn:
        migrate(conn)
    yield name
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def database_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    name = f"ar_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_db)
            )
        )
    yield with_dbname(pg_admin_url, name)
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def empty_database_url(pg_admin_url: str) -> Iterator[str]:
    """A database with no migrations applied."""
    name = f"ar_empty_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield with_dbname(pg_admin_url, name)
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings.from_env({"DATABASE_URL": database_url, "REMINDERS_BATCH_SIZE": "500"})


@pytest.fixture
def conn(database_url: str) -> Iterator[Connection]:
    with connect(database_url, purpose="test") as c:
        yield c


@pytest.fixture
def cli_env(database_url: str) -> dict[str, str]:
    """Environment for running ``reminders`` as a separate process against the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
    env.update(DATABASE_URL=database_url, PYTHONUNBUFFERED="1", REMINDERS_LOG_LEVEL="WARNING")
    return env


def reminders_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "assignment_reminders", *args]


def start_reminders(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """``reminders *args`` as a separate process, stdout and stderr captured as text."""
    return subprocess.Popen(
        reminders_cmd(*args),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def run_cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    def _run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            reminders_cmd(*args),
            check=False,
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return _run
