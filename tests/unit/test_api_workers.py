"""The API's database threads (api/workers.py): the pool's timeout bounds the whole wait."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from assignment_reminders.api.pool import ApiPool
from assignment_reminders.api.workers import DbWorkers
from assignment_reminders.config import Settings
from assignment_reminders.exceptions import DatabaseError

SETTINGS = Settings.from_env(
    {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none", "REMINDERS_DB_POOL_MAX_SIZE": "2"}
)


def test_time_queued_for_a_thread_counts_against_the_pool_timeout() -> None:
    pool = ApiPool(SETTINGS)
    limit = SETTINGS.http.pool_timeout_seconds
    refused = pytest.raises(DatabaseError, match=f"no database connection within {limit:g} s")
    with refused, pool.connection(waited=limit):
        pass  # pragma: no cover - never reached
    assert pool.stats() == {}  # refused before asking the pool: it was never opened


class FakePool(ApiPool):
    def __init__(self) -> None:
        super().__init__(SETTINGS)
        self.waits: list[float] = []

    @contextmanager
    def connection(self, *, waited: float = 0.0) -> Iterator[object]:  # type: ignore[override]
        self.waits.append(waited)
        yield "conn"


def test_work_runs_in_a_worker_thread_with_a_pooled_connection() -> None:
    import threading

    pool = FakePool()
    workers = DbWorkers(pool)
    seen: list[tuple[object, str]] = []

    def work(conn: object) -> int:
        seen.append((conn, threading.current_thread().name))
        return 7

    async def main() -> list[int]:
        return await asyncio.gather(*(workers.run(work) for _ in range(5)))

    try:
        assert asyncio.run(main()) == [7] * 5
    finally:
        workers.stop()
    assert all(conn == "conn" and name.startswith("api-db") for conn, name in seen)
    assert len(pool.waits) == 5 and all(0 <= w < 5 for w in pool.waits)


HELD_S = 0.3  # how long the two threads are kept busy: the quantity under test, not a wait


def test_a_job_queued_behind_busy_threads_tells_the_pool_how_long_it_waited() -> None:
    import threading

    pool = FakePool()  # REMINDERS_DB_POOL_MAX_SIZE=2: two threads
    workers = DbWorkers(pool)
    release, busy = threading.Event(), threading.Semaphore(0)

    def hold(conn: object) -> int:
        busy.release()
        release.wait(10)
        return 1

    async def main() -> list[int]:
        jobs = [asyncio.ensure_future(workers.run(hold)) for _ in range(3)]
        for _ in range(2):  # both threads taken; the third job waits in the queue
            await asyncio.to_thread(busy.acquire)
        await asyncio.sleep(HELD_S)
        release.set()
        return await asyncio.gather(*jobs)

    try:
        assert asyncio.run(main()) == [1, 1, 1]
    finally:
        workers.stop()
    first, second, queued = pool.waits
    assert max(first, second) < HELD_S / 2
    assert queued >= HELD_S
