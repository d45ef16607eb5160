"""Lock acquisition time, including opening the connection (the specification allows 50 ms).

Run: ``python -m benchmarks.lock_acquisition [--iterations N]`` (uses DATABASE_URL or the
embedded PostgreSQL). Baselines measured in the same run, on the same server: a bare connect and
a ``SELECT 1`` round trip, so the table shows what the lock itself adds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from assignment_reminders.config import Settings
from assignment_reminders.database import connect, database_url
from assignment_reminders.lock import LOCK_KEY, SessionAdvisoryLock, open_lock_connection
from assignment_reminders.migrations import migrate
from assignment_reminders.tables import render

BUDGET_MS = 50.0


def measure(fn: Callable[[], object], iterations: int) -> list[float]:
    fn()  # warm up
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args(argv)
    url = database_url(Settings.from_env())

    def bare_connect() -> None:
        connect(url, purpose="bench").close()

    def open_and_lock() -> None:
        with open_lock_connection(url) as conn:
            lock = SessionAdvisoryLock(conn, LOCK_KEY)
            assert lock.try_acquire()
            assert lock.release()

    with connect(url, purpose="bench") as conn:
        migrate(conn)

    with open_lock_connection(url) as lock_conn:
        lock = SessionAdvisoryLock(lock_conn, LOCK_KEY)

        def try_lock_only() -> None:
            assert lock.try_acquire()
            assert lock.release()

        with connect(url, purpose="bench") as held:
            results = {
                "SELECT 1 on an open connection (baseline)": measure(
                    lambda: held.execute("SELECT 1"),
                    args.iterations,
                ),
                "try lock + unlock on the open lock connection": measure(
                    try_lock_only, args.iterations
                ),
                "connect + close (baseline)": measure(bare_connect, args.iterations),
                "connect + SET ROLE + try lock + unlock + close": measure(
                    open_and_lock, args.iterations
                ),
            }
    rows = []
    for name, samples in results.items():
        ordered = sorted(samples)
        rows.append(
            {
                "what": name,
                "p50": statistics.median(ordered),
                "p95": ordered[int(len(ordered) * 0.95) - 1],
                "max": ordered[-1],
                "budget": "ok" if ordered[int(len(ordered) * 0.95) - 1] < BUDGET_MS else "OVER",
            }
        )
    print(f"lock acquisition, {args.iterations} iterations each (budget {BUDGET_MS:.0f} ms)")
    columns = (
        ("what", "what"),
        ("p50", "p50 ms"),
        ("p95", "p95 ms"),
        ("max", "max ms"),
        ("budget", "p95 vs 50 ms"),
    )
    print(render(rows, columns))


if __name__ == "__main__":
    main()
