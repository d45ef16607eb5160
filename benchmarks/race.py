"""Host writers racing reminder passes, for longer (issue 18, items 1 and 5).

    python -m benchmarks.race [--seconds 120] [--assignments 100000] [--writers 4] [--seed 1]

Seeds N assignments (``reminders seed`` data) into a Supabase-shaped database on a server that
records commit timestamps (an embedded PostgreSQL in a temporary directory, or ``DATABASE_URL``
when it has ``track_commit_timestamp`` on), then runs rounds of the workload of
tests/race_workload.py, the same as tests/integration/test_concurrent_writers.py but with bigger
batches and more writes per round, until the seconds are up (the round under way then finishes
its pass: the first round's pass is the first run over the seeded data, about half of it due, so
at 100,000 assignments a run takes at least that long). Prints one table: host writes done
and failed per kind (the failures by SQLSTATE: 23505 unique violation, 40P01 deadlock), the
passes (batches, reminders, failures), and at the end the due-index rows that differ from their
view, the other invariants, and the reminders committed after the contact that closed their gap.
``make bench`` runs it after the other benchmarks (``--race-seconds``, 0 skips it).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.commit_order import closed_gap_reminders, commit_timestamps_server, migrated_template
from tests.conftest import PROJECT_ROLE, _create_database, _drop_database, as_user, with_dbname
from tests.due_index import stale_due_rows
from tests.race_workload import (
    WEIGHTS,
    Shape,
    Tally,
    Write,
    invariant_violations,
    load_world,
    now_of_round,
    run_round,
)

from assignment_reminders.db.database import connect
from assignment_reminders.dev.seed import seed
from assignment_reminders.tables import render

from . import options

FIRST_DAY = date(2026, 6, 1)
# Bigger batches, more writes per round; a threshold or time-zone change, which rewrites the due
# rows of a whole organization (50,000 assignments in seeded data), one write in about 150.
SHAPE = Shape(
    writers=4,
    writes_per_writer=20,
    most_writes_per_writer=400,
    batch_sizes=(200, 1000),
    weights={
        k: w if k in (Write.THRESHOLDS, Write.TIME_ZONE) else 5 * w for k, w in WEIGHTS.items()
    },
)


@dataclass(frozen=True)
class RaceResult:
    assignments: int
    writers: int
    seconds: float
    rounds: int
    tally: Tally
    stale_rows: int
    other_problems: list[str]
    closed_gaps: int


def bench_race(
    admin_url: str, *, assignments: int, seconds: float, seed_value: int, shape: Shape = SHAPE
) -> RaceResult:
    """The workload on *admin_url*'s server (which must record commit timestamps)."""
    with migrated_template(admin_url) as template:
        name = _create_database(admin_url, "bench_race", template)
        try:
            return _race(with_dbname(admin_url, name), assignments, seconds, seed_value, shape)
        finally:
            _drop_database(admin_url, name)


def _race(
    superuser_url: str, assignments: int, seconds: float, seed_value: int, shape: Shape
) -> RaceResult:
    print(f"race: seeding {assignments:,} assignments ...", file=sys.stderr, flush=True)
    with connect(superuser_url, purpose="bench-seed") as conn:
        seed(conn, assignments=assignments, today=FIRST_DAY, random_seed=1)
        conn.execute("VACUUM ANALYZE")
    url = as_user(superuser_url, PROJECT_ROLE)  # the host apps' writes, as the project's owner
    rng = random.Random(seed_value)
    last_day = datetime.now(UTC).date() - timedelta(days=2)
    tally = Tally()
    print(f"race: {seconds:g} s of rounds, seed {seed_value} ...", file=sys.stderr, flush=True)
    started, round_no, closed = time.monotonic(), 0, 0
    with connect(url, purpose="bench-race") as conn:
        while round_no == 0 or time.monotonic() - started < seconds:
            now = now_of_round(FIRST_DAY, last_day, round_no, rng)
            run_id = run_round(
                url,
                load_world(conn),
                tally,
                seed=seed_value,
                round_no=round_no,
                now=now,
                shape=shape,
                deadline=started + seconds,
            )
            # judged now: a later round's run-log retention rewrites these rows (their xmin)
            closed += len(closed_gap_reminders(conn, run_id=run_id))
            round_no += 1
        elapsed = time.monotonic() - started
        print("race: checking the tables ...", file=sys.stderr, flush=True)
        stale = len(stale_due_rows(conn))
        others = invariant_violations(conn, check_index=False)
    return RaceResult(assignments, shape.writers, elapsed, round_no, tally, stale, others, closed)


def table(result: RaceResult) -> str:
    t = result.tally
    states = sorted({state for _, state in t.failed})
    rows = []
    for kind in WEIGHTS:
        row: dict[str, object] = {"kind": str(kind), "done": t.done[kind]}
        row["failed"] = sum(n for (k, _), n in t.failed.items() if k is kind)
        for state in states:
            row[state] = t.failed[kind, state]
        rows.append(row)
    failed_by_state: Counter[str] = Counter()
    for (_, state), n in t.failed.items():
        failed_by_state[state] += n
    total = {"kind": "all host writes", "done": sum(t.done.values())}
    rows.append({**total, "failed": sum(failed_by_state.values()), **failed_by_state})
    columns = [("kind", "host write"), ("done", "done"), ("failed", "failed")]
    columns += [(s, f"SQLSTATE {s}") for s in states]
    pass_failures = [f for f in t.failures if f.kind is None]
    lines = [
        f"Race: {result.assignments:,} assignments, {result.rounds} rounds in"
        f" {result.seconds:.0f} s ({result.writers} writers and one pass per round)",
        "",
        render(rows, columns),
        "",
        f"passes completed: {t.passes}, failed: {len(pass_failures)}"
        + "".join(f" [{f.sqlstate}]" for f in pass_failures[:5])
        + f"; batches: {t.batches:,}; reminders written: {t.reminders:,}",
        f"due-index rows differing from their view at the end: {result.stale_rows:,}",
        f"reminders committed after the contact that closed their gap: {result.closed_gaps:,}",
    ]
    lines += [f"other invariant broken: {p.splitlines()[0]}" for p in result.other_problems]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.race", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--seconds", type=options.seconds, default=120.0, help="rounds for this long (120)"
    )
    options.add_assignments(parser, 100_000)
    parser.add_argument(
        "--writers", type=options.positive, default=SHAPE.writers, help="threads (%(default)s)"
    )
    parser.add_argument("--seed", type=options.non_negative, default=1, help="the schedule's (1)")
    args = parser.parse_args(argv)
    shape = replace(SHAPE, writers=args.writers)
    print(table(run_race(args.assignments, args.seconds, seed_value=args.seed, shape=shape)))


def run_race(
    assignments: int, seconds: float, *, seed_value: int = 1, shape: Shape = SHAPE
) -> RaceResult:
    """:func:`bench_race` on a server of its own that records commit timestamps."""
    with (
        tempfile.TemporaryDirectory(prefix="reminders-race-") as tmp,
        commit_timestamps_server(Path(tmp) / "pgdata") as admin_url,
    ):
        return bench_race(
            admin_url, assignments=assignments, seconds=seconds, seed_value=seed_value, shape=shape
        )


if __name__ == "__main__":
    main()
