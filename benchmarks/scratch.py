"""Databases for benchmarks: the server to use, and throwaway databases on it."""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from tests.conftest import reminders_env, with_dbname


def cli_env(url: str, **extra: str) -> dict[str, str]:
    """What a benchmark gives a ``reminders`` process on *url*: this process's environment
    without its ``REMINDERS_*`` settings, warnings and worse logged, and *extra*."""
    return reminders_env(url, REMINDERS_LOG_LEVEL="WARNING", **extra)


@contextmanager
def server() -> Iterator[str]:
    """``DATABASE_URL``, or an embedded PostgreSQL in a temporary directory, stopped after."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    from assignment_reminders.db.embedded import embedded_database_url, stop_embedded_database

    with tempfile.TemporaryDirectory(prefix="reminders-bench-") as tmp:
        data_dir = Path(tmp) / "pgdata"
        try:
            yield embedded_database_url(data_dir, keep_running=True)  # stopped here, not at exit
        finally:
            # before its directory goes: stopped at exit instead, pg_ctl found no directory and
            # the server ran on until it missed its lock file, a minute into the next benchmark
            stop_embedded_database(data_dir)


class Databases:
    """Creates databases on the server and drops them all at the end."""

    def __init__(self, admin_url: str, prefix: str = "bench") -> None:
        self.admin_url = admin_url
        self.prefix = prefix
        self.created: list[str] = []

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(statement)

    def create(self, template: str | None = None) -> str:
        """A new database (empty, or a copy of *template*); returns its URL."""
        name = f"{self.prefix}_{uuid.uuid4().hex[:10]}"
        if template is None:
            self._admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            self._admin(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY file_copy").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        self.created.append(name)
        return with_dbname(self.admin_url, name)

    def name_of(self, url: str) -> str:
        return str(conninfo_to_dict(url)["dbname"])

    def drop(self, url: str) -> None:
        """Drop one of the databases created here (and with it any autovacuum work on it)."""
        self._drop(self.name_of(url))

    def drop_all(self) -> None:
        for name in list(self.created):
            self._drop(name)

    def _drop(self, name: str) -> None:
        self._admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        self.created.remove(name)


@contextmanager
def scratch_database(prefix: str = "bench", *, admin_url: str | None = None) -> Iterator[str]:
    """One empty database for a benchmark, dropped afterwards; yields its URL.

    On *admin_url*'s server, else on :func:`server` (``DATABASE_URL``, or a throwaway embedded
    PostgreSQL): a benchmark never touches the user's own embedded database or any existing one.
    """
    with ExitStack() as stack:
        databases = Databases(admin_url or stack.enter_context(server()), prefix)
        try:
            yield databases.create()
        finally:
            databases.drop_all()


def measure(fn: Callable[[], object], iterations: int) -> list[float]:
    """Milliseconds per call of *fn*, *iterations* times after one warm-up call."""
    fn()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p50_p95(samples: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, math.ceil(len(ordered) * 0.95) - 1)]
