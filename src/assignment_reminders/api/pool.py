"""The API's connection pool (psycopg_pool): one per process, opened when the app starts,
closed when it stops, its figures in ``/metrics``.

A request borrows a connection instead of opening one (a new connection costs a few ms of
round trips, TLS and authentication; a borrowed one costs a check). Safe behind transaction
poolers such as Supavisor or PgBouncer: no server-side prepared statements
(``prepare_threshold=None``), autocommit, every request's work in one explicit transaction.

The pool opens without waiting for the database, so the server starts and answers ``/health``
while the database is down; a request then waits at most ``REMINDERS_DB_POOL_TIMEOUT_SECONDS``
for a connection and gets a 503. Each borrowed connection is checked first (a dead one, after a
database restart, is replaced), and the pool keeps trying to reconnect in the background, so it
recovers by itself when the database returns.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from ..config import Settings
from ..db.database import Connection, connection_options, database_url
from ..exceptions import DatabaseError

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from psycopg_pool import ConnectionPool


def _no_connection(limit: float) -> DatabaseError:
    return DatabaseError(
        f"no database connection within {limit:g} s"
        " (the database is down or every connection is busy)"
    )


class ApiPool:
    """Created with the app; :meth:`open` at start-up (or at the first request), :meth:`close`
    at shutdown."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: ConnectionPool[Connection] | None = None
        self._lock = threading.Lock()

    def open(self) -> ConnectionPool[Connection]:
        with self._lock:
            if self._pool is None:
                from psycopg_pool import ConnectionPool  # imported by the API only

                s = self.settings.http
                pool: ConnectionPool[Connection] = ConnectionPool(
                    database_url(self.settings),
                    min_size=s.pool_min_size,
                    max_size=s.pool_max_size,
                    timeout=s.pool_timeout_seconds,
                    kwargs=connection_options("api"),
                    check=ConnectionPool.check_connection,
                    name="api",
                    open=False,
                )
                pool.open(wait=False)  # the database may be down: start anyway
                self._pool = pool
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    @contextmanager
    def connection(self, *, waited: float = 0.0) -> Iterator[Connection]:
        """A connection for one request; :class:`DatabaseError` (a 503) if none comes in time.
        *waited*: seconds the request already waited for a thread (api/workers.py), which
        count against the timeout."""
        from psycopg_pool import PoolTimeout

        limit = self.settings.http.pool_timeout_seconds
        if waited >= limit:
            raise _no_connection(limit)
        try:
            with self.open().connection(timeout=limit - waited) as conn:
                yield conn
        except PoolTimeout as exc:
            raise _no_connection(limit) from exc

    def stats(self) -> dict[str, int]:
        pool = self._pool
        return pool.get_stats() if pool is not None else {}


class PoolCollector(Collector):
    """``reminders_db_pool_*``: the pool's size and use, read from psycopg_pool at scrape time."""

    GAUGES = (
        ("pool_size", "reminders_db_pool_connections", "Connections the pool holds now."),
        ("pool_available", "reminders_db_pool_connections_idle", "Idle connections in the pool."),
        ("pool_max", "reminders_db_pool_connections_max", "REMINDERS_DB_POOL_MAX_SIZE."),
        ("requests_waiting", "reminders_db_pool_requests_waiting", "Requests waiting now."),
    )
    COUNTERS = (
        ("requests_num", "reminders_db_pool_requests", "Connections asked of the pool."),
        ("requests_errors", "reminders_db_pool_request_errors", "Requests that got none."),
        ("connections_num", "reminders_db_pool_connects", "Connections the pool opened."),
        ("connections_errors", "reminders_db_pool_connect_errors", "Failed connection attempts."),
        ("connections_lost", "reminders_db_pool_connections_lost", "Connections found broken."),
    )

    def __init__(self, pool: ApiPool) -> None:
        self.pool = pool

    def collect(self) -> Iterable[Metric]:
        stats: dict[str, Any] = self.pool.stats()
        for key, name, doc in self.GAUGES:
            gauge = GaugeMetricFamily(name, doc)
            gauge.add_metric([], float(stats.get(key, 0)))
            yield gauge
        for key, name, doc in self.COUNTERS:
            counter = CounterMetricFamily(name, doc)
            counter.add_metric([], float(stats.get(key, 0)))
            yield counter
