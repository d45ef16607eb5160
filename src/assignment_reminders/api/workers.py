"""The threads that do the API's database work: one per pool connection, fed from the event loop.

A plain ``def`` endpoint runs in FastAPI's thread pool (anyio: a capacity limiter and a
``queue.Queue`` per worker, both on Python locks), and with more requests in flight than pool
connections the surplus waits inside psycopg_pool, each waiter with a lock of its own. Under 32
concurrent clients those hand-offs took about a third of the server's CPU (py-spy, GIL samples).
Here an ``async def`` endpoint hands its work to a ``ThreadPoolExecutor`` (a C queue) with as
many threads as the pool has connections, so a thread that starts always finds one free; the
rest wait in the executor's queue. The pool's timeout still bounds the whole wait: time spent
queued counts against ``REMINDERS_DB_POOL_TIMEOUT_SECONDS``, then it is a 503.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ..db.database import Connection
from .pool import ApiPool

T = TypeVar("T")


class DbWorkers:
    """Started and stopped with the app (its lifespan), after the pool opens, before it closes."""

    def __init__(self, pool: ApiPool) -> None:
        self.pool = pool
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self.pool.settings.http.pool_max_size, thread_name_prefix="api-db"
            )

    def stop(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """``work(conn)`` in a worker thread on a pooled connection in autocommit (a
        :class:`~..exceptions.DatabaseError`, a 503, if none comes within the pool's timeout,
        counted from now)."""
        self.start()  # an app used without its lifespan (a test calling it directly)
        assert self._executor is not None
        queued = time.monotonic()

        def job() -> T:
            with self.pool.connection(waited=time.monotonic() - queued) as conn:
                return work(conn)

        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, context.run, job)
