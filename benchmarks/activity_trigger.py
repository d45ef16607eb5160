"""What the trigger on activities costs: bulk and single inserts, deletes, and the seed beside it.

Run: ``python -m benchmarks.activity_trigger [--assignments N]`` (uses DATABASE_URL or the
embedded PostgreSQL; works in a scratch database it creates and drops). Each write is measured
with the user triggers on and, as the baseline, off (``DISABLE TRIGGER USER``), in a transaction
that is rolled back, so every row starts from the same seeded state.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import date

from assignment_reminders.database import Connection, connect
from assignment_reminders.migrations import migrate
from assignment_reminders.seed import seed
from assignment_reminders.tables import render

from . import options
from .scratch import scratch_database

TODAY = date(2026, 11, 28)

BULK = """
INSERT INTO activities (assignment_id, occurred_on, registration_path)
SELECT id, %(today)s::date - (id %% 5)::int, 'bulk' FROM assignments
"""
SINGLE = """
INSERT INTO activities (assignment_id, occurred_on) VALUES (%(id)s, %(today)s)
"""


def timed(conn: Connection, work: Callable[[], object], *, triggers: bool) -> float:
    """Milliseconds for *work* inside a transaction that is rolled back."""
    conn.execute("BEGIN")
    try:
        if not triggers:
            conn.execute("ALTER TABLE activities DISABLE TRIGGER USER")
        started = time.perf_counter()
        work()
        return (time.perf_counter() - started) * 1000
    finally:
        conn.execute("ROLLBACK")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=options.positive, default=100_000)
    parser.add_argument("--singles", type=options.positive, default=1000)
    args = parser.parse_args(argv)
    with scratch_database("bench_activities") as url:
        with connect(url, purpose="bench") as conn:
            migrate(conn)
            started = time.perf_counter()
            seed(conn, assignments=args.assignments, today=TODAY)
            seed_ms = (time.perf_counter() - started) * 1000
            conn.execute("ANALYZE")
            ids = [
                r["id"]
                for r in conn.execute(
                    "SELECT id FROM assignments ORDER BY id LIMIT %(n)s", {"n": args.singles}
                ).fetchall()
            ]

            def bulk() -> None:
                conn.execute(BULK, {"today": TODAY})

            def singles() -> None:
                for i in ids:
                    conn.execute(SINGLE, {"id": i, "today": TODAY})

            def bulk_then_delete() -> None:
                conn.execute(BULK, {"today": TODAY})
                conn.execute("DELETE FROM activities")

            rows = []
            for label, work, count in (
                (f"one INSERT of {args.assignments:,} activities", bulk, args.assignments),
                (f"{len(ids):,} single-row INSERTs", singles, len(ids)),
                ("that INSERT, then DELETE of all of them", bulk_then_delete, args.assignments),
            ):
                on = timed(conn, work, triggers=True)
                off = timed(conn, work, triggers=False)
                rows.append(
                    {
                        "work": label,
                        "with_trigger_ms": on,
                        "without_ms": off,
                        "per_row_us": (on - off) * 1000 / count,
                    }
                )
            rows.append(
                {
                    "work": f"seed {args.assignments:,} assignments (COPY, no trigger there)",
                    "with_trigger_ms": seed_ms,
                    "without_ms": None,
                    "per_row_us": None,
                }
            )
        print(
            render(
                rows,
                [
                    ("work", "work"),
                    ("with_trigger_ms", "with trigger ms"),
                    ("without_ms", "triggers off ms"),
                    ("per_row_us", "trigger cost µs/row"),
                ],
            )
        )


if __name__ == "__main__":
    main()
