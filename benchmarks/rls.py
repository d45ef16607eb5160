"""Reads through row-level security at scale, as supabase-js makes them.

Run: ``python -m benchmarks.rls [--assignments 1000000]`` (uses DATABASE_URL or a throwaway
embedded PostgreSQL; works in a scratch database it creates and drops). Seeds the assignments
(`reminders seed`: 50,000 per organization, 8 per mentor), two activities per assignment and a
notification for every fourth, then times each read as PostgREST runs it: ``SET LOCAL ROLE
authenticated`` and ``request.jwt.claims`` in a transaction, under Supabase's 8 s
``statement_timeout``. The baseline is the same rows read as service_role (no RLS) with the filter
written out, in the same run. Targets (issue 9): a mentor's reads <= 10 ms, a coordinator's page of
100 <= 20 ms, at 1M assignments.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from datetime import date
from typing import Any

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.migrations import migrate
from assignment_reminders.dev.seed import seed
from assignment_reminders.tables import render

from . import options
from .scratch import measure, p50_p95, scratch_database

TODAY = date(2026, 11, 28)

ACTIVITIES = """
INSERT INTO activities (assignment_id, occurred_on, registration_path)
SELECT a.id, greatest(a.starts_on, %(today)s::date - k * 3), 'sql'
FROM assignments a CROSS JOIN generate_series(1, 2) k
"""
DISPATCHES = """
INSERT INTO reminders.reminder_dispatches (assignment_id, kind, gap_started_on,
    days_since_contact, organization_id, peer_mentor_id, coordinator_id, recipient_user_id)
SELECT a.id, 'reminder', %(today)s::date - 15, 15, a.organization_id, a.peer_mentor_id,
       pm.coordinator_id, pm.user_id
FROM assignments a JOIN peer_mentors pm ON pm.id = a.peer_mentor_id
WHERE a.id %% 4 = 0
"""
NOTIFICATIONS = """
INSERT INTO notifications (dispatch_id, recipient_user_id, title, body)
SELECT id, recipient_user_id, 'Time to get in touch', 'It has been 15 days.'
FROM reminders.reminder_dispatches
"""

# (label, who, query under RLS, the same rows without RLS, target ms)
READS: list[tuple[str, str, str, str, float]] = [
    (
        "mentor: own assignments",
        "mentor",
        "SELECT * FROM assignments",
        "SELECT * FROM assignments WHERE peer_mentor_id = %(mentor_id)s",
        10.0,
    ),
    (
        "mentor: own activities",
        "mentor",
        "SELECT * FROM activities",
        "SELECT act.* FROM activities act JOIN assignments a ON a.id = act.assignment_id"
        " WHERE a.peer_mentor_id = %(mentor_id)s",
        10.0,
    ),
    (
        "mentor: own notifications",
        "mentor",
        "SELECT * FROM notifications ORDER BY created_at DESC",
        "SELECT * FROM notifications WHERE recipient_user_id = %(mentor_user)s"
        " ORDER BY created_at DESC",
        10.0,
    ),
    (
        "coordinator: page of 100 assignments",
        "coordinator",
        "SELECT * FROM assignments ORDER BY id LIMIT 100",
        "SELECT * FROM assignments WHERE organization_id = %(org_id)s ORDER BY id LIMIT 100",
        20.0,
    ),
    (
        "mentor: contacts of own assignments",
        "mentor",
        "SELECT * FROM contacts",
        "SELECT ct.* FROM contacts ct WHERE ct.id IN"
        " (SELECT a.contact_id FROM assignments a WHERE a.peer_mentor_id = %(mentor_id)s)",
        10.0,
    ),
    (
        "mentor: own row and organization",
        "mentor",
        "SELECT * FROM peer_mentors pm JOIN organizations o ON o.id = pm.organization_id",
        "SELECT * FROM peer_mentors pm JOIN organizations o ON o.id = pm.organization_id"
        " WHERE pm.id = %(mentor_id)s",
        10.0,
    ),
    (
        "coordinator: page of 100 contacts",
        "coordinator",
        "SELECT * FROM contacts ORDER BY id LIMIT 100",
        "SELECT * FROM contacts WHERE organization_id = %(org_id)s ORDER BY id LIMIT 100",
        20.0,
    ),
    (
        "coordinator: page of 100 peer mentors",
        "coordinator",
        "SELECT * FROM peer_mentors ORDER BY id LIMIT 100",
        "SELECT * FROM peer_mentors WHERE organization_id = %(org_id)s ORDER BY id LIMIT 100",
        20.0,
    ),
]


def people(conn: Connection) -> dict[str, Any]:
    """A mentor in the middle of the data who has notifications, and the coordinator of the LAST
    organization (its assignments have the highest ids: the worst case for an id-ordered page)."""
    mentor = conn.execute(
        "SELECT pm.id, pm.user_id FROM peer_mentors pm WHERE pm.id = ("
        " SELECT d.peer_mentor_id FROM reminders.reminder_dispatches d ORDER BY d.id"
        " OFFSET (SELECT count(*) / 2 FROM reminders.reminder_dispatches) LIMIT 1)"
    ).fetchone()
    coordinator = conn.execute(
        "SELECT user_id, organization_id FROM coordinators"
        " WHERE organization_id = (SELECT max(id) FROM organizations) ORDER BY id LIMIT 1"
    ).fetchone()
    assert mentor is not None and coordinator is not None
    return {
        "mentor_id": mentor["id"],
        "mentor_user": mentor["user_id"],
        "coordinator_user": coordinator["user_id"],
        "org_id": coordinator["organization_id"],
    }


def as_user(conn: Connection, user: object, statement: str) -> Callable[[], int]:
    claims = json.dumps({"sub": str(user), "role": "authenticated"})

    def run() -> int:
        with conn.transaction():
            conn.execute("SET LOCAL ROLE authenticated")
            conn.execute("SET LOCAL statement_timeout = '8s'")
            conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (claims,))
            return len(conn.execute(statement).fetchall())

    return run


def plan_as_user(conn: Connection, user: object, statement: str) -> list[str]:
    claims = json.dumps({"sub": str(user), "role": "authenticated"})
    with conn.transaction():
        conn.execute("SET LOCAL ROLE authenticated")
        conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (claims,))
        rows = conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {statement}").fetchall()
    return [next(iter(r.values())) for r in rows]


def as_service(conn: Connection, statement: str, params: dict[str, Any]) -> Callable[[], int]:
    def run() -> int:
        with conn.transaction():
            conn.execute("SET LOCAL ROLE service_role")
            return len(conn.execute(statement, params).fetchall())

    return run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_assignments(parser, 100_000)
    parser.add_argument("--iterations", type=options.positive, default=50)
    parser.add_argument("--explain", action="store_true", help="Print each read's plan under RLS.")
    args = parser.parse_args(argv)
    with scratch_database("bench_rls") as url, connect(url, purpose="bench") as conn:
        migrate(conn)
        seed(conn, assignments=args.assignments, today=TODAY)
        with conn.transaction():
            # Loading only: the dates are valid, and the triggers' cost is another benchmark's.
            conn.execute("ALTER TABLE activities DISABLE TRIGGER USER")
            conn.execute(ACTIVITIES, {"today": TODAY})
            conn.execute("ALTER TABLE activities ENABLE TRIGGER USER")
            conn.execute(DISPATCHES, {"today": TODAY})
            conn.execute(NOTIFICATIONS)
        conn.execute("VACUUM ANALYZE")
        who = people(conn)
        rows = []
        for label, role, rls_sql, plain_sql, target in READS:
            user = who["mentor_user"] if role == "mentor" else who["coordinator_user"]
            with_rls = as_user(conn, user, rls_sql)
            without = as_service(conn, plain_sql, who)
            if args.explain:
                print(f"-- {label}")
                print("\n".join(plan_as_user(conn, user, rls_sql)))
            count, expected = with_rls(), without()
            if count != expected:
                raise SystemExit(f"{label}: RLS returned {count} rows, the filter {expected}")
            rls_p50, rls_p95 = p50_p95(measure(with_rls, args.iterations))
            base_p50, base_p95 = p50_p95(measure(without, args.iterations))
            rows.append(
                {
                    "read": label,
                    "rows": count,
                    "rls_p50": rls_p50,
                    "rls_p95": rls_p95,
                    "base_p50": base_p50,
                    "base_p95": base_p95,
                    "target": target,
                    "ok": "yes" if rls_p95 <= target else "NO",
                }
            )
    print(f"{args.assignments:,} assignments, {args.iterations} reads each (ms)")
    print(
        render(
            rows,
            [
                ("read", "read"),
                ("rows", "rows"),
                ("rls_p50", "RLS p50"),
                ("rls_p95", "RLS p95"),
                ("base_p50", "no-RLS p50"),
                ("base_p95", "no-RLS p95"),
                ("target", "target p95"),
                ("ok", "met"),
            ],
        )
    )


if __name__ == "__main__":
    main()
