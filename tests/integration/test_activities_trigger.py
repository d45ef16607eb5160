"""The trigger on activities keeps assignments.last_contact_date true for plain SQL writes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import psycopg

from assignment_reminders.db.database import Connection, connect
from tests.activity_world import NOW, OVERDUE_CONTACT, TODAY, last_contact, make_world
from tests.conftest import wait_for


def _insert(conn: Connection, assignment_id: int, days_ago: int) -> int:
    row = conn.execute(
        "INSERT INTO activities (assignment_id, occurred_on, registration_path)"
        " VALUES (%(a)s, %(d)s, 'sql') RETURNING id",
        {"a": assignment_id, "d": TODAY - timedelta(days=days_ago)},
    ).fetchone()
    assert row is not None
    return int(row["id"])


def _correct(conn: Connection, assignment_id: int, days_ago: int) -> None:
    conn.execute(
        "SELECT * FROM reminders.set_last_contact_date(%(a)s, %(d)s, 'test', NULL,"
        " 'operator', 'pytest',"
        " %(now)s)",
        {"a": assignment_id, "d": TODAY - timedelta(days=days_ago), "now": NOW},
    )


def test_insert_moves_last_contact_forward(conn: Connection) -> None:
    w = make_world(conn)
    _insert(conn, w.assignment, 2)
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=2)


def test_back_dated_insert_never_moves_it_back(conn: Connection) -> None:
    w = make_world(conn)
    _insert(conn, w.assignment, 2)
    _insert(conn, w.assignment, 9)
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=2)


def test_back_dated_insert_keeps_a_seeded_date(conn: Connection) -> None:
    w = make_world(conn)
    _insert(conn, w.assignment, 40)
    assert last_contact(conn, w.assignment) == OVERDUE_CONTACT


def test_delete_recomputes_from_remaining_activities(conn: Connection) -> None:
    w = make_world(conn)
    _insert(conn, w.assignment, 5)
    latest = _insert(conn, w.assignment, 1)
    conn.execute("DELETE FROM activities WHERE id = %(i)s", {"i": latest})
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=5)


def test_delete_of_the_only_activity_restores_the_seeded_date(conn: Connection) -> None:
    w = make_world(conn)
    only = _insert(conn, w.assignment, 1)
    conn.execute("DELETE FROM activities WHERE id = %(i)s", {"i": only})
    assert last_contact(conn, w.assignment) == OVERDUE_CONTACT


def test_delete_leaves_no_date_when_nothing_else_is_known(conn: Connection) -> None:
    w = make_world(conn)
    conn.execute(
        "UPDATE assignments SET last_contact_date = NULL WHERE id = %(i)s", {"i": w.second}
    )
    only = _insert(conn, w.second, 1)
    conn.execute("DELETE FROM activities WHERE id = %(i)s", {"i": only})
    assert last_contact(conn, w.second) is None


def test_update_recomputes_both_ways(conn: Connection) -> None:
    w = make_world(conn)
    activity = _insert(conn, w.assignment, 1)
    conn.execute(
        "UPDATE activities SET occurred_on = %(d)s WHERE id = %(i)s",
        {"d": TODAY - timedelta(days=3), "i": activity},
    )
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=3)
    conn.execute(
        "UPDATE activities SET assignment_id = %(b)s WHERE id = %(i)s",
        {"b": w.second, "i": activity},
    )
    assert last_contact(conn, w.assignment) == OVERDUE_CONTACT
    assert last_contact(conn, w.second) == TODAY - timedelta(days=3)


def test_one_statement_bulk_insert_sets_each_assignment_to_its_latest(conn: Connection) -> None:
    w = make_world(conn)
    conn.execute(
        "INSERT INTO activities (assignment_id, occurred_on) VALUES"
        " (%(a)s, %(d1)s), (%(a)s, %(d2)s), (%(b)s, %(d3)s)",
        {
            "a": w.assignment,
            "b": w.second,
            "d1": TODAY - timedelta(days=4),
            "d2": TODAY - timedelta(days=1),
            "d3": TODAY - timedelta(days=6),
        },
    )
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=1)
    assert last_contact(conn, w.second) == TODAY - timedelta(days=6)


def test_a_many_row_insert_gives_the_transaction_its_work_mem_back(conn: Connection) -> None:
    """The many-row path raises work_mem for its own statements only."""
    w = make_world(conn)
    conn.execute("SET work_mem = '1234kB'")
    conn.execute("BEGIN")  # the setting the trigger raises is the transaction's (SET LOCAL)
    conn.execute(
        "INSERT INTO activities (assignment_id, occurred_on) VALUES (%(a)s, %(d)s), (%(b)s, %(d)s)",
        {"a": w.assignment, "b": w.second, "d": TODAY - timedelta(days=1)},
    )
    row = conn.execute("SELECT current_setting('work_mem') AS m").fetchone()
    conn.execute("COMMIT")
    assert row is not None and row["m"] == "1234kB"
    assert last_contact(conn, w.second) == TODAY - timedelta(days=1)


def test_a_refused_many_row_insert_leaves_the_setting_as_it_was(conn: Connection) -> None:
    """A refused date aborts the statement midway: rolling back to a savepoint gives the
    transaction its own work_mem, and nothing of the statement is written."""
    w = make_world(conn)
    conn.execute("SET work_mem = '1234kB'")
    conn.execute("BEGIN")
    conn.execute("SAVEPOINT before")
    try:
        conn.execute(  # the second date is after every organization's today, whatever the clock
            "INSERT INTO activities (assignment_id, occurred_on)"
            " VALUES (%(a)s, %(d)s), (%(b)s, %(f)s)",
            {"a": w.assignment, "b": w.second, "d": TODAY, "f": date(9999, 1, 1)},
        )
    except psycopg.errors.CheckViolation:
        conn.execute("ROLLBACK TO SAVEPOINT before")
    else:
        raise AssertionError("a date in year 9999 was accepted")
    row = conn.execute("SELECT current_setting('work_mem') AS m").fetchone()
    conn.execute("COMMIT")
    assert row is not None and row["m"] == "1234kB"
    assert last_contact(conn, w.assignment) == OVERDUE_CONTACT


def test_correction_holds_against_older_activities(conn: Connection) -> None:
    w = make_world(conn)
    wrong = _insert(conn, w.assignment, 1)  # registered on the wrong assignment, say
    _correct(conn, w.assignment, 20)
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=20)
    conn.execute("UPDATE activities SET note = 'x' WHERE id = %(i)s", {"i": wrong})
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=20)
    conn.execute("DELETE FROM activities WHERE id = %(i)s", {"i": wrong})
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=20)


def test_newer_activity_moves_a_corrected_date_forward_only(conn: Connection) -> None:
    w = make_world(conn)
    _correct(conn, w.assignment, 12)
    _insert(conn, w.assignment, 14)  # registered after the correction but older: no effect
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=12)
    newer = _insert(conn, w.assignment, 3)
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=3)
    conn.execute("DELETE FROM activities WHERE id = %(i)s", {"i": newer})
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=12)


def test_correction_writes_one_audit_row_with_old_and_new(conn: Connection) -> None:
    w = make_world(conn)
    _correct(conn, w.assignment, 20)
    rows = conn.execute(
        "SELECT old_date, new_date, reason, changed_by_role FROM reminders.last_contact_corrections"
        " WHERE assignment_id = %(a)s",
        {"a": w.assignment},
    ).fetchall()
    assert rows == [
        {
            "old_date": OVERDUE_CONTACT,
            "new_date": TODAY - timedelta(days=20),
            "reason": "test",
            "changed_by_role": "operator",
        }
    ]


def test_no_trigger_on_assignments_so_direct_writes_stay_as_written(conn: Connection) -> None:
    w = make_world(conn)
    _insert(conn, w.assignment, 1)
    conn.execute(
        "UPDATE assignments SET last_contact_date = %(d)s WHERE id = %(i)s",
        {"d": TODAY - timedelta(days=30), "i": w.assignment},
    )
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=30)
    # the only triggers on assignments keep the due index (they write reminders.assignment_due)
    triggers = conn.execute(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.assignments'::regclass"
        " AND NOT tgisinternal ORDER BY tgname"
    ).fetchall()
    assert [t["tgname"] for t in triggers] == [
        "assignment_due_on_delete",
        "assignment_due_on_insert",
        "assignment_due_on_truncate",
        "assignment_due_on_update",
    ]


def test_a_delete_waiting_on_a_concurrent_insert_keeps_that_insert(
    conn: Connection, database_url: str
) -> None:
    w = make_world(conn)
    old = _insert(conn, w.assignment, 5)
    with connect(database_url, purpose="test-inserter") as inserter:
        inserter.execute("BEGIN")
        _insert(inserter, w.assignment, 1)  # its trigger now holds the assignment's row lock
        with (
            connect(database_url, purpose="test-deleter") as deleter,
            ThreadPoolExecutor(1) as pool,
        ):
            pid = deleter.info.backend_pid
            deleting = pool.submit(
                deleter.execute, "DELETE FROM activities WHERE id = %(i)s", {"i": old}
            )
            wait_for(
                lambda: (
                    conn.execute(
                        "SELECT wait_event_type = 'Lock' AS blocked FROM pg_stat_activity"
                        " WHERE pid = %(p)s",
                        {"p": pid},
                    ).fetchone()
                    == {"blocked": True}
                )
            )
            inserter.execute("COMMIT")
            deleting.result(timeout=10)
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=1)
