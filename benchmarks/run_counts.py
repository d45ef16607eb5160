"""What the run's counts cost: ``python -m benchmarks.run_counts [--assignments 250000]``.

The ledger's statement-level triggers keep each run's ``reminders_created`` and
``escalations_created``. This times the pass's first batch of 100,000
due rows with them and with them disabled (``ALTER TABLE ... DISABLE TRIGGER``), alternating, each
on a fresh copy of the same seeded database after a ``CHECKPOINT``, and prints every figure and
the medians; then, ``EXPLAIN (ANALYZE)`` of the first batch statement on another copy, the time
PostgreSQL reports inside each trigger (the figure that the load of a shared machine disturbs
least). The server is ``DATABASE_URL`` (a role that may create databases) or an embedded one.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import date

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.gateway import named
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.reminder_pass import ReminderPass
from assignment_reminders.locking.lock import LOCK_KEY

from . import options
from .run import NOW, seeded
from .scratch import Databases, server

BATCH = 100_000
_SCHEDULE_BATCH = named("schedule_batch")
_BATCH_BEGINS = named("pass_batch_begins")
TRIGGERS = ("run_counts_on_dispatch", "run_counts_on_dispatch_delete")


def _running_row(conn: Connection) -> int:
    row = conn.execute(
        "INSERT INTO reminders.cron_execution_logs (job_name, invocation_id, status,"
        " started_at, lock_key, host, pid) VALUES ('bench', gen_random_uuid(), 'running',"
        " now(), %s, 'bench', 0) RETURNING id",
        (LOCK_KEY,),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def trigger_ms(url: str) -> dict[str, float]:
    """Milliseconds PostgreSQL reports inside each trigger of the first batch's statement."""
    with connect(url, purpose="bench-run-counts") as conn:
        run_id = _running_row(conn)
        with conn.transaction():
            conn.execute(_BATCH_BEGINS.sql)
            row = conn.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + _SCHEDULE_BATCH.sql,
                {
                    "after_due": date.min,
                    "after_id": 0,
                    "batch_size": BATCH,
                    "now": NOW,
                    "run_id": run_id,
                    "channels": [],
                },
            ).fetchone()
            assert row is not None
            [plan] = row["QUERY PLAN"]
            return {t["Trigger Name"]: float(t["Time"]) for t in plan.get("Triggers", [])}


def first_batch_seconds(url: str, *, with_counts: bool) -> tuple[float, int]:
    """The first batch's seconds and how many reminders it wrote, on the database at *url*."""
    with connect(url, purpose="bench-run-counts") as conn:
        if not with_counts:
            for name in TRIGGERS:
                conn.execute(f"ALTER TABLE reminders.reminder_dispatches DISABLE TRIGGER {name}")
        run_id = _running_row(conn)
        conn.execute("CHECKPOINT")
        marks: list[tuple[float, RunCounts]] = []
        started = time.perf_counter()
        ReminderPass(
            conn, batch_size=BATCH, on_batch=lambda c: marks.append((time.perf_counter(), c))
        ).run(now=NOW, run_id=run_id)
        first_at, first = marks[0]
        return first_at - started, first.reminders_created + first.escalations_created


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_counts", description=__doc__)
    options.add_assignments(parser, 250_000, minimum=BATCH * 2)
    parser.add_argument("--rounds", type=options.count(1), default=5)
    args = parser.parse_args(argv)
    samples: dict[bool, list[float]] = {True: [], False: []}
    with server() as admin_url:
        dbs = Databases(admin_url, prefix="bench_counts")
        try:
            template = seeded(dbs, args.assignments)
            template_name = dbs.name_of(template)
            for i in range(args.rounds):
                for with_counts in (True, False) if i % 2 == 0 else (False, True):
                    url = dbs.create(template=template_name)
                    seconds, written = first_batch_seconds(url, with_counts=with_counts)
                    dbs.drop(url)
                    samples[with_counts].append(seconds)
                    label = "with counts" if with_counts else "without   "
                    print(f"round {i + 1} {label}: {seconds:.3f} s ({written:,} written)")
                url = dbs.create(template=template_name)
                inside = trigger_ms(url)
                dbs.drop(url)
                print(
                    f"round {i + 1} EXPLAIN ANALYZE, ms inside each trigger: "
                    + ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(inside.items()))
                )
        finally:
            dbs.drop_all()
    with_s, without_s = (statistics.median(samples[k]) for k in (True, False))
    print(
        f"median first batch: {with_s:.3f} s with the counts, {without_s:.3f} s without:"
        f" {with_s - without_s:+.3f} s per {BATCH:,}-row batch"
    )


if __name__ == "__main__":
    main()
