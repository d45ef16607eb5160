"""Issue 18, item 1: no reminder for a closed gap.

A reminder (ledger row, in-app notification, deliveries) is never committed for a gap that a
contact committed before the reminder's transaction commits. The race: a batch statement judges
its assignments by the snapshot it started with, so a contact that commits while it runs is
invisible to it.

Evidence of commit order (tests/commit_order.py): these tests run on a server of their own with
``track_commit_timestamp = on``, and a reminder is wrong when an activity dated after its gap's
start (one that moved last_contact_date past it) committed before the reminder did, by
``pg_xact_commit_timestamp(xmin)`` of both rows. ``created_at`` cannot say it: it is when the
writing transaction began. A fixed pass may make the contact's insert wait for the batch (a
final recheck that locks the assignments): the contact then commits after the reminder, which is
allowed, so the contact always runs in a thread of its own and nothing assumes it returns before
the pass goes on.

* The deterministic test lines the risky moment up with locks, no sleeps: a third session holds,
  uncommitted, a ledger row with the key of another due assignment's reminder (as a racing
  writer would), so the batch statement, which has taken its snapshot and read both due rows,
  waits for that transaction at its ``INSERT ... ON CONFLICT`` (``pg_blocking_pids`` shows it).
  Meanwhile a contact for the first assignment commits (or, fixed, waits for the pass); then the
  third session rolls back and the batch goes on.
* The randomized one (seeded) has writer threads register contacts for the assignments at the
  front of the due index, the ones the pass's small batches are about to read, while a pass of
  many batches runs.
"""

from __future__ import annotations

import random
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.job.reminder_pass import ReminderPass
from tests import factories
from tests.commit_order import (
    closed_gap_reminders,
    commit_timestamps_server,
    describe,
    migrated_template,
)
from tests.conftest import (
    PROJECT_ROLE,
    _create_database,
    _drop_database,
    as_user,
    private_data_dir,
    wait_for,
    with_dbname,
)
from tests.due_index import stale_due_rows

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)
GAP = TODAY - timedelta(days=15)  # reminder_after_days 10: the reminder is due, the escalation not
CHANNELS = ("webhook",)


@pytest.fixture(scope="module")
def commit_ts_admin_url() -> Iterator[str]:
    """A server of this module's own that records commit timestamps (a few seconds)."""
    parent = private_data_dir()
    try:
        with commit_timestamps_server(parent / "pgdata") as url:
            yield url
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module")
def commit_ts_template(commit_ts_admin_url: str) -> Iterator[str]:
    with migrated_template(commit_ts_admin_url) as template:
        yield template


@pytest.fixture
def ts_url(commit_ts_admin_url: str, commit_ts_template: str) -> Iterator[str]:
    """A fresh migrated database on the commit-timestamp server, as the project's owner."""
    name = _create_database(commit_ts_admin_url, "ar_test", commit_ts_template)
    yield as_user(with_dbname(commit_ts_admin_url, name), PROJECT_ROLE)
    _drop_database(commit_ts_admin_url, name)


def blocked_by(watch: Connection, pid: int, blocker_pid: int) -> bool:
    row = watch.execute(
        "SELECT %(b)s = ANY (pg_blocking_pids(%(p)s)) AS blocked", {"b": blocker_pid, "p": pid}
    ).fetchone()
    return bool(row and row["blocked"])


def waits_for_a_lock(watch: Connection, pid: int) -> bool:
    row = watch.execute(
        "SELECT wait_event_type = 'Lock' AS waits FROM pg_stat_activity WHERE pid = %s", (pid,)
    ).fetchone()
    return bool(row and row["waits"])


def reminders_of(conn: Connection, assignment_id: int, gap: date) -> list[dict[str, Any]]:
    """The ledger rows of that gap, with their notifications and deliveries."""
    return conn.execute(
        "SELECT r.id, r.kind, (SELECT count(*) FROM public.notifications n"
        " WHERE n.dispatch_id = r.id) AS notifications,"
        " (SELECT count(*) FROM reminders.reminder_deliveries d WHERE d.dispatch_id = r.id)"
        "   AS deliveries"
        " FROM reminders.reminder_dispatches r"
        " WHERE r.assignment_id = %s AND r.gap_started_on = %s ORDER BY r.id",
        (assignment_id, gap),
    ).fetchall()


class Outcome:
    """What a thread did: done is set when it returned, error holds what it raised."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.value: Any = None

    def run(self, fn: Any) -> threading.Thread:
        def target() -> None:
            try:
                self.value = fn()
            except BaseException as exc:
                self.error = exc
            finally:
                self.done.set()

        thread = threading.Thread(target=target)
        thread.start()
        return thread


def test_a_contact_committed_while_the_batch_statement_runs_gets_no_reminder_for_its_gap(
    ts_url: str,
) -> None:
    with connect(ts_url, purpose="test") as conn:
        org = factories.organization(conn, time_zone="UTC")  # thresholds 10 and 20 days
        mentor = factories.peer_mentor(conn, org, factories.coordinator(conn, org))
        closed, held = (
            factories.assignment(
                conn,
                organization_id=org,
                peer_mentor_id=mentor,
                starts_on=GAP - timedelta(30),
                last_contact_date=GAP,
            )
            for _ in range(2)
        )
    with (
        connect(ts_url, purpose="test-watch") as watch,
        connect(ts_url, purpose="test-blocker", autocommit=False) as blocker,
        connect(ts_url, purpose="test-pass") as pass_conn,
        connect(ts_url, purpose="test-contact") as contact_conn,
    ):
        # A racing writer's ledger row for `held`, not yet committed: the batch must wait for
        # it to learn whether its own row for that key goes in. (The setting keeps the ledger's
        # trigger off the due index, so the third session holds nothing but that key.)
        blocker.execute("SELECT set_config('reminders.pass_keeps_due_index', 'on', true)")
        blocker.execute(
            "INSERT INTO reminders.reminder_dispatches (assignment_id, kind, gap_started_on,"
            " days_since_contact, organization_id, peer_mentor_id, coordinator_id,"
            " recipient_user_id)"
            " SELECT a.id, 'reminder', %s, 15, a.organization_id, a.peer_mentor_id,"
            " pm.coordinator_id, pm.user_id FROM public.assignments a"
            " JOIN public.peer_mentors pm ON pm.id = a.peer_mentor_id WHERE a.id = %s",
            (GAP, held),
        )
        blocker_pid = blocker.info.backend_pid
        the_pass = Outcome()
        pass_thread = the_pass.run(lambda: ReminderPass(pass_conn, channels=CHANNELS).run(now=NOW))
        wait_for(lambda: blocked_by(watch, pass_conn.info.backend_pid, blocker_pid))

        contact = Outcome()
        contact_thread = contact.run(
            lambda: contact_conn.execute(
                "INSERT INTO public.activities (assignment_id, occurred_on) VALUES (%s, %s)",
                (closed, TODAY),
            )
        )
        # committed, or (a fixed pass that locked the assignment) waiting for the pass
        wait_for(
            lambda: contact.done.is_set() or waits_for_a_lock(watch, contact_conn.info.backend_pid)
        )
        contact_committed_first = contact.done.is_set() and contact.error is None
        assert not the_pass.done.is_set(), "the pass finished while the blocker held its key"
        blocker.rollback()
        pass_thread.join(30)
        contact_thread.join(30)

    assert the_pass.error is None, f"the pass failed: {the_pass.error!r}"
    assert contact.error is None, f"the contact's insert failed: {contact.error!r}"
    with connect(ts_url, purpose="test") as conn:
        if contact_committed_first:
            assert reminders_of(conn, closed, GAP) == [], (
                f"assignment {closed}'s contact committed while the pass's batch was stalled"
                f" (before the pass could commit), yet the pass committed a reminder for the gap"
                f" since {GAP} that the contact had closed: {reminders_of(conn, closed, GAP)}"
            )
        closed_gaps = [describe(r) for r in closed_gap_reminders(conn)]
        assert closed_gaps == [], "reminders for closed gaps:\n" + "\n".join(closed_gaps)
        # the stall was real and the pass went on: `held` got its reminder once the key was free
        assert [r["kind"] for r in reminders_of(conn, held, GAP)] == ["reminder"]
        assert stale_due_rows(conn) == []


def build_due_world(conn: Connection, rng: random.Random, assignments: int) -> None:
    """One organization (UTC, thresholds 10 and 20 days), every assignment's reminder due at
    NOW and about half of the escalations."""
    org = factories.organization(conn, time_zone="UTC")
    coordinator = factories.coordinator(conn, org)
    mentors = [factories.peer_mentor(conn, org, coordinator) for _ in range(4)]
    for _ in range(assignments):
        gap = TODAY - timedelta(days=rng.randint(10, 30))
        factories.assignment(
            conn,
            organization_id=org,
            peer_mentor_id=rng.choice(mentors),
            starts_on=gap - timedelta(days=rng.randint(0, 30)),
            last_contact_date=gap,
        )


@pytest.mark.parametrize("random_seed", [1, 2, 3])
def test_contacts_registered_during_a_pass_of_many_batches_get_no_reminder_for_their_gaps(
    ts_url: str, random_seed: int
) -> None:
    writers, batch_size = 3, 3
    with connect(ts_url, purpose="test") as conn:
        build_due_world(conn, random.Random(random_seed), assignments=200)
    start = threading.Barrier(writers + 1, timeout=30)
    pass_done = threading.Event()
    registered: list[int] = []
    failures: list[str] = []

    def the_pass() -> object:
        with connect(ts_url, purpose="test-pass") as conn:
            service = ReminderPass(conn, batch_size=batch_size, channels=CHANNELS)
            start.wait()
            try:
                return service.run(now=NOW)
            finally:
                pass_done.set()

    def writer(number: int) -> None:
        rng = random.Random(f"{random_seed}-{number}")
        with connect(ts_url, purpose=f"test-writer-{number}") as conn:
            start.wait()
            while not pass_done.is_set():
                # the front of the due index: what the pass's next batches read
                front = [
                    r["assignment_id"]
                    for r in conn.execute(
                        "SELECT assignment_id FROM reminders.assignment_due"
                        " WHERE due_on <= %s ORDER BY due_on, assignment_id LIMIT 8",
                        (TODAY,),
                    ).fetchall()
                ]
                if not front:
                    break
                ids = rng.sample(front, k=min(len(front), rng.choice((1, 1, 2, 3))))
                try:
                    conn.execute(
                        "INSERT INTO public.activities (assignment_id, occurred_on)"
                        " SELECT unnest(%s::bigint[]), %s",
                        (ids, TODAY),
                    )
                except psycopg.Error as exc:
                    failures.append(f"writer {number}, contacts for {ids}: {exc.sqlstate} {exc}")
                    continue
                registered.extend(ids)

    the_pass_outcome = Outcome()
    threads = [the_pass_outcome.run(the_pass)]
    threads += [threading.Thread(target=writer, args=(n,)) for n in range(writers)]
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(120)

    assert the_pass_outcome.error is None, f"the pass failed: {the_pass_outcome.error!r}"
    with connect(ts_url, purpose="test") as conn:
        closed = closed_gap_reminders(conn)
        assert closed == [], (
            f"seed {random_seed}: {len(closed)} reminders committed after the contact that closed"
            f" their gap had committed (of {len(registered)} contacts registered during the pass):"
            + "".join(f"\n  {describe(r)}" for r in closed[:10])
        )
        assert failures == [], "host writes failed:\n" + "\n".join(failures[:10])
        assert stale_due_rows(conn) == []
    assert len(registered) > 20, "the writers registered almost nothing: the race was not run"
