"""Policies evaluate the caller once per statement: no helper call per row in any plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from assignment_reminders.db.database import Connection
from tests.activity_world import World, as_supabase_user, make_world

READS = {
    "assignments": "SELECT * FROM public.assignments",
    "activities": "SELECT * FROM public.activities",
    "notifications": "SELECT * FROM public.notifications",
    "coordinator page": "SELECT * FROM public.assignments ORDER BY id LIMIT 100",
    "mark read": "UPDATE public.notifications SET read_at = now() WHERE read_at IS NULL",
    "delete": "DELETE FROM public.activities WHERE occurred_on < '2000-01-01'",
    "organizations": "SELECT * FROM public.organizations",
    "coordinators": "SELECT * FROM public.coordinators",
    "peer_mentors": "SELECT * FROM public.peer_mentors",
    "contacts": "SELECT * FROM public.contacts",
}


def nodes(
    plan: dict[str, Any], inside_initplan: bool = False
) -> Iterator[tuple[dict[str, Any], bool]]:
    """Every plan node, with whether it runs once (under an InitPlan) or may run per row."""
    once = inside_initplan or plan.get("Parent Relationship") == "InitPlan"
    yield plan, once
    for child in plan.get("Plans", []):
        yield from nodes(child, once)


def per_row_calls(conn: Connection, statement: str) -> list[str]:
    row = conn.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {statement}").fetchone()
    assert row is not None
    plan = row["QUERY PLAN"][0]["Plan"]
    found = []
    for node, once in nodes(plan):
        if node.get("Parent Relationship") == "SubPlan":
            found.append(f"SubPlan {node.get('Subplan Name')}")
        text = json.dumps({k: v for k, v in node.items() if k != "Plans"})
        for helper in ("reminders.per_row_check", "reminders.", "auth.uid()", "auth.jwt()"):
            if helper in text and not once:
                found.append(f"{node['Node Type']}: {helper}")
    return found


@pytest.fixture
def world(conn: Connection) -> World:
    return make_world(conn)


@pytest.mark.parametrize("who", ["mentor", "stand_in", "coordinator"])
def test_no_policy_calls_a_helper_per_row(conn: Connection, world: World, who: str) -> None:
    role = "coordinator" if who == "coordinator" else "peer_mentor"
    with as_supabase_user(conn, getattr(world, who), role):
        conn.execute("SET LOCAL enable_seqscan = off")
        found = {name: per_row_calls(conn, statement) for name, statement in READS.items()}
    assert found == {name: [] for name in READS}


def test_a_mentors_read_uses_the_index_on_their_assignments(conn: Connection, world: World) -> None:
    with as_supabase_user(conn, world.mentor, "peer_mentor"):
        conn.execute("SET LOCAL enable_seqscan = off")
        row = conn.execute("EXPLAIN (FORMAT JSON) SELECT * FROM public.assignments").fetchone()
    assert row is not None
    text = json.dumps(row["QUERY PLAN"])
    assert "(id = ANY ($0))" in text
    assert "assignments_pkey" in text


@pytest.mark.parametrize("table", ["organizations", "coordinators", "peer_mentors", "contacts"])
def test_reads_of_people_and_contacts_look_up_keys_from_one_array(
    conn: Connection, world: World, table: str
) -> None:
    with as_supabase_user(conn, world.coordinator, "coordinator"):
        conn.execute("SET LOCAL enable_seqscan = off")
        row = conn.execute(f"EXPLAIN (FORMAT JSON) SELECT * FROM public.{table}").fetchone()
    assert row is not None
    text = json.dumps(row["QUERY PLAN"])
    assert "(id = ANY ($0))" in text
    assert f"{table}_pkey" in text


def test_the_checker_sees_the_per_row_helper_calls_of_the_first_policies(
    conn: Connection, world: World
) -> None:
    """The check itself: a policy written the old way (a helper per row) is caught."""
    conn.execute(
        "CREATE FUNCTION reminders.per_row_check(p_id bigint) RETURNS boolean"
        " LANGUAGE sql STABLE SECURITY DEFINER SET search_path = ''"
        " AS $$ SELECT EXISTS (SELECT FROM public.assignments a WHERE a.id = p_id"
        " AND a.peer_mentor_id IN (SELECT pm.id FROM public.peer_mentors pm"
        " WHERE pm.user_id = auth.uid())) $$"
    )
    conn.execute(
        "CREATE POLICY old_way ON public.contacts FOR SELECT TO authenticated"
        " USING (reminders.per_row_check(id))"
    )
    conn.execute("GRANT SELECT ON public.contacts TO authenticated")
    with as_supabase_user(conn, world.mentor, "peer_mentor"):
        found = per_row_calls(conn, "SELECT * FROM public.contacts")
    assert any("reminders.per_row_check" in f for f in found), found
