"""The reminder pass creates each reminder once: re-runs, racing passes, crashes mid-run."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import psycopg
import pytest

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.dev.seed import seed
from assignment_reminders.exceptions import DatabaseError
from assignment_reminders.job.counts import RunCounts
from assignment_reminders.job.reminder_pass import ReminderPass
from tests.dispatch_counts import clean_totals, table_counts

TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CHANNELS = ["email", "webhook"]


class Crash(Exception):
    """The process died here."""


def test_a_second_pass_creates_nothing_and_reads_nothing(
    database_url: str, conn: Connection
) -> None:
    seed(conn, assignments=300, today=TODAY)
    expected = clean_totals(database_url, NOW, CHANNELS)
    first = ReminderPass(conn, batch_size=50, channels=CHANNELS).run(now=NOW)
    after_first = table_counts(conn)
    assert after_first == expected
    second = ReminderPass(conn, batch_size=50, channels=CHANNELS).run(now=NOW)
    assert table_counts(conn) == after_first
    created = first.reminders_created + first.escalations_created
    assert created > 0
    assert first.duplicates_suppressed == 0
    assert first.due_rows_read >= created
    # what the first pass wrote left the due index
    assert second == RunCounts()
    assert after_first["notifications"] == after_first["dispatches"] == created
    assert after_first["deliveries"] == 2 * created  # every seeded person has an email address


def test_racing_passes_with_the_lock_bypassed_create_each_reminder_once(
    database_url: str, conn: Connection
) -> None:
    seed(conn, assignments=2000, today=TODAY)
    expected = clean_totals(database_url, NOW, CHANNELS)
    start = threading.Barrier(2)
    results: list[RunCounts] = []
    errors: list[BaseException] = []

    def one_pass(name: str) -> None:
        try:
            with connect(database_url, purpose=f"test-race-{name}") as c:
                scheduler = ReminderPass(c, batch_size=100, channels=CHANNELS)
                start.wait()
                results.append(scheduler.run(now=NOW))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one_pass, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 2
    # together the two passes created exactly what one clean pass creates
    assert table_counts(conn) == expected
    created = sum(r.reminders_created + r.escalations_created for r in results)
    assert created == expected["dispatches"]
    assert expected["notifications"] == created
    assert expected["deliveries"] == 2 * created
    # a reminder both passes read was written by one; the other counted it as already sent
    assert sum(r.duplicates_suppressed for r in results) <= created


def test_a_crash_mid_run_keeps_committed_batches_and_the_next_run_finishes(
    database_url: str, conn: Connection
) -> None:
    seed(conn, assignments=500, today=TODAY)
    expected = clean_totals(database_url, NOW, CHANNELS)
    batches = 0

    def die_on_third_batch() -> None:
        nonlocal batches
        batches += 1
        if batches == 3:
            raise Crash

    with pytest.raises(Crash):
        ReminderPass(conn, batch_size=100, channels=CHANNELS).run(
            now=NOW, checkpoint=die_on_third_batch
        )
    partial = table_counts(conn)
    assert 0 < partial["dispatches"] < expected["dispatches"]
    again = ReminderPass(conn, batch_size=100, channels=CHANNELS).run(now=NOW)
    assert table_counts(conn) == expected
    # the committed batches took their reminders out of the due index: the next run writes the rest
    assert again.reminders_created + again.escalations_created == (
        expected["dispatches"] - partial["dispatches"]
    )
    assert again.duplicates_suppressed == 0


def test_a_batch_that_fails_at_its_last_write_leaves_none_of_its_rows(
    conn: Connection,
) -> None:
    """A batch is one statement: the ledger and notification rows go with the failed deliveries."""
    seed(conn, assignments=300, today=TODAY)
    conn.execute(
        "CREATE FUNCTION pg_temp.fail() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'delivery insert failed'; END $$"
    )
    conn.execute(
        "CREATE TRIGGER fail BEFORE INSERT ON reminders.reminder_deliveries"
        " FOR EACH ROW EXECUTE FUNCTION pg_temp.fail()"
    )
    scheduler = ReminderPass(conn, batch_size=300, channels=CHANNELS)
    with pytest.raises(DatabaseError, match="delivery insert failed") as raised:
        scheduler.run(now=NOW)
    assert isinstance(raised.value.__cause__, psycopg.errors.RaiseException)  # wrapped once
    assert table_counts(conn) == {"dispatches": 0, "notifications": 0, "deliveries": 0}
