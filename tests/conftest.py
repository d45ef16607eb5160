"""Shared fixtures: a real PostgreSQL, a migrated template, and a fresh database per test.

The server is the one in ``DATABASE_URL`` when set (its user must be a superuser), else an embedded
PostgreSQL (pgserver) in a temporary directory, stopped when the session ends. Every database is
shaped like a Supabase project first (tests/supabase_shape.sql: API roles, default privileges in
public, auth helpers, a host application's objects); the template is then migrated once per session
by ``project_postgres``, a non-superuser like Supabase's ``postgres``, and each test gets
``CREATE DATABASE ... TEMPLATE`` of it, owned by and connected as that role, dropped afterwards.
Tests that need a superuser ask for ``superuser_database_url`` or ``pg_admin_url``.
"""

from __future__ import annotations

import functools
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
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.migrations import migrate

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


@pytest.fixture(scope="session", autouse=True)
def throwaway_default_data_dir() -> Iterator[Path]:
    """The embedded server's default directory, for this session: never the developer's own.

    A test that builds settings without ``DATABASE_URL`` or ``REMINDERS_DATA_DIR`` falls back to
    the embedded server in the user data dir (``XDG_DATA_HOME``, which platformdirs reads on
    every call, and child processes inherit), and that server is left running by design. Here
    that directory is a throwaway one, created only if a test uses it, and stopped and removed
    at the end.
    """
    from assignment_reminders.config import default_data_dir
    from assignment_reminders.db.embedded import stop_embedded_database

    before = os.environ.get("XDG_DATA_HOME")
    home = Path(tempfile.gettempdir()) / f"assignment-reminders-xdg-{uuid.uuid4().hex[:12]}"
    os.environ["XDG_DATA_HOME"] = str(home)
    data_dir = default_data_dir()
    try:
        yield data_dir
    finally:
        if before is None:
            os.environ.pop("XDG_DATA_HOME", None)
        else:
            os.environ["XDG_DATA_HOME"] = before
        if home.exists():
            stop_embedded_database(data_dir)
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from assignment_reminders.db.embedded import embedded_database_url, stop_embedded_database

    parent = private_data_dir()
    try:
        yield embedded_database_url(parent / "pgdata", keep_running=False)
    finally:
        stop_embedded_database(parent / "pgdata")
        shutil.rmtree(parent, ignore_errors=True)


SHAPE_SQL = Path(__file__).with_name("supabase_shape.sql")
# Plays Supabase's `postgres`: owns the database, applies the migrations, is not a superuser.
PROJECT_ROLE = "project_postgres"


def as_user(url: str, user: str) -> str:
    """The same database and server, connecting as *user* (with the URL's password, if any)."""
    params = conninfo_to_dict(url)
    params["user"] = user
    return make_conninfo("", **params)


def with_dbname(url: str, dbname: str) -> str:
    """The same connection string, pointing at another database on the same server."""
    params = conninfo_to_dict(url)
    params["dbname"] = dbname
    return make_conninfo("", **params)


def admin_url_for(url: str, pg_admin_url: str) -> str:
    """*url*'s database as the server's superuser (for the few tests that need one)."""
    return with_dbname(pg_admin_url, str(conninfo_to_dict(url)["dbname"]))


def _create_database(pg_admin_url: str, prefix: str, template: str | None = None) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        stmt += sql.SQL(" TEMPLATE {} OWNER {}").format(
            sql.Identifier(template), sql.Identifier(PROJECT_ROLE)
        )
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(stmt)
    return name


def _drop_database(pg_admin_url: str, name: str) -> None:
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _create_shaped_database(pg_admin_url: str, prefix: str) -> str:
    """A new database shaped like a new Supabase project (tests/supabase_shape.sql); its name."""
    name = _create_database(pg_admin_url, prefix)
    with psycopg.connect(with_dbname(pg_admin_url, name), autocommit=True) as conn:
        conn.execute(SHAPE_SQL.read_bytes())
    return name


@pytest.fixture(scope="session")
def supabase_shape_db(pg_admin_url: str) -> Iterator[str]:
    """An unmigrated database shaped like a new Supabase project (tests/supabase_shape.sql)."""
    name = _create_shaped_database(pg_admin_url, "ar_shape")
    yield name
    _drop_database(pg_admin_url, name)


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str, supabase_shape_db: str) -> Iterator[str]:
    """The Supabase-shaped database with our migrations applied by the non-superuser owner."""
    name = _create_database(pg_admin_url, "ar_template", supabase_shape_db)
    url = as_user(with_dbname(pg_admin_url, name), PROJECT_ROLE)
    with connect(url, purpose="test-migrate") as conn:
        migrate(conn)
    yield name
    _drop_database(pg_admin_url, name)


@pytest.fixture
def database_url(pg_admin_url: str, template_db: str) -> Iterator[str]:
    """A fresh migrated Supabase-shaped database, as the project's (non-superuser) owner."""
    name = _create_database(pg_admin_url, "ar_test", template_db)
    yield as_user(with_dbname(pg_admin_url, name), PROJECT_ROLE)
    _drop_database(pg_admin_url, name)


@pytest.fixture
def superuser_database_url(database_url: str, pg_admin_url: str) -> str:
    """The test database as the server's superuser."""
    return admin_url_for(database_url, pg_admin_url)


@pytest.fixture
def empty_database_url(pg_admin_url: str, supabase_shape_db: str) -> Iterator[str]:
    """A Supabase-shaped database with no migrations applied, as the project's owner."""
    name = _create_database(pg_admin_url, "ar_empty", supabase_shape_db)
    yield as_user(with_dbname(pg_admin_url, name), PROJECT_ROLE)
    _drop_database(pg_admin_url, name)


@pytest.fixture
def plain_database_url(pg_admin_url: str) -> Iterator[str]:
    """A plain PostgreSQL database (no auth schema, no default privileges), as the superuser."""
    name = _create_database(pg_admin_url, "ar_plain")
    yield with_dbname(pg_admin_url, name)
    _drop_database(pg_admin_url, name)


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
    return reminders_env(database_url, PYTHONUNBUFFERED="1", REMINDERS_LOG_LEVEL="WARNING")


def reminders_env(database_url: str, **extra: str) -> dict[str, str]:
    """This process's environment without its ``REMINDERS_*`` settings, on *database_url*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REMINDERS_")}
    return {**env, "DATABASE_URL": database_url, **extra}


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


def run_reminders(
    env: dict[str, str], *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``reminders *args`` to its end, stdout and stderr captured as text (any exit code)."""
    return subprocess.run(
        reminders_cmd(*args),
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def run_cli(cli_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    return functools.partial(run_reminders, cli_env)
