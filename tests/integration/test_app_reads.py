"""What the app's users read through the Data API: PostgREST's role switch (SET ROLE authenticated,
request.jwt.claims) on the Supabase-shaped database, over the organization, people and contacts."""

from __future__ import annotations

import json

import psycopg
import pytest

from assignment_reminders.db.database import Connection
from tests.activity_world import World, as_supabase_user, make_world

TABLES = ("organizations", "coordinators", "peer_mentors", "contacts")


@pytest.fixture
def world(conn: Connection) -> World:
    return make_world(conn)


def _ids(conn: Connection, sql: str, params: dict[str, object] | None = None) -> set[int]:
    return {int(r["id"]) for r in conn.execute(sql, params or {}).fetchall()}


def _visible(conn: Connection) -> dict[str, set[int]]:
    return {t: _ids(conn, f"SELECT id FROM public.{t}") for t in TABLES}


def _contacts_of(conn: Connection, *assignments: int) -> set[int]:
    return _ids(
        conn,
        "SELECT contact_id AS id FROM public.assignments WHERE id = ANY (%(a)s)",
        {"a": list(assignments)},
    )


def _of_organization(conn: Connection, table: str, org: int) -> set[int]:
    return _ids(conn, f"SELECT id FROM public.{table} WHERE organization_id = %(o)s", {"o": org})


def test_a_mentor_reads_their_row_their_organization_and_their_assignments_contacts(
    conn: Connection, world: World
) -> None:
    expected = {
        "organizations": {world.org},
        "coordinators": set(),
        "peer_mentors": {world.mentor_id},
        "contacts": _contacts_of(conn, world.assignment, world.second),
    }
    assert len(expected["contacts"]) == 2
    with as_supabase_user(conn, world.mentor, "peer_mentor"):
        assert _visible(conn) == expected


def test_a_stand_in_also_reads_the_contacts_of_the_mentor_they_stand_in_for(
    conn: Connection, world: World
) -> None:
    expected = {
        "organizations": {world.org},
        "coordinators": set(),
        "peer_mentors": {world.stand_in_id},
        "contacts": _contacts_of(conn, world.assignment, world.second, world.stand_in_own),
    }
    with as_supabase_user(conn, world.stand_in, "peer_mentor"):
        assert _visible(conn) == expected


def test_another_organizations_mentor_sees_none_of_these_rows(
    conn: Connection, world: World
) -> None:
    theirs = {
        "organizations": {world.other_org},
        "coordinators": set(),
        "peer_mentors": _of_organization(conn, "peer_mentors", world.other_org),
        "contacts": _contacts_of(conn, world.foreign),
    }
    assert len(theirs["peer_mentors"]) == 1
    with as_supabase_user(conn, world.other_mentor, "peer_mentor"):
        assert _visible(conn) == theirs


def test_a_coordinator_reads_their_organizations_people_and_contacts_only(
    conn: Connection, world: World
) -> None:
    for user, org in ((world.coordinator, world.org), (world.other_coordinator, world.other_org)):
        expected = {"organizations": {org}} | {
            t: _of_organization(conn, t, org) for t in TABLES[1:]
        }
        assert len(expected["peer_mentors"]) == (2 if org == world.org else 1)
        with as_supabase_user(conn, user, "coordinator"):
            assert _visible(conn) == expected


def test_a_signed_in_user_who_is_nobody_here_reads_nothing(conn: Connection, world: World) -> None:
    stranger = conn.execute("SELECT gen_random_uuid() AS u").fetchone()
    assert stranger is not None
    with as_supabase_user(conn, stranger["u"], "coordinator"):  # the claim alone gives nothing
        assert _visible(conn) == {t: set() for t in TABLES}


WRITES = (
    "UPDATE public.organizations SET name = 'x'",
    "UPDATE public.coordinators SET email = NULL",
    "UPDATE public.peer_mentors SET first_name = 'x'",
    "DELETE FROM public.contacts",
    "INSERT INTO public.contacts (organization_id, first_name, last_name)"
    " SELECT id, 'a', 'b' FROM public.organizations",
)


def test_a_coordinator_may_read_but_not_write_and_anon_may_not_even_read(
    conn: Connection, world: World
) -> None:
    for statement in WRITES:
        with as_supabase_user(conn, world.coordinator, "coordinator"):
            assert _visible(conn)["organizations"] == {world.org}  # reading works
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)
    for table in TABLES:
        with conn.transaction():
            conn.execute("SET LOCAL ROLE anon")
            claims = json.dumps({"role": "anon"})
            conn.execute("SELECT set_config('request.jwt.claims', %(c)s, true)", {"c": claims})
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(f"SELECT id FROM public.{table}")


def test_authenticated_is_granted_select_and_nothing_else_on_these_tables(
    conn: Connection,
) -> None:
    rows = conn.execute(
        "SELECT table_name AS t, string_agg(privilege_type, ',' ORDER BY privilege_type) AS p"
        " FROM information_schema.role_table_grants WHERE grantee = %(r)s"
        " AND table_schema = 'public' AND table_name = ANY (%(t)s) GROUP BY 1 ORDER BY 1",
        {"r": "authenticated", "t": list(TABLES)},
    ).fetchall()
    assert rows == [{"t": t, "p": "SELECT"} for t in sorted(TABLES)]
    anon = conn.execute(
        "SELECT count(*) AS n FROM information_schema.role_table_grants"
        " WHERE grantee = 'anon' AND table_schema = 'public' AND table_name = ANY (%(t)s)",
        {"t": list(TABLES)},
    ).fetchone()
    assert anon == {"n": 0}
