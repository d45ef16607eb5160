"""A write is planned for its rows, whatever the backend's triggers ran before.

PL/pgSQL keeps a statement's plan for the life of the backend, and a plan over a transition
table is made with the row count of the first call. A trigger that joined new_rows to old_rows
that way, after one-row updates, ran a 4,000-row update as a nested loop of 4,000 x 4,000; one
that joined new_rows to the due index's view, after a many-row insert, ran each one-row insert
with the many-row plan's hash join over every assignment. Each test
times the same write on a fresh connection and on a connection whose triggers first ran writes
of the other size, each in a transaction rolled back; the second may not take much longer.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import date

import pytest

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.dev.seed import seed

TODAY = date(2026, 11, 28)
ROWS = 4_000
SLOWER = 3.0  # the plans made for the other size took 8 to 13 times as long before


def _timed(conn: Connection, write: Callable[[Connection], None]) -> float:
    conn.execute("BEGIN")
    try:
        started = time.perf_counter()
        write(conn)
        return time.perf_counter() - started
    finally:
        conn.execute("ROLLBACK")


def _fresh_and_warm(
    database_url: str,
    measure: Callable[[Connection], float],
    warm_up: Callable[[Connection], object],
) -> tuple[float, float]:
    """*measure* on a fresh backend and on one that ran *warm_up* first: the fastest of three
    tries each (a new backend per try), so that a moment of load on a shared machine is not
    taken for a plan made for the other size."""
    on_fresh: list[float] = []
    after_warm_up: list[float] = []
    for _ in range(3):
        with connect(database_url, purpose="test-fresh") as fresh:
            on_fresh.append(measure(fresh))
        with connect(database_url, purpose="test-warm") as warm:
            warm_up(warm)
            after_warm_up.append(measure(warm))
    return min(on_fresh), min(after_warm_up)


def _compare(
    database_url: str, one_row: Callable[[Connection], None], many: Callable[[Connection], None]
) -> tuple[float, float]:
    """*many* on a fresh backend and on one whose triggers ran *one_row* first."""

    def warm_up(c: Connection) -> None:
        for _ in range(3):  # past PL/pgSQL's first calls
            _timed(c, one_row)

    return _fresh_and_warm(database_url, lambda c: _timed(c, many), warm_up)


@pytest.mark.parametrize(
    ("table", "change"),
    [("assignments", "last_contact_date = %(d)s"), ("contacts", "last_name = last_name || '.'")],
    ids=["assignment-update", "contact-rename"],
)
def test_a_many_row_update_after_one_row_updates(
    conn: Connection, database_url: str, table: str, change: str
) -> None:
    seed(conn, assignments=ROWS, today=TODAY)
    first = conn.execute(f"SELECT min(id) AS id FROM {table}").fetchone()
    assert first is not None
    update, params = f"UPDATE {table} SET {change}", {"d": TODAY, "i": first["id"]}

    def one_row(c: Connection) -> None:
        c.execute(f"{update} WHERE id = %(i)s", params)

    def many(c: Connection) -> None:
        c.execute(update, params)

    on_fresh, after_one_row = _compare(database_url, one_row, many)
    assert after_one_row < SLOWER * on_fresh + 0.05, (on_fresh, after_one_row)


NEW_ASSIGNMENTS = """
INSERT INTO assignments
    (id, organization_id, peer_mentor_id, contact_id, status, starts_on, ends_on,
     last_contact_date)
SELECT %(after)s + row_number() OVER (ORDER BY a.id), a.organization_id, a.peer_mentor_id,
       a.contact_id, a.status, a.starts_on, a.ends_on, a.last_contact_date
FROM assignments a
WHERE a.id BETWEEN %(first)s AND %(last)s
"""


def test_a_one_row_assignment_insert_after_a_many_row_insert(
    conn: Connection, database_url: str
) -> None:
    seed(conn, assignments=ROWS, today=TODAY)
    top = conn.execute("SELECT min(id) AS lo, max(id) AS hi FROM assignments").fetchone()
    assert top is not None
    lo, hi = int(top["lo"]), int(top["hi"])

    def one_row_inserts(c: Connection) -> float:
        """The median of 11 one-row inserts, seconds."""
        seconds = []
        for k in range(11):
            started = time.perf_counter()
            c.execute(NEW_ASSIGNMENTS, {"after": 2 * hi + k, "first": lo + k, "last": lo + k})
            seconds.append(time.perf_counter() - started)
        return statistics.median(seconds)

    def many(c: Connection) -> None:
        c.execute(NEW_ASSIGNMENTS, {"after": 3 * hi, "first": lo, "last": hi})

    def on(c: Connection) -> float:
        c.execute("BEGIN")
        try:
            return one_row_inserts(c)
        finally:
            c.execute("ROLLBACK")

    on_fresh, after_many = _fresh_and_warm(database_url, on, lambda c: _timed(c, many))
    assert after_many < SLOWER * on_fresh + 0.002, (on_fresh, after_many)
