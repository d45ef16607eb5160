"""Contact dates the database enforces, for every writer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest

from assignment_reminders.db.database import Connection
from assignment_reminders.limits import REASON_MAX_LENGTH
from tests.activity_world import STARTED, World, api_client, as_supabase_user, bearer, make_world

FUTURE = "contact_date_not_in_future"
BEFORE_START = "contact_date_not_before_start"


@pytest.fixture
def world(conn: Connection) -> World:
    return make_world(conn)


def org_today(conn: Connection, org: int) -> date:
    row = conn.execute(
        "SELECT (now() AT TIME ZONE time_zone)::date AS d FROM organizations WHERE id = %s", (org,)
    ).fetchone()
    assert row is not None
    day: date = row["d"]
    return day


def count(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) AS n FROM activities").fetchone()
    assert row is not None
    return int(row["n"])


def insert(conn: Connection, assignment_id: int, day: date, path: str = "sql") -> None:
    conn.execute(
        "INSERT INTO activities (assignment_id, occurred_on, registration_path)"
        " VALUES (%s, %s, %s)",
        (assignment_id, day, path),
    )


@contextmanager
def refused(rule: str, column: str = "occurred_on") -> Iterator[None]:
    """The statement fails with check_violation under *rule*, naming *column*."""
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        yield
    assert caught.value.sqlstate == "23514"
    assert (caught.value.diag.constraint_name, caught.value.diag.column_name) == (rule, column)


def test_plain_sql_may_not_date_a_contact_in_the_future_or_before_the_start(
    conn: Connection, world: World
) -> None:
    today = org_today(conn, world.org)
    with refused(FUTURE):
        insert(conn, world.assignment, date(9999, 12, 31))
    with refused(FUTURE):
        insert(conn, world.assignment, today + timedelta(days=1))
    with refused(BEFORE_START):
        insert(conn, world.assignment, STARTED - timedelta(days=1))
    insert(conn, world.assignment, today)
    insert(conn, world.assignment, STARTED)
    assert count(conn) == 2


def test_the_message_says_why(conn: Connection, world: World) -> None:
    today = org_today(conn, world.org)
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        insert(conn, world.assignment, today + timedelta(days=2))
    assert caught.value.diag.message_primary == (
        f"{today + timedelta(days=2)} is in the future (today is {today} in Europe/Oslo)"
    )


def test_today_is_the_organizations_calendar_day(conn: Connection, world: World) -> None:
    """East of the date line it is already tomorrow; west of it, still yesterday."""
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):
        conn.execute("UPDATE organizations SET time_zone = %s WHERE id = %s", (zone, world.org))
        today = org_today(conn, world.org)
        insert(conn, world.assignment, today)
        with refused(FUTURE):
            insert(conn, world.assignment, today + timedelta(days=1))


def test_a_bulk_insert_with_one_bad_row_inserts_nothing(conn: Connection, world: World) -> None:
    today = org_today(conn, world.org)
    rows = [(world.assignment, today - timedelta(days=n % 50)) for n in range(2000)]
    with refused(FUTURE), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO activities (assignment_id, occurred_on) VALUES (%s, %s)",
            [*rows, (world.second, today + timedelta(days=1))],
        )
    with refused(BEFORE_START):
        conn.execute(
            "INSERT INTO activities (assignment_id, occurred_on)"
            " SELECT %s, d FROM unnest(%s::date[]) d",
            (world.assignment, [today, STARTED - timedelta(days=1)]),
        )
    with (
        refused(FUTURE),
        conn.cursor().copy("COPY activities (assignment_id, occurred_on) FROM STDIN") as copy,
    ):
        copy.write_row((world.assignment, today))
        copy.write_row((world.assignment, today + timedelta(days=30)))
    assert count(conn) == 0


def test_updates_are_checked_but_a_note_edit_on_a_valid_row_is_not_refused(
    conn: Connection, world: World
) -> None:
    today = org_today(conn, world.org)
    insert(conn, world.assignment, today)
    with refused(FUTURE):
        conn.execute("UPDATE activities SET occurred_on = occurred_on + 1")
    with refused(BEFORE_START):
        conn.execute("UPDATE activities SET occurred_on = %s", (STARTED - timedelta(days=1),))
    conn.execute("UPDATE activities SET note = 'phoned'")
    row = conn.execute("SELECT occurred_on, note FROM activities").fetchone()
    assert row == {"occurred_on": today, "note": "phoned"}


def test_service_role_is_held_to_the_same_rule(conn: Connection, world: World) -> None:
    today = org_today(conn, world.org)
    with conn.transaction():
        conn.execute("SET LOCAL ROLE service_role")
        with refused(FUTURE), conn.transaction():
            insert(conn, world.assignment, today + timedelta(days=1))
        insert(conn, world.assignment, today)
    assert count(conn) == 1


def test_a_mentor_under_rls_is_held_to_the_same_rule(conn: Connection, world: World) -> None:
    today = org_today(conn, world.org)
    with as_supabase_user(conn, world.mentor, "peer_mentor"):
        with refused(FUTURE), conn.transaction():
            insert(conn, world.assignment, date(9999, 12, 31), path="direct")
        with refused(BEFORE_START), conn.transaction():
            insert(conn, world.assignment, STARTED - timedelta(days=3), path="direct")
        insert(conn, world.assignment, today, path="direct")
        with refused(FUTURE), conn.transaction():
            conn.execute("UPDATE activities SET occurred_on = '9999-12-31'")
    row = conn.execute(
        "SELECT last_contact_date FROM assignments WHERE id = %s", (world.assignment,)
    ).fetchone()
    assert row == {"last_contact_date": today}


def test_admin_corrections_follow_the_same_rule(conn: Connection, world: World) -> None:
    today = org_today(conn, world.org)
    call = (
        "SELECT * FROM reminders.set_last_contact_date(%s, %s, 'reason', NULL, 'admin', NULL,"
        " now())"
    )
    with refused(FUTURE, "last_contact_date"):
        conn.execute(call, (world.assignment, today + timedelta(days=1)))
    with refused(BEFORE_START, "last_contact_date"):
        conn.execute(call, (world.assignment, STARTED - timedelta(days=1)))
    conn.execute(call, (world.assignment, today))
    corrections = conn.execute("SELECT count(*) AS n FROM reminders.last_contact_corrections")
    assert corrections.fetchone() == {"n": 1}


def test_the_api_answers_422_when_the_database_refuses(
    database_url: str, conn: Connection, world: World
) -> None:
    """An API whose clock runs ahead passes its own check; the database's refusal is a 422."""
    ahead = datetime.now(UTC) + timedelta(days=3)
    tomorrow = org_today(conn, world.org) + timedelta(days=1)
    with api_client(database_url, now=ahead) as client:
        r = client.post(
            "/activities",
            json={"assignment_id": world.assignment, "occurred_on": tomorrow.isoformat()},
            headers=bearer(world.mentor, "peer_mentor"),
        )
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["occurred_on"]
        assert "is in the future" in r.json()["errors"][0]["message"]
        r = client.put(
            f"/admin/assignments/{world.assignment}/last-contact-date",
            json={"date": tomorrow.isoformat(), "reason": "clock ahead"},
            headers=bearer(None, None, role="service_role"),
        )
        assert r.status_code == 422, r.text
        assert [e["field"] for e in r.json()["errors"]] == ["date"]
    assert count(conn) == 0


def test_the_database_keeps_no_correction_reason_over_the_apis_limit(
    conn: Connection, world: World
) -> None:
    """Plain SQL too: the limit is the application's figure."""
    call = "SELECT * FROM reminders.set_last_contact_date(%s, %s, %s, NULL, 'admin', NULL, now())"
    today = org_today(conn, world.org)
    with pytest.raises(psycopg.errors.CheckViolation) as caught:
        conn.execute(call, (world.assignment, today, "x" * (REASON_MAX_LENGTH + 1)))
    assert caught.value.diag.constraint_name == "last_contact_corrections_reason_length"
    conn.execute(call, (world.assignment, today, "é" * REASON_MAX_LENGTH))
    reasons = conn.execute(
        "SELECT char_length(reason) AS n FROM reminders.last_contact_corrections"
    )
    assert reasons.fetchall() == [{"n": REASON_MAX_LENGTH}]
