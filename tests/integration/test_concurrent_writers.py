"""Issue 18, item 5: host writes never fail because of the reminders, and the due index never
drifts, whatever host apps write while passes run.

Rounds of the workload in tests/race_workload.py (N writer threads, each on its own connection
and as the role a host app would use, plus one pass with a small batch size, started together by
a barrier), over real PostgreSQL. After every round: no host write failed (a unique violation or
a deadlock raised by a trigger of ours is the host's failure), the pass completed (it retries
what it may retry itself), the due index equals its view both ways (names included), no ledger
key twice, and every notification and webhook delivery belongs to a ledger row and the reverse.

The schedule of writes is seeded; the interleaving is the machine's. Reproduce or lengthen with
REMINDERS_RACE_SEED (default 1) and REMINDERS_RACE_SECONDS (default 20: rounds are started until
that many seconds have passed, at least three); ``python -m benchmarks.race`` runs the same
workload longer on a seeded database of 100,000 assignments.
"""

from __future__ import annotations

import os
import random
import time
from datetime import UTC, date, datetime, timedelta

import pytest

from assignment_reminders.db.database import Connection
from tests.race_workload import (
    WEIGHTS,
    Shape,
    Tally,
    build_world,
    invariant_violations,
    load_world,
    now_of_round,
    run_round,
)

SEED = int(os.environ.get("REMINDERS_RACE_SEED", "1"))
SECONDS = float(os.environ.get("REMINDERS_RACE_SECONDS", "20"))
MIN_ROUNDS = 3
FIRST_DAY = date(2026, 6, 1)


@pytest.mark.slow
def test_host_writes_and_passes_at_once_never_fail_and_keep_the_index_equal_to_its_view(
    database_url: str, conn: Connection
) -> None:
    print(f"REMINDERS_RACE_SEED={SEED} REMINDERS_RACE_SECONDS={SECONDS:g}")
    rng = random.Random(SEED)
    build_world(conn, rng, assignments=120, first_day=FIRST_DAY)
    last_day = datetime.now(UTC).date() - timedelta(days=2)
    tally, shape = Tally(), Shape()
    started, round_no = time.monotonic(), 0
    while round_no < MIN_ROUNDS or time.monotonic() - started < SECONDS:
        now = now_of_round(FIRST_DAY, last_day, round_no, rng)
        run_round(
            database_url,
            load_world(conn),
            tally,
            seed=SEED,
            round_no=round_no,
            now=now,
            shape=shape,
        )
        problems = [str(f) for f in tally.failures] + invariant_violations(conn)
        assert not problems, (
            f"REMINDERS_RACE_SEED={SEED}, round {round_no} (pass at {now:%Y-%m-%d %H:%M} UTC),"
            f" after {sum(tally.done.values())} host writes:\n" + "\n".join(problems)
        )
        round_no += 1
    assert tally.passes == round_no
    assert tally.reminders > 50, f"the rounds wrote only {tally.reminders} reminders"
    assert set(tally.done) == set(WEIGHTS), f"kinds never done: {set(WEIGHTS) - set(tally.done)}"
