"""Lock acquisition time, including opening the connection (the specification allows 50 ms).

Run: ``python -m benchmarks.lock_acquisition [--iterations N]``, on a scratch database of the
server in DATABASE_URL or of a throwaway embedded PostgreSQL (never an existing database: the
lock taken is the job's own key). Baselines measured in the same run, on the same server: a bare
connect and a ``SELECT 1`` round trip, so the table shows what the lock itself adds.
"""

from __future__ import annotations

import argparse

from tests.locks import open_lock_connection

from assignment_reminders.db.database import connect
from assignment_reminders.db.migrations import migrate
from assignment_reminders.locking.lock import LOCK_KEY, SessionAdvisoryLock
from assignment_reminders.tables import render

from . import options
from .scratch import measure, p50_p95, scratch_database

BUDGET_MS = 50.0


def measure_all(url: str, iterations: int) -> dict[str, list[float]]:
    with connect(url, purpose="bench") as conn:
        migrate(conn)

    def bare_connect() -> None:
        connect(url, purpose="bench").close()

    def open_and_lock() -> None:
        with open_lock_connection(url) as conn:
            lock = SessionAdvisoryLock(conn, LOCK_KEY)
            assert lock.try_acquire()
            assert lock.release()

    with (
        open_lock_connection(url) as lock_conn,
        connect(url, purpose="bench") as held,
    ):
        lock = SessionAdvisoryLock(lock_conn, LOCK_KEY)

        def try_lock_only() -> None:
            assert lock.try_acquire()
            assert lock.release()

        return {
            "SELECT 1 on an open connection (baseline)": measure(
                lambda: held.execute("SELECT 1"), iterations
            ),
            "try lock + unlock on the open lock connection": measure(try_lock_only, iterations),
            "connect + close (baseline)": measure(bare_connect, iterations),
            "connect + SET ROLE + try lock + unlock + close": measure(open_and_lock, iterations),
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=options.positive, default=200)
    args = parser.parse_args(argv)
    with scratch_database("bench_lock") as url:
        results = measure_all(url, args.iterations)
    rows = []
    for name, samples in results.items():
        p50, p95 = p50_p95(samples)
        rows.append(
            {
                "what": name,
                "p50": p50,
                "p95": p95,
                "max": max(samples),
                "budget": "ok" if p95 < BUDGET_MS else "OVER",
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
