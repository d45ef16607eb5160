"""``reminders seed``: realistic synthetic organizations, people and assignments, loaded with COPY.

Deterministic for a given ``--random-seed``. Each call adds one or more new organizations, so it
never disturbs data that is already there. Ids are reserved up front from each table's identity
sequence (under a table lock), which lets the rows reference each other inside one COPY stream.
One transaction: a failed seed leaves nothing behind.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from psycopg import sql

from .database import Connection
from .exceptions import InputError

FIRST_NAMES = (
    "Ada",
    "Amir",
    "Anna",
    "Astrid",
    "Ben",
    "Camilla",
    "Daniel",
    "Elin",
    "Emma",
    "Erik",
    "Fatima",
    "Henrik",
    "Ida",
    "Ingrid",
    "Jonas",
    "Kari",
    "Lars",
    "Leah",
    "Linnea",
    "Magnus",
    "Maja",
    "Mohammed",
    "Nora",
    "Ola",
    "Oskar",
    "Per",
    "Sara",
    "Selma",
    "Sofie",
    "Thomas",
    "Tuva",
    "Viktor",
    "Yusuf",
    "Zara",
)
LAST_NAMES = (
    "Andersen",
    "Bakke",
    "Berg",
    "Dahl",
    "Eriksen",
    "Haugen",
    "Hansen",
    "Johansen",
    "Karlsen",
    "Khan",
    "Larsen",
    "Lie",
    "Moen",
    "Nilsen",
    "Olsen",
    "Pedersen",
    "Solberg",
    "Strand",
    "Vik",
    "Ali",
)
ORGANIZATIONS = (
    ("Oslo Peer Network", "Europe/Oslo", "nb"),
    ("Bergen Mentors", "Europe/Oslo", "nb"),
    ("Stockholm Kamratstöd", "Europe/Stockholm", "sv"),
    ("Helsinki Vertaistuki", "Europe/Helsinki", "fi"),
    ("Boston Peer Circle", "America/New_York", "en"),
)

ASSIGNMENTS_PER_MENTOR = 8
MENTORS_PER_COORDINATOR = 25
ASSIGNMENTS_PER_ORGANIZATION = 50_000


@dataclass(frozen=True)
class SeedResult:
    organizations: int
    coordinators: int
    peer_mentors: int
    contacts: int
    assignments: int
    first_assignment_id: int


def _reserve_ids(conn: Connection, table: str, count: int) -> int:
    """Reserve *count* consecutive ids from *table*'s identity sequence; return the first."""
    ident = sql.Identifier("public", table)
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(ident))
    row = conn.execute(
        sql.SQL(
            "SELECT setval(pg_get_serial_sequence({t}, 'id'),"
            " greatest((SELECT coalesce(max(id), 0) FROM {i}),"
            "   (SELECT last_value FROM pg_sequences WHERE schemaname = 'public'"
            "    AND sequencename = {s})) + {n}) - {n} + 1 AS first"
        ).format(
            t=sql.Literal(f"public.{table}"),
            i=ident,
            s=sql.Literal(f"{table}_id_seq"),
            n=sql.Literal(count),
        )
    ).fetchone()
    assert row is not None
    return int(row["first"])


def _skip_triggers_if_allowed(conn: Connection) -> bool:
    """The rows reference each other by construction; per-row FK checks double the load time.

    ``session_replication_role = replica`` (this transaction only) skips them, and needs a
    superuser; elsewhere (Supabase's ``postgres`` role) the checks simply run. It also skips the
    due index's triggers: the caller then computes the index in bulk. Returns whether it did.
    """
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    if row and row["rolsuper"]:
        conn.execute("SET LOCAL session_replication_role = replica")
        return True
    return False


def _has_due_index(conn: Connection) -> bool:
    """Whether the due-index migration is applied (benchmarks seed partial schemas too)."""
    row = conn.execute(
        "SELECT to_regclass('reminders.assignment_due') IS NOT NULL AS ok"
    ).fetchone()
    return bool(row and row["ok"])


def _copy(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterator[Sequence[object]]
) -> None:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier("public", table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(stmt) as copy:
        for row in rows:
            copy.write_row(row)


def seed(  # noqa: PLR0915 - one transaction, five COPY streams that share reserved ids
    conn: Connection, *, assignments: int, today: date, random_seed: int = 1
) -> SeedResult:
    """Add *assignments* assignments with their organizations, people and contacts."""
    if assignments < 1:
        raise InputError("--assignments must be at least 1", field="assignments")
    rng = random.Random(random_seed)  # noqa: S311 - synthetic data, not secrets
    n_orgs = max(1, -(-assignments // ASSIGNMENTS_PER_ORGANIZATION))
    n_mentors = max(n_orgs, -(-assignments // ASSIGNMENTS_PER_MENTOR))
    n_coords = max(n_orgs, -(-n_mentors // MENTORS_PER_COORDINATOR))

    with conn.transaction():
        triggers_skipped = _skip_triggers_if_allowed(conn)
        org0 = _reserve_ids(conn, "organizations", n_orgs)
        coord0 = _reserve_ids(conn, "coordinators", n_coords)
        mentor0 = _reserve_ids(conn, "peer_mentors", n_mentors)
        contact0 = _reserve_ids(conn, "contacts", assignments)
        assign0 = _reserve_ids(conn, "assignments", assignments)

        def name() -> tuple[str, str]:
            return rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)

        def orgs() -> Iterator[Sequence[object]]:
            for i in range(n_orgs):
                title, tz, lang = ORGANIZATIONS[(org0 + i) % len(ORGANIZATIONS)]
                yield (org0 + i, f"{title} #{org0 + i}", tz, lang, 10, 20)

        _copy(
            conn,
            "organizations",
            ("id", "name", "time_zone", "language", "reminder_after_days", "escalation_after_days"),
            orgs(),
        )

        def coordinators() -> Iterator[Sequence[object]]:
            for i in range(n_coords):
                first, last = name()
                email = f"{first}.{last}.c{coord0 + i}@example.org".lower()
                yield (coord0 + i, org0 + i % n_orgs, first, last, email)

        _copy(
            conn,
            "coordinators",
            ("id", "organization_id", "first_name", "last_name", "email"),
            coordinators(),
        )

        def mentor_org(i: int) -> int:
            return i % n_orgs

        def mentors() -> Iterator[Sequence[object]]:
            per_org_coords = max(1, n_coords // n_orgs)
            for i in range(n_mentors):
                org = mentor_org(i)
                # a coordinator of the same organization
                coord = org + n_orgs * (rng.randrange(per_org_coords))
                coord = coord if coord < n_coords else org
                first, last = name()
                email = f"{first}.{last}.m{mentor0 + i}@example.org".lower()
                yield (mentor0 + i, org0 + org, coord0 + coord, first, last, email)

        _copy(
            conn,
            "peer_mentors",
            ("id", "organization_id", "coordinator_id", "first_name", "last_name", "email"),
            mentors(),
        )

        def contacts() -> Iterator[Sequence[object]]:
            for i in range(assignments):
                first, last = name()
                yield (contact0 + i, org0 + mentor_org(i % n_mentors), first, last)

        _copy(conn, "contacts", ("id", "organization_id", "first_name", "last_name"), contacts())

        def assignment_rows() -> Iterator[Sequence[object]]:
            for i in range(assignments):
                mentor = i % n_mentors
                r = rng.random()
                status = "active" if r < 0.85 else "paused" if r < 0.95 else "ended"
                starts_on = today - timedelta(days=rng.randrange(14, 720))
                ends_on = (
                    today - timedelta(days=rng.randrange(1, 10)) if status == "ended" else None
                )
                # a realistic spread: most mentors keep in touch, some drift past 10 and 20 days
                if rng.random() < 0.08:
                    last_contact: date | None = None
                else:
                    gap = int(rng.expovariate(1 / 9))
                    last_contact = max(starts_on, today - timedelta(days=gap))
                yield (
                    assign0 + i,
                    org0 + mentor_org(mentor),
                    mentor0 + mentor,
                    contact0 + i,
                    status,
                    starts_on,
                    ends_on,
                    last_contact,
                )

        _copy(
            conn,
            "assignments",
            (
                "id",
                "organization_id",
                "peer_mentor_id",
                "contact_id",
                "status",
                "starts_on",
                "ends_on",
                "last_contact_date",
            ),
            assignment_rows(),
        )
        if triggers_skipped and _has_due_index(conn):
            # the due index, in one pass over the new id range (not a trigger per COPY row)
            conn.execute(
                "SELECT reminders.refresh_assignment_due_range(%s, %s)",
                (assign0 - 1, assign0 + assignments - 1),
            )
    conn.execute("ANALYZE public.assignments")
    if _has_due_index(conn):
        conn.execute("ANALYZE reminders.assignment_due")
    return SeedResult(n_orgs, n_coords, n_mentors, assignments, assignments, assign0)
