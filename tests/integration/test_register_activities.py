"""reminders.register_activities: who may register what by which path, all or nothing, in one
statement; and the plans the activity triggers reuse (small statements) or make afresh (large)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from assignment_reminders.activities import Outcome, Path
from assignment_reminders.db.database import Connection
from assignment_reminders.db.gateway import fetch_all, named
from assignment_reminders.dev.seed import seed
from tests.activity_world import (
    NOW,
    STARTED,
    TODAY,
    World,
    api_client,
    bearer,
    last_contact,
    make_world,
)
from tests.conftest import PROJECT_ROLE, as_user
from tests.due_index import stale_due_rows
from tests.pgbouncer import running_pgbouncer

YESTERDAY = TODAY - timedelta(days=1)
REGISTER = named("register_activities")


@pytest.fixture
def world(conn: Connection) -> World:
    return make_world(conn)


def register(
    conn: Connection, path: Path, caller: UUID, items: list[tuple[int, date]]
) -> list[Outcome]:
    params: dict[str, Any] = {
        "path": path,
        "caller": caller,
        "assignment_ids": [a for a, _ in items],
        "dates": [d for _, d in items],
        "notes": [None for _ in items],
        "now": NOW,
    }
    return fetch_all(conn, REGISTER, params, row=Outcome)


def activity_count(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) AS n FROM activities").fetchone()
    assert row is not None
    return int(row["n"])


# (path, caller, assignment): each path allows exactly its callers
MATRIX: list[tuple[Path, str, str, str | None]] = [
    ("direct", "mentor", "assignment", None),
    ("direct", "stand_in", "stood_in", "forbidden"),
    ("direct", "other_mentor", "assignment", "forbidden"),
    ("proxy", "stand_in", "stood_in", None),
    ("proxy", "mentor", "assignment", "forbidden"),
    ("proxy", "stand_in", "foreign", "forbidden"),
    ("bulk", "mentor", "assignment", None),
    ("bulk", "stand_in", "stood_in", None),
    ("bulk", "stand_in", "stand_in_own", None),
    ("bulk", "other_mentor", "assignment", "forbidden"),
    ("coordinator_proxy", "coordinator", "assignment", None),
    ("coordinator_proxy", "other_coordinator", "assignment", "forbidden"),
    ("coordinator_proxy", "mentor", "assignment", "forbidden"),
    ("nonsense", "mentor", "assignment", "forbidden"),  # type: ignore[list-item]
]


@pytest.mark.parametrize("case", MATRIX, ids=[" ".join(c[:3]) for c in MATRIX])
def test_each_path_allows_exactly_its_callers(
    conn: Connection, world: World, case: tuple[Path, str, str, str | None]
) -> None:
    path, caller, assignment, refusal = case
    target: int = getattr(world, assignment)
    [outcome] = register(conn, path, getattr(world, caller), [(target, YESTERDAY)])
    assert (outcome.item, outcome.assignment_id, outcome.refusal) == (1, target, refusal)
    if refusal is None:
        assert outcome.id is not None and outcome.registration_path == path
        assert outcome.last_contact_date == YESTERDAY == last_contact(conn, target)
    else:
        assert outcome.id is None
        assert activity_count(conn) == 0


def test_a_stand_in_whose_period_has_ended_may_not_proxy(conn: Connection, world: World) -> None:
    conn.execute(
        "UPDATE reminders.mentor_stand_ins SET ends_on = %(d)s WHERE stand_in_id = %(s)s",
        {"d": TODAY - timedelta(days=2), "s": world.stand_in_id},
    )
    [outcome] = register(conn, "proxy", world.stand_in, [(world.stood_in, YESTERDAY)])
    assert outcome.refusal == "forbidden"


@pytest.mark.parametrize(
    ("day", "refusal"),
    [
        (TODAY + timedelta(days=1), "future"),
        (STARTED - timedelta(days=1), "before_start"),
        (TODAY, None),
        (STARTED, None),
    ],
)
def test_dates_are_checked_against_the_organizations_today_and_the_start(
    conn: Connection, world: World, day: date, refusal: str | None
) -> None:
    [outcome] = register(conn, "direct", world.mentor, [(world.assignment, day)])
    assert outcome.refusal == refusal
    if refusal is not None:
        assert (outcome.time_zone, outcome.today, outcome.starts_on) == (
            "Europe/Oslo",
            TODAY,
            STARTED,
        )


def test_an_unknown_assignment_is_missing(conn: Connection, world: World) -> None:
    [outcome] = register(conn, "direct", world.mentor, [(2**62, YESTERDAY)])
    assert (outcome.assignment_id, outcome.refusal) == (2**62, "missing")


def test_a_batch_is_all_or_nothing_and_reports_every_refused_item(
    conn: Connection, world: World
) -> None:
    items = [
        (world.assignment, YESTERDAY),
        (world.foreign, YESTERDAY),
        (world.second, TODAY + timedelta(days=3)),
        (world.stand_in_own, YESTERDAY),  # the stand-in's own: not the mentor's to register
    ]
    outcomes = register(conn, "bulk", world.mentor, items)
    assert [(o.item, o.refusal) for o in outcomes] == [
        (2, "forbidden"),
        (3, "future"),
        (4, "forbidden"),
    ]
    assert activity_count(conn) == 0


def test_a_written_batch_comes_back_in_item_order_with_the_new_dates(
    conn: Connection, world: World
) -> None:
    items = [(world.second, YESTERDAY), (world.assignment, TODAY), (world.second, TODAY)]
    outcomes = register(conn, "bulk", world.mentor, items)
    assert [(o.item, o.assignment_id, o.occurred_on, o.refusal) for o in outcomes] == [
        (1, world.second, YESTERDAY, None),
        (2, world.assignment, TODAY, None),
        (3, world.second, TODAY, None),
    ]
    ids = [o.registered().id for o in outcomes]
    assert ids == sorted(ids)
    assert {o.assignment_id: o.last_contact_date for o in outcomes} == {
        world.second: TODAY,
        world.assignment: TODAY,
    }


def test_large_statements_get_the_same_answers_as_small_ones(conn: Connection) -> None:
    """Above 1,000 rows the functions let the planner plan for the array: the date rule and the
    due index still hold."""
    seed(conn, assignments=1_200, today=TODAY)
    conn.execute("ANALYZE")
    rows = conn.execute(
        "SELECT id, starts_on FROM assignments WHERE starts_on <= %(d)s ORDER BY id LIMIT 1100",
        {"d": YESTERDAY},
    ).fetchall()
    assert len(rows) > 1000
    ids, days = [r["id"] for r in rows], [YESTERDAY for _ in rows]
    bad = [*days[:-1], rows[-1]["starts_on"] - timedelta(days=1)]
    with pytest.raises(psycopg.errors.CheckViolation, match="before the assignment started"):
        conn.execute(
            "INSERT INTO activities (assignment_id, occurred_on)"
            " SELECT * FROM unnest(%(i)s::bigint[], %(d)s::date[])",
            {"i": ids, "d": bad},
        )
    conn.execute(
        "INSERT INTO activities (assignment_id, occurred_on)"
        " SELECT * FROM unnest(%(i)s::bigint[], %(d)s::date[])",
        {"i": ids, "d": days},
    )
    row = conn.execute(
        "SELECT count(*) AS n FROM assignments WHERE id = ANY(%(i)s)"
        " AND last_contact_date IS DISTINCT FROM greatest(last_contact_date, %(d)s)",
        {"i": ids, "d": YESTERDAY},
    ).fetchone()
    assert row is not None and row["n"] == 0
    assert stale_due_rows(conn) == []


def test_the_api_registers_through_a_transaction_pooler(
    pg_admin_url: str, database_url: str, conn: Connection, world: World
) -> None:
    """PgBouncer in transaction mode hands each statement to whichever backend is free: the
    one-statement registration (no prepared statements; PL/pgSQL plans are per backend) works
    from many threads at once, and every activity lands."""
    days = [TODAY - timedelta(days=d) for d in range(1, 11)]
    with (
        running_pgbouncer(as_user(pg_admin_url, PROJECT_ROLE), "transaction") as bouncer,
        api_client(bouncer.url_for(database_url)) as client,
    ):

        def post(day: date) -> int:
            body = {"assignment_id": world.assignment, "occurred_on": day.isoformat()}
            return client.post(
                "/activities", json=body, headers=bearer(world.mentor, "peer_mentor")
            ).status_code

        with ThreadPoolExecutor(max_workers=8) as threads:
            statuses = list(threads.map(post, days * 3))
    assert statuses == [201] * 30
    assert activity_count(conn) == 30
    assert last_contact(conn, world.assignment) == YESTERDAY
