"""``reminders seed``: realistic synthetic organizations, people and assignments, loaded with COPY.

Deterministic for a given ``--random-seed``. Each call adds one or more new organizations, so it
never disturbs data that is already there. Ids are reserved up front from each table's identity
sequence (under a table lock), which lets the rows reference each other inside one COPY stream.
One transaction: a failed seed leaves nothing behind.

A superuser's seed into a fresh database is a bulk load (ten million assignments for the
benchmark): triggers and FK checks skipped for the transaction, the big tables truncated and
COPYd ``WITH (FREEZE)`` without their indexes, which are built afterwards by one sort each, and
the due index written from what the seed generated (:mod:`.seed_due`). Its helpers for that
(sql/seed.sql) are created in the session's ``pg_temp``: they are not part of the product's schema.
Each phase's time is logged at DEBUG (``python -m benchmarks.seed_phases`` prints them).

Every coordinator and mentor gets a made-up login id (:func:`seeded_user_id`); where
``auth.users`` exists (Supabase), the seed adds those users to it first (bare rows: no email, no
password, nobody can sign in as them), since ``user_id`` references it. Seed development
databases only: a host's own triggers on ``auth.users`` see these rows too.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta

from psycopg import sql

from ..db.database import Connection
from ..db.gateway import copy_binary_rows, copy_lines, execute, fetch_value, named, transaction
from ..exceptions import InputError
from .seed_due import COLUMNS as DUE_COLUMNS
from .seed_due import DueRows

logger = logging.getLogger(__name__)

_MAY_SKIP_FK_CHECKS = named("seed_may_skip_fk_checks")
_SKIP_FK_CHECKS = named("seed_skip_fk_checks")
_ANALYZE = named("seed_analyze")
_ANALYZE_DUE_INDEX = named("seed_analyze_due_index")
_HAS_DUE_INDEX = named("seed_has_due_index")
_BULK_LOAD_HELPERS = named("seed_bulk_load_helpers")
_HAS_AUTH_USERS = named("seed_has_auth_users")
_TRUNCATE_FOR_FREEZE = named("seed_truncate_for_freeze")
_DROP_INDEXES = named("seed_drop_indexes")
_BUILD_INDEXES = named("seed_build_indexes")
# Loaded without their indexes when empty (a fresh database): the big ones.
_BULK_TABLES = ("public.peer_mentors", "public.contacts", "public.assignments")
_DUE_TABLE = "reminders.assignment_due"

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
# every seeded organization's reminder_after_days and escalation_after_days
THRESHOLDS = (10, 20)
# assignments start 14 to 719 days before today
STARTED_DAYS_AGO = range(14, 720)


def below(rng: random.Random, n: int) -> Callable[[], int]:
    """``rng.randrange(n)`` as one call: the same draws from *rng* (CPython's: the smallest
    number of random bits that covers ``n``, redrawn when ``n`` or more), in about half the time,
    which counts at ten million assignments (``tests/unit/test_seed_names.py`` checks them)."""
    bits, getrandbits = n.bit_length(), rng.getrandbits

    def draw() -> int:
        r = getrandbits(bits)
        while r >= n:
            r = getrandbits(bits)
        return r

    return draw


def expovariate(rng: random.Random, lambd: float) -> Callable[[], float]:
    """``rng.expovariate(lambd)`` as one call (CPython's formula, the same draw)."""
    rand, log = rng.random, math.log

    def draw() -> float:
        return -log(1.0 - rand()) / lambd

    return draw


def chooser(rng: random.Random, names: Sequence[str]) -> Callable[[], str]:
    """``rng.choice(names)`` as one call: an index drawn by :func:`below`."""
    index = below(rng, len(names))
    return lambda: names[index()]


@dataclass(frozen=True)
class SeedResult:
    organizations: int
    coordinators: int
    peer_mentors: int
    contacts: int
    assignments: int
    first_assignment_id: int


# The seeded people's login ids: one fixed prefix per kind, the row's id in the last 48 bits.
_USER_ID_PREFIX = {
    "coordinators": "00000000-5eed-4c00-8000-",
    "peer_mentors": "00000000-5eed-4d00-8000-",
}


def seeded_user_id(table: str, row_id: int) -> str:
    """The made-up ``user_id`` of a seeded coordinator or mentor: the same for the same row."""
    return f"{_USER_ID_PREFIX[table]}{row_id:012x}"


def _reserve_ids(conn: Connection, table: str, count: int) -> int:
    """Reserve *count* consecutive ids from *table*'s identity sequence; return the first."""
    ident = sql.Identifier("public", table)
    execute(conn, sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(ident))
    first = fetch_value(
        conn,
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
        ),
        kind=int,
    )
    assert first is not None
    return first


def _skip_triggers_if_allowed(conn: Connection) -> bool:
    """The rows reference each other by construction; per-row FK checks double the load time.

    ``session_replication_role = replica`` (this transaction only) skips them, and needs a
    superuser; elsewhere (Supabase's ``postgres`` role) the checks simply run. It also skips the
    due index's triggers: the caller then computes the index in bulk. Returns whether it did.
    """
    if fetch_value(conn, _MAY_SKIP_FK_CHECKS, kind=bool):
        execute(conn, _SKIP_FK_CHECKS)
        return True
    return False


def _has_due_index(conn: Connection) -> bool:
    """Whether the due-index migration is applied (benchmarks seed partial schemas too)."""
    return bool(fetch_value(conn, _HAS_DUE_INDEX, kind=bool))


def _drop_indexes_if_empty(conn: Connection, tables: Sequence[str]) -> list[str]:
    """Drop the indexes of those *tables* that are empty (a fresh database): a COPY then only
    appends rows, and :func:`_build_indexes` sorts once per index afterwards (at 10M assignments
    most of the load's time went into updating indexes row by row, in random order)."""
    statements: list[str] = []
    for table in tables:
        statements += fetch_value(conn, _DROP_INDEXES, {"table": table}, kind=list) or []
    return statements


@contextmanager
def _phase(name: str) -> Iterator[None]:
    """Log how long *name* took (DEBUG; ``python -m benchmarks.seed_phases`` prints them)."""
    started = time.perf_counter()
    yield
    logger.debug("seed phase %s: %.2f s", name, time.perf_counter() - started)


def _truncate_for_freeze(conn: Connection, tables: Sequence[str]) -> bool:
    """Truncate the empty *tables* (and the empty ones referencing them) so that the load may
    COPY frozen rows into them: no later rewrite of every page to set hint bits or freeze, and
    less server time per COPY. False (nothing done) when any of them has rows."""
    return bool(fetch_value(conn, _TRUNCATE_FOR_FREEZE, {"tables": list(tables)}, kind=bool))


def _build_indexes(conn: Connection, statements: list[str]) -> None:
    for statement in statements:  # one at a time: each build's time in the log
        with _phase(f"build {statement}"):
            execute(conn, _BUILD_INDEXES, {"statements": [statement]})


NULL = "\\N"  # COPY's text format


def _copy(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    lines: Iterator[str],
    schema: str = "public",
    *,
    freeze: bool = False,
) -> None:
    """COPY *lines* in COPY's text format into *table* (rows frozen with *freeze*: the table was
    truncated in this transaction). The seed writes the lines itself (at 10M assignments,
    adapting each value took longer than the server's load): its values are numbers, dates and
    names without tabs, newlines or backslashes, so nothing needs escaping."""
    with _phase(f"COPY {schema}.{table}{' FREEZE' if freeze else ''}"):
        copy_lines(conn, _copy_statement(schema, table, columns, freeze=freeze), lines)


def _copy_statement(
    schema: str, table: str, columns: Sequence[str], *, freeze: bool, binary: bool = False
) -> sql.Composed:
    options = [
        o for o, on in ((sql.SQL("FREEZE"), freeze), (sql.SQL("FORMAT binary"), binary)) if on
    ]
    return sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(schema, table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(" WITH ({})").format(sql.SQL(", ").join(options)) if options else sql.SQL(""),
    )


def _copy_due(conn: Connection, due: DueRows, *, freeze: bool) -> None:
    """The due index of the new assignments (the seed skipped the triggers that maintain it),
    in COPY's binary format."""
    stmt = _copy_statement("reminders", "assignment_due", DUE_COLUMNS, freeze=freeze, binary=True)
    with _phase(f"COPY reminders.assignment_due{' FREEZE' if freeze else ''} (binary)"):
        copy_binary_rows(conn, stmt, due.rows())


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

    with transaction(conn, "the seed"):
        triggers_skipped = _skip_triggers_if_allowed(conn)
        # a superuser's load into a fresh database: rows first, indexes after
        bulk = triggers_skipped
        if bulk:  # its helpers, in this session's pg_temp (sql/seed.sql)
            execute(conn, _BULK_LOAD_HELPERS)
        has_due = _has_due_index(conn)
        org0 = _reserve_ids(conn, "organizations", n_orgs)
        coord0 = _reserve_ids(conn, "coordinators", n_coords)
        mentor0 = _reserve_ids(conn, "peer_mentors", n_mentors)
        contact0 = _reserve_ids(conn, "contacts", assignments)
        assign0 = _reserve_ids(conn, "assignments", assignments)

        frozen = bulk and _truncate_for_freeze(
            conn, _BULK_TABLES + ((_DUE_TABLE,) if has_due else ())
        )
        rebuild = _drop_indexes_if_empty(conn, _BULK_TABLES) if bulk else []

        first_name, last_name = chooser(rng, FIRST_NAMES), chooser(rng, LAST_NAMES)

        def name() -> tuple[str, str]:
            return first_name(), last_name()

        def orgs() -> Iterator[str]:
            after = "\t".join(map(str, THRESHOLDS))
            for i in range(n_orgs):
                title, tz, lang = ORGANIZATIONS[(org0 + i) % len(ORGANIZATIONS)]
                yield f"{org0 + i}\t{title} #{org0 + i}\t{tz}\t{lang}\t{after}\n"

        _copy(
            conn,
            "organizations",
            ("id", "name", "time_zone", "language", "reminder_after_days", "escalation_after_days"),
            orgs(),
        )

        def coordinators() -> Iterator[str]:
            for i in range(n_coords):
                first, last = name()
                email = f"{first}.{last}.c{coord0 + i}@example.org".lower()
                user = seeded_user_id("coordinators", coord0 + i)
                yield f"{coord0 + i}\t{org0 + i % n_orgs}\t{first}\t{last}\t{email}\t{user}\n"

        # user_id references auth.users: them first
        if fetch_value(conn, _HAS_AUTH_USERS, kind=bool):

            def users() -> Iterator[str]:
                for table, first, count in (
                    ("coordinators", coord0, n_coords),
                    ("peer_mentors", mentor0, n_mentors),
                ):
                    for row_id in range(first, first + count):
                        yield f"{seeded_user_id(table, row_id)}\n"

            _copy(conn, "users", ("id",), users(), schema="auth")

        _copy(
            conn,
            "coordinators",
            ("id", "organization_id", "first_name", "last_name", "email", "user_id"),
            coordinators(),
        )

        def mentor_org(i: int) -> int:
            return i % n_orgs

        def mentors() -> Iterator[str]:
            coordinator_of_org = below(rng, max(1, n_coords // n_orgs))  # rng.randrange(n)
            for i in range(n_mentors):
                org = mentor_org(i)
                # a coordinator of the same organization
                coord = org + n_orgs * coordinator_of_org()
                coord = coord if coord < n_coords else org
                first, last = name()
                email = f"{first}.{last}.m{mentor0 + i}@example.org".lower()
                user = seeded_user_id("peer_mentors", mentor0 + i)
                yield (
                    f"{mentor0 + i}\t{org0 + org}\t{coord0 + coord}\t{first}\t{last}\t{email}"
                    f"\t{user}\n"
                )

        _copy(
            conn,
            "peer_mentors",
            (
                "id",
                "organization_id",
                "coordinator_id",
                "first_name",
                "last_name",
                "email",
                "user_id",
            ),
            mentors(),
            freeze=frozen,
        )

        # the due index of these assignments, computed here (the database's own triggers are
        # skipped with the FK checks), with each assignment's contact's names: see seed_due
        due = (
            DueRows(
                today=today,
                first_id=assign0,
                count=assignments,
                thresholds=THRESHOLDS,
                max_days_ago=STARTED_DAYS_AGO.stop - 1,
                first_names=FIRST_NAMES,
                last_names=LAST_NAMES,
            )
            if triggers_skipped and has_due
            else None
        )

        def contacts() -> Iterator[str]:
            # the draws of first_name() and last_name(), kept as indexes for the due index
            first, last = below(rng, len(FIRST_NAMES)), below(rng, len(LAST_NAMES))
            add_names = due.contacts.add if due is not None else None
            for i in range(assignments):  # the organization of the assignment's mentor
                org = org0 + i % n_mentors % n_orgs
                f, la = first(), last()
                if add_names is not None:
                    add_names(f, la)
                yield f"{contact0 + i}\t{org}\t{FIRST_NAMES[f]}\t{LAST_NAMES[la]}\n"

        _copy(
            conn,
            "contacts",
            ("id", "organization_id", "first_name", "last_name"),
            contacts(),
            freeze=frozen,
        )

        # the dates, by days before today, in COPY's text format (10M assignments: no date
        # arithmetic or adaptation per row)
        days_ago = [(today - timedelta(days=d)).isoformat() for d in range(STARTED_DAYS_AGO.stop)]

        def assignment_rows() -> Iterator[str]:
            # rng.random(), rng.randrange(14, 720), rng.randrange(1, 10), rng.expovariate(1 / 9)
            random, started_at = rng.random, below(rng, len(STARTED_DAYS_AGO))
            ended_at, contact_gap = below(rng, 9), expovariate(rng, 1 / 9)
            first_start = STARTED_DAYS_AGO.start
            add_due = due.add if due is not None else None
            for i in range(assignments):
                mentor = i % n_mentors
                r = random()
                status = "active" if r < 0.85 else "paused" if r < 0.95 else "ended"
                started = first_start + started_at()
                ends_on = days_ago[1 + ended_at()] if status == "ended" else NULL
                # a realistic spread: most mentors keep in touch, some drift past 10 and 20 days
                if random() < 0.08:
                    last_contact = NULL
                    gap = started
                else:
                    gap = min(started, int(contact_gap()))  # not before the start
                    last_contact = days_ago[gap]
                if add_due is not None and status == "active":
                    add_due(i, gap)
                yield (
                    f"{assign0 + i}\t{org0 + mentor % n_orgs}\t{mentor0 + mentor}"
                    f"\t{contact0 + i}\t{status}\t{days_ago[started]}\t{ends_on}\t{last_contact}\n"
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
            freeze=frozen,
        )
        if due is not None:
            if bulk:
                rebuild += _drop_indexes_if_empty(conn, (_DUE_TABLE,))
            _copy_due(conn, due, freeze=frozen)
        _build_indexes(conn, rebuild)
    with _phase("ANALYZE"):
        execute(conn, _ANALYZE)
        if has_due:
            execute(conn, _ANALYZE_DUE_INDEX)
    return SeedResult(n_orgs, n_coords, n_mentors, assignments, assignments, assign0)
