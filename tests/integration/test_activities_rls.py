"""Row-level security as a Supabase client sees it: role authenticated, request.jwt.claims set."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.migrations import migrate
from tests.activity_world import TODAY, as_supabase_user, last_contact, make_world
from tests.supabase_shape import HOST_FUNCTIONS


def _visible(conn: Connection, table: str) -> set[int]:
    column = "assignment_id" if table == "activities" else "id"
    rows = conn.execute(f"SELECT {column} AS id FROM public.{table}").fetchall()
    return {int(r["id"]) for r in rows}


def _notify(conn: Connection, assignment_id: int, recipient: object) -> int:
    row = conn.execute(
        "WITH d AS (INSERT INTO reminders.reminder_dispatches (assignment_id, kind, gap_started_on,"
        " days_since_contact, organization_id, peer_mentor_id, coordinator_id, recipient_user_id)"
        " SELECT a.id, 'reminder', %(t)s, 15, a.organization_id, a.peer_mentor_id,"
        " pm.coordinator_id, %(r)s FROM assignments a JOIN peer_mentors pm"
        " ON pm.id = a.peer_mentor_id WHERE a.id = %(a)s RETURNING id, recipient_user_id)"
        " INSERT INTO notifications (dispatch_id, recipient_user_id, title, body)"
        " SELECT id, recipient_user_id, 't', 'b' FROM d RETURNING id",
        {"a": assignment_id, "r": recipient, "t": TODAY - timedelta(days=15)},
    ).fetchone()
    assert row is not None
    return int(row["id"])


def test_mentor_sees_only_own_assignments(conn: Connection) -> None:
    w = make_world(conn)
    with as_supabase_user(conn, w.mentor, "peer_mentor"):
        assert _visible(conn, "assignments") == {w.assignment, w.second}


def test_stand_in_also_sees_the_absent_mentors_assignments(conn: Connection) -> None:
    w = make_world(conn)
    with as_supabase_user(conn, w.stand_in, "peer_mentor"):
        assert _visible(conn, "assignments") == {w.assignment, w.second, w.stand_in_own}


def test_coordinator_sees_their_organizations_assignments(conn: Connection) -> None:
    w = make_world(conn)
    with as_supabase_user(conn, w.coordinator, "coordinator"):
        assert _visible(conn, "assignments") == {w.assignment, w.second, w.stand_in_own}
    with as_supabase_user(conn, w.other_coordinator, "coordinator"):
        assert _visible(conn, "assignments") == {w.foreign}


def test_mentor_insert_through_the_client_moves_last_contact(conn: Connection) -> None:
    w = make_world(conn)
    with as_supabase_user(conn, w.mentor, "peer_mentor"):
        conn.execute(
            "INSERT INTO activities (assignment_id, occurred_on) VALUES (%(a)s, %(d)s)",
            {"a": w.assignment, "d": TODAY - timedelta(days=1)},
        )
        assert _visible(conn, "activities") == {w.assignment}
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=1)
    row = conn.execute("SELECT registered_by FROM activities").fetchone()
    assert row == {"registered_by": w.mentor}


def test_mentor_cannot_insert_for_another_organizations_assignment(conn: Connection) -> None:
    w = make_world(conn)
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege),
        as_supabase_user(conn, w.mentor, "peer_mentor"),
    ):
        conn.execute(
            "INSERT INTO activities (assignment_id, occurred_on) VALUES (%(a)s, %(d)s)",
            {"a": w.foreign, "d": TODAY},
        )
    assert conn.execute("SELECT count(*) AS n FROM activities").fetchone() == {"n": 0}


def test_mentor_cannot_register_as_someone_else(conn: Connection) -> None:
    w = make_world(conn)
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege),
        as_supabase_user(conn, w.mentor, "peer_mentor"),
    ):
        conn.execute(
            "INSERT INTO activities (assignment_id, occurred_on, registered_by)"
            " VALUES (%(a)s, %(d)s, %(u)s)",
            {"a": w.assignment, "d": TODAY, "u": w.coordinator},
        )


def test_mentor_cannot_write_last_contact_date_directly(conn: Connection) -> None:
    w = make_world(conn)
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege),
        as_supabase_user(conn, w.mentor, "peer_mentor"),
    ):
        conn.execute(
            "UPDATE assignments SET last_contact_date = %(d)s WHERE id = %(a)s",
            {"a": w.assignment, "d": TODAY},
        )


def test_coordinator_deletes_an_activity_and_the_date_is_recomputed(conn: Connection) -> None:
    w = make_world(conn)
    conn.execute(
        "INSERT INTO activities (assignment_id, occurred_on) VALUES (%(a)s, %(d)s)",
        {"a": w.assignment, "d": TODAY},
    )
    with as_supabase_user(conn, w.other_coordinator, "coordinator"):
        deleted = conn.execute("DELETE FROM activities RETURNING id").fetchall()
        assert deleted == []
    with as_supabase_user(conn, w.coordinator, "coordinator"):
        deleted = conn.execute("DELETE FROM activities RETURNING id").fetchall()
        assert len(deleted) == 1
    assert last_contact(conn, w.assignment) == TODAY - timedelta(days=15)


def test_notifications_are_read_by_their_recipient_and_the_coordinator(conn: Connection) -> None:
    w = make_world(conn)
    mine = _notify(conn, w.assignment, w.mentor)
    foreign = _notify(conn, w.foreign, w.other_mentor)
    with as_supabase_user(conn, w.mentor, "peer_mentor"):
        assert _visible(conn, "notifications") == {mine}
    with as_supabase_user(conn, w.stand_in, "peer_mentor"):
        assert _visible(conn, "notifications") == set()
    with as_supabase_user(conn, w.coordinator, "coordinator"):
        assert _visible(conn, "notifications") == {mine}
    with as_supabase_user(conn, w.other_coordinator, "coordinator"):
        assert _visible(conn, "notifications") == {foreign}


def test_service_tables_are_closed_to_clients(conn: Connection) -> None:
    w = make_world(conn)
    for table in ("mentor_stand_ins", "last_contact_baselines", "last_contact_corrections"):
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            as_supabase_user(conn, w.coordinator, "coordinator"),
        ):
            conn.execute(f"SELECT * FROM reminders.{table}")
    with (
        pytest.raises(psycopg.errors.InsufficientPrivilege),
        as_supabase_user(conn, w.coordinator, "admin"),
    ):
        conn.execute(
            "SELECT * FROM reminders.set_last_contact_date(%(a)s, %(d)s, 'x', NULL, 'x',"
            " NULL, now())",
            {"a": w.assignment, "d": TODAY},
        )


def test_an_existing_auth_schema_is_left_alone(plain_database_url: str) -> None:
    fixed = "11111111-1111-4111-8111-111111111111"
    with connect(plain_database_url, purpose="test") as c:
        c.execute("CREATE SCHEMA auth")
        c.execute(
            f"CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql AS $$ SELECT '{fixed}'::uuid $$"
        )
        migrate(c)
        assert c.execute("SELECT auth.uid()::text AS u").fetchone() == {"u": fixed}
        assert c.execute("SELECT to_regproc('auth.jwt') AS f").fetchone() == {"f": None}


def test_plain_postgresql_gets_uid_and_jwt_from_request_claims(plain_database_url: str) -> None:
    with connect(plain_database_url, purpose="test") as conn:
        migrate(conn)
        _uid_and_role_from_claims(conn)


def test_supabase_auth_helpers_read_request_claims(conn: Connection) -> None:
    _uid_and_role_from_claims(conn)


def _uid_and_role_from_claims(conn: Connection) -> None:
    with conn.transaction():
        conn.execute(
            "SELECT set_config('request.jwt.claims', %(c)s, true)",
            {"c": '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}'},
        )
        row = conn.execute("SELECT auth.uid()::text AS u, auth.jwt() ->> 'role' AS r").fetchone()
    assert row == {"u": "22222222-2222-4222-8222-222222222222", "r": "authenticated"}
    assert conn.execute("SELECT auth.uid() AS u").fetchone() == {"u": None}


def test_only_a_coordinator_may_claim_the_coordinator_proxy_path(conn: Connection) -> None:
    w = make_world(conn)
    insert = (
        "INSERT INTO activities (assignment_id, occurred_on, registration_path)"
        " VALUES (%(a)s, %(d)s, %(p)s)"
    )
    for path in ("coordinator_proxy", "sql"):
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            as_supabase_user(conn, w.mentor, "peer_mentor"),
        ):
            conn.execute(insert, {"a": w.assignment, "d": TODAY, "p": path})
    with as_supabase_user(conn, w.coordinator, "coordinator"):
        conn.execute(insert, {"a": w.assignment, "d": TODAY, "p": "coordinator_proxy"})
    assert last_contact(conn, w.assignment) == TODAY


def test_supabase_default_privileges_do_not_open_the_service_tables(
    empty_database_url: str,
) -> None:
    """Supabase grants anon/authenticated everything on new tables and functions in public."""
    with connect(empty_database_url, purpose="test") as c:
        migrate(c)
        rows = c.execute(
            "SELECT r.rolname, t.name,"
            " has_table_privilege(r.rolname, 'reminders.' || t.name, 'SELECT') AS can_read"
            " FROM (VALUES ('anon'), ('authenticated')) r (rolname),"
            " (VALUES ('mentor_stand_ins'), ('last_contact_baselines'),"
            "  ('last_contact_corrections')) t (name)"
        ).fetchall()
        assert [r for r in rows if r["can_read"]] == []
        functions = c.execute(
            "SELECT p.proname, has_function_privilege('authenticated', p.oid, 'EXECUTE') AS x,"
            " has_function_privilege('anon', p.oid, 'EXECUTE') AS anon_x"
            " FROM pg_proc p WHERE p.pronamespace = 'reminders'::regnamespace"
            " AND p.proname IN ('set_last_contact_date', 'computed_last_contact_dates',"
            " 'activities_after_insert', 'activities_after_change',"
            " 'rls_accessible_assignments')"
            " ORDER BY p.proname"
        ).fetchall()
        assert [(f["proname"], f["x"], f["anon_x"]) for f in functions] == [
            ("activities_after_change", False, False),
            ("activities_after_insert", False, False),
            ("computed_last_contact_dates", False, False),
            ("rls_accessible_assignments", True, False),
            ("set_last_contact_date", False, False),
        ]


def test_every_function_pins_its_search_path(conn: Connection) -> None:
    rows = conn.execute(
        "SELECT p.oid::regprocedure::text AS f FROM pg_proc p"
        " WHERE (p.pronamespace = 'reminders'::regnamespace"
        "  OR (p.pronamespace = 'public'::regnamespace AND p.proname <> ALL (%(host)s)))"
        " AND NOT coalesce("
        "  p.proconfig && ARRAY['search_path=\"\"', 'search_path=pg_catalog'], false)",
        {"host": list(HOST_FUNCTIONS)},
    ).fetchall()
    assert rows == []
    pinned = conn.execute(
        "SELECT count(*) AS n FROM pg_proc WHERE pronamespace = 'reminders'::regnamespace"
        " AND proconfig && ARRAY['search_path=\"\"']"
    ).fetchone()
    assert pinned is not None and pinned["n"] >= 8  # this migration's own functions
