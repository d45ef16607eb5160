"""The fault drill of issue 10: the lock backend terminated at random moments of multi-batch runs.

Default lock settings (heartbeat 5 s, idle timeout 30 s): a run learns of its lost lock from the
fence (fence.py), not from a heartbeat. Each iteration empties the ledger, starts a run of small
batches (``BATCH_SIZE``) 20 ms apart, waits until a random share of what one pass writes is
committed (0 = as soon as the lock shows and the run's 'running' row is written; all of it =
during the run's hold before it finishes), terminates the lock backend with
``pg_terminate_backend``, and in half the iterations starts a second run right after. Then one
more run completes the work. Every iteration must show:

* the cut run did not succeed ('failed', note 'lock_lost');
* no two successes overlap in time;
* the ledger, notifications and deliveries equal one clean pass (``tests/dispatch_counts.py``).

``ITERATIONS`` and the outcome counts are printed (``pytest -s``) for the closing note.
"""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assignment_reminders.config import Settings
from assignment_reminders.db.database import Connection
from assignment_reminders.dev.seed import seed
from assignment_reminders.job.compose import run_once
from assignment_reminders.job.trigger import LOCK_LOST, RunOutcome
from tests.conftest import wait_for
from tests.dispatch_counts import clean_totals, dispatch_count, table_counts
from tests.locks import CLASSID, OBJID
from tests.run_rows import running, runs

pytestmark = pytest.mark.slow

ITERATIONS = 32
ASSIGNMENTS = 120
BATCH_SIZE = 12
CUT_POINTS = 10  # the cut lands after 0/10, 1/10, ... 10/10 of the ledger was written
LATER_AT = datetime.now(UTC) + timedelta(days=40)  # every active assignment is due
HOLD_SECONDS = 0.5  # after the last batch: a cut then lands before the run's finish


class Run(threading.Thread):
    """``run_once`` on a thread of its own (its own lock and work connections)."""

    def __init__(self, settings: Settings, *, hold: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.settings = settings
        self.hold = hold
        self.outcome: RunOutcome | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.outcome = run_once(
                self.settings,
                now=LATER_AT,
                hold_seconds=self.hold,
                pause_between_batches=0.02,
            )
        except BaseException as exc:
            self.error = exc

    @classmethod
    def started(cls, settings: Settings, *, hold: float = 0.0) -> Run:
        run = cls(settings, hold=hold)
        run.start()
        return run

    def result(self) -> RunOutcome:
        self.join(60)
        assert not self.is_alive(), "a drill run did not end within 60 s"
        assert self.error is None, repr(self.error)
        assert self.outcome is not None
        return self.outcome


def terminate_lock_holder(conn: Connection) -> bool:
    """``pg_terminate_backend`` on whoever holds the job's lock now; False when nobody does."""
    row = conn.execute(
        "SELECT bool_or(pg_terminate_backend(pid)) AS cut FROM pg_locks"
        " WHERE locktype = 'advisory' AND granted AND objsubid = 1"
        " AND classid = %s AND objid = %s"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (CLASSID, OBJID),
    ).fetchone()
    return bool(row and row["cut"])


def holder_present(conn: Connection) -> bool:
    row = conn.execute(
        "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND objsubid = 1 AND classid = %s AND objid = %s"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (CLASSID, OBJID),
    ).fetchone()
    return bool(row and row["n"])


def overlapping_successes(rows: list[dict[str, Any]]) -> list[tuple[int, int]]:
    done = sorted(
        (r for r in rows if r["status"] == "success"), key=lambda r: (r["started_at"], r["id"])
    )
    return [
        (a["id"], b["id"])
        for i, a in enumerate(done)
        for b in done[i + 1 :]
        if b["started_at"] < a["finished_at"]
    ]


def test_lock_backend_terminated_at_random_moments(
    conn: Connection, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(conn, assignments=ASSIGNMENTS, today=LATER_AT.date() - timedelta(days=40))
    expected = clean_totals(database_url, LATER_AT)
    settings = Settings.from_env(
        {"DATABASE_URL": database_url, "REMINDERS_BATCH_SIZE": str(BATCH_SIZE)}
    )
    assert settings.lock.heartbeat_seconds == 5.0 and settings.lock.idle_timeout_seconds == 30.0
    rng = random.Random(20261130)
    tally = {"cut": 0, "second_success": 0, "second_not_success": 0}
    cut_after_batches: dict[int, int] = {}
    for _ in range(ITERATIONS):
        conn.execute("TRUNCATE reminders.reminder_dispatches CASCADE")
        written_before_cut = rng.randint(0, CUT_POINTS) / CUT_POINTS
        with_second = rng.random() < 0.5
        first = Run.started(settings, hold=HOLD_SECONDS)
        threshold = written_before_cut * expected["dispatches"]

        def holding(run: Run = first) -> bool:
            # the lock shows AND the run has written its 'running' row: a cut during the
            # lock-taking statement itself is a failed connect (one line, exit 1), not this drill
            return (holder_present(conn) and running(conn) is not None) or not run.is_alive()

        def committed(run: Run = first, n: float = threshold) -> bool:
            return dispatch_count(conn) >= n or not run.is_alive()

        wait_for(holding)
        wait_for(committed, timeout=30)
        assert terminate_lock_holder(conn), "the drill missed its run: it ended before the cut"
        second = Run.started(settings) if with_second else None
        cut = first.result()
        tally["cut"] += 1
        assert (cut.status, cut.note) == ("failed", LOCK_LOST), cut
        if second is not None:
            other = second.result()
            tally["second_success" if other.status == "success" else "second_not_success"] += 1
            if other.status == "success":
                assert table_counts(conn) == expected, "the second run completed the work"
        done = cut.counts.due_rows_read // BATCH_SIZE
        cut_after_batches[done] = cut_after_batches.get(done, 0) + 1
        final = Run.started(settings).result()
        assert final.status == "success", final
        assert table_counts(conn) == expected, "together: exactly one clean pass"
        assert overlapping_successes(runs(conn)) == []
    assert not holder_present(conn)
    with capsys.disabled():
        print(
            f"\nfault drill: {ITERATIONS} iterations, {tally},"
            f" cut after n committed batches: {dict(sorted(cut_after_batches.items()))}"
        )
