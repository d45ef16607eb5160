"""What our triggers cost the app's own writes (issue 18, item 6): each write with the triggers,
against the same plain statement, and against the floor where the due index needs rows of its own.

Run: ``python -m benchmarks.write_tax [--assignments 200000] [--rows 50000] [--singles 200]
[--repeats 15]`` (DATABASE_URL or a throwaway embedded PostgreSQL; one scratch database, seeded
as ``make bench`` seeds, dropped afterwards). Four writes, each the statement the app sends:

- one activity registered on a warm connection (one-row INSERT; the median of ``--singles``
  inserts on different due assignments, one after another on one connection);
- a bulk registration: one INSERT ... SELECT of ``--rows`` activities on due assignments;
- a contact rename: one UPDATE of ``--rows`` contacts that have assignments in the due index;
- new assignments: one INSERT ... SELECT of ``--rows`` assignments;
- and, to inform (not one of issue 18's cases), activities deleted: one DELETE of ``--rows``
  activities registered just before (untimed), after which the trigger recomputes the dates.

Each is timed three ways, each time in a transaction that is rolled back (fastest of
``--repeats``, the one-row case of ``ONE_ROW_ROUNDS`` times as many, the three ways taking turns):

- *with triggers*: as the app runs it;
- *baseline*: the same statement with our triggers disabled (every trigger whose function lives
  in the ``reminders`` schema, found in ``pg_trigger``; the foreign-key checks stay), plus, for
  activities, the date update the activity trigger does (``UPDATE assignments SET
  last_contact_date``; after a delete, from ``reminders.computed_last_contact_dates``), sent in
  the same round trip;
- *floor*: the baseline plus the rows a trigger must write per app row, written by hand: the
  due index's (deleted and inserted again from ``reminders.assignment_due_expected``, or the
  contact names updated in place) and, for registrations, the baselines (an assignment's imported
  date later than its every activity, ``reminders.last_contact_baselines``; the seeded dates
  have no activities, so each first registration writes one): what no trigger can avoid. The
  one-row floor runs them in one plain PL/pgSQL function (``write_tax.one_floor``, created in the
  scratch database), where a trigger runs them, without four client statements' protocol work.

The targets: with triggers <= 1.5x the baseline, or, where the index needs its own rows,
<= 1.2x the floor. The first repetition also checks that the baseline and the floor leave the
same ``last_contact_date`` values as the triggers, and the floor the same due index and
baselines; a difference is printed under the table (the figure then compares different work).
"""

from __future__ import annotations

import argparse
import enum
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, LiteralString

from psycopg import sql

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.migrations import migrate
from assignment_reminders.dev.seed import seed

from . import options
from .scratch import scratch_database
from .targets import Target
from .targets import render as render_targets

TODAY = date(2026, 11, 28)
DAY = TODAY - timedelta(days=1)  # the contact registered: yesterday, after every due gap began
RANDOM_SEED = 18
WARM_UP = 20  # one-row calls before the timed ones, in each transaction
TAX_TARGET = 1.5
FLOOR_TARGET = 1.2

Statement = tuple[LiteralString | sql.Composed, dict[str, Any]]
Call = list[Statement]  # sent together (one round trip), timed together


class Way(enum.Enum):
    TRIGGERS = "with triggers"
    BASELINE = "baseline"
    FLOOR = "floor"


# -- the statements --------------------------------------------------------------------------

ONE_ACTIVITY = """
INSERT INTO public.activities (assignment_id, occurred_on, registration_path)
VALUES (%(id)s, %(day)s, 'direct')
"""
ONE_DATE = """
UPDATE public.assignments SET last_contact_date = greatest(last_contact_date, %(day)s)
WHERE id = %(id)s AND last_contact_date IS DISTINCT FROM greatest(last_contact_date, %(day)s)
"""
ONE_INDEX_DELETE = "DELETE FROM reminders.assignment_due WHERE assignment_id = %(id)s"
# The trigger's baseline, written before the activities (their earlier activities are then all
# of them: the same rows as the trigger's, which looks below the statement's first new id), in
# the trigger's form (FILTER keeps the planner from answering max(id) by walking the primary key
# backwards).
BASELINES = """
INSERT INTO reminders.last_contact_baselines
    (assignment_id, contact_date, after_activity_id, source)
SELECT a.id, a.last_contact_date, coalesce(prev.max_id, 0), 'import'
FROM public.assignments a
CROSS JOIN LATERAL (
    SELECT max(act.id) FILTER (WHERE act.id IS NOT NULL) AS max_id,
           max(act.occurred_on) FILTER (WHERE act.id IS NOT NULL) AS max_on
    FROM public.activities act WHERE act.assignment_id = a.id
) prev
WHERE a.id = ANY (%(ids)s::bigint[]) AND a.last_contact_date IS NOT NULL
  AND (prev.max_on IS NULL OR a.last_contact_date > prev.max_on)
ON CONFLICT (assignment_id) DO NOTHING
"""
ONE_BASELINE = BASELINES.replace("ANY (%(ids)s::bigint[])", "%(id)s")

BULK_ACTIVITIES = """
INSERT INTO public.activities (assignment_id, occurred_on, registration_path)
SELECT i.id, %(day)s, 'bulk' FROM unnest(%(ids)s::bigint[]) AS i (id)
"""
BULK_DATES = """
UPDATE public.assignments SET last_contact_date = greatest(last_contact_date, %(day)s)
WHERE id = ANY (%(ids)s::bigint[])
  AND last_contact_date IS DISTINCT FROM greatest(last_contact_date, %(day)s)
"""
BULK_INDEX_DELETE = (
    "DELETE FROM reminders.assignment_due WHERE assignment_id = ANY (%(ids)s::bigint[])"
)

DELETE_ACTIVITIES = "DELETE FROM public.activities WHERE assignment_id = ANY (%(ids)s::bigint[])"
RECOMPUTE_DATES = """
UPDATE public.assignments a SET last_contact_date = c.last_contact_date
FROM reminders.computed_last_contact_dates(%(ids)s::bigint[]) c
WHERE a.id = c.assignment_id AND a.last_contact_date IS DISTINCT FROM c.last_contact_date
"""

RENAME = """
UPDATE public.contacts SET last_name = last_name || ' (renamed)'
WHERE id = ANY (%(ids)s::bigint[])
"""
RENAME_INDEX = """
UPDATE reminders.assignment_due d
SET contact_first_name = c.first_name, contact_last_name = c.last_name
FROM public.assignments a
JOIN public.contacts c ON c.id = a.contact_id
WHERE c.id = ANY (%(ids)s::bigint[]) AND d.assignment_id = a.id
"""

NEW_ASSIGNMENTS = """
INSERT INTO public.assignments
    (id, organization_id, peer_mentor_id, contact_id, status, starts_on, ends_on,
     last_contact_date)
SELECT %(after)s + row_number() OVER (ORDER BY a.id), a.organization_id, a.peer_mentor_id,
       a.contact_id, a.status, a.starts_on, a.ends_on, a.last_contact_date
FROM public.assignments a
WHERE a.id = ANY (%(ids)s::bigint[])
"""

# What a trigger of ours is: a user trigger whose function lives in the `reminders` schema
# (foreign-key triggers are internal and stay on).
OUR_TRIGGERS = """
SELECT n.nspname AS schema, c.relname AS table, t.tgname AS trigger
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'
  AND p.pronamespace = 'reminders'::regnamespace
ORDER BY n.nspname, c.relname, t.tgname
"""
INDEX_COLUMNS = """
SELECT attname FROM pg_catalog.pg_attribute
WHERE attrelid = 'reminders.assignment_due'::regclass AND attnum > 0 AND NOT attisdropped
ORDER BY attnum
"""
INDEX_FINGERPRINT = """
SELECT count(*) AS n, md5(string_agg(d::text, ',' ORDER BY d::text)) AS md5
FROM reminders.assignment_due d
"""
BASELINES_FINGERPRINT = """
SELECT count(*) AS n,
       md5(string_agg(
           concat_ws(':', b.assignment_id, b.contact_date, b.after_activity_id, b.source),
           ',' ORDER BY b.assignment_id)) AS md5
FROM reminders.last_contact_baselines b
"""
DATES_FINGERPRINT = """
SELECT count(*) AS n,
       md5(string_agg(a.id || ':' || coalesce(a.last_contact_date::text, ''), ',' ORDER BY a.id))
           AS md5
FROM public.assignments a
"""


def index_insert(columns: Sequence[str], where: LiteralString) -> sql.Composed:
    """``INSERT INTO reminders.assignment_due`` (*columns*: its columns, whatever they are now)
    from the view that defines it, for the assignments *where* selects (``e`` is the view)."""
    return sql.SQL(
        "INSERT INTO reminders.assignment_due ({cols}) SELECT {cols} FROM"
        " reminders.assignment_due_expected e WHERE {where}"
    ).format(cols=sql.SQL(", ").join(map(sql.Identifier, columns)), where=sql.SQL(where))


# -- the cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One write: per way, the calls to time (one for a bulk statement, one per row for the
    one-row case, whose figure is then the median call) and the calls to warm up with."""

    what: str
    calls: Callable[[Way], list[Call]]
    warm_up: Callable[[Way], list[Call]] = field(default=lambda _way: [])
    has_floor: bool = True
    setup: list[Call] = field(default_factory=list)  # untimed, before the triggers go off
    informs: bool = False  # printed beside the targets, not one of them
    rounds: int = 1  # repetitions per ``--repeats``: the one-row case is cheap, its median noisy


# The one-row case's figure (a median of sub-millisecond calls) moves more from one repetition to
# the next than the bulk cases' do, and a repetition of it is cheap: it gets this many per
# ``--repeats`` (docs/benchmarks.md, "The write tax").
ONE_ROW_ROUNDS = 3

# Each way's fastest of this many: with fewer, the bulk cases' verdicts flipped from one run of
# the same commit to the next on a 2-core VM (docs/benchmarks.md, "The write tax").
REPEATS = 15

ONE_FLOOR = "SELECT write_tax.one_floor(%(id)s, %(day)s)"
ONE_ID: LiteralString = "e.assignment_id = %(id)s"


def create_one_floor(conn: Connection, columns: Sequence[str]) -> None:
    """``write_tax.one_floor(id, day)``: the one-row floor's statements (the baseline, the date,
    the due rows deleted and inserted again), run where a trigger runs them, on the server with
    the plans PL/pgSQL keeps: sent by the client, each statement adds protocol work (a bind, a
    portal, a command tag) that no trigger pays. A plain function: no trigger, no transition
    table, no SECURITY DEFINER, no lock, no check."""
    body = "\n".join(
        (query if isinstance(query, str) else query.as_string(conn)).strip() + ";"
        for query in (ONE_BASELINE, ONE_DATE, ONE_INDEX_DELETE, index_insert(columns, ONE_ID))
    )
    body = body.replace("%(id)s", "p_id").replace("%(day)s", "p_day")
    conn.execute("CREATE SCHEMA IF NOT EXISTS write_tax")
    conn.execute(
        sql.SQL(
            "CREATE OR REPLACE FUNCTION write_tax.one_floor(p_id bigint, p_day date)"
            " RETURNS void LANGUAGE plpgsql AS {}"
        ).format(sql.Literal(f"BEGIN\n{body}\nEND"))
    )


def one_activity(ids: Sequence[int], warm: Sequence[int]) -> Case:
    def calls_for(chosen: Sequence[int]) -> Callable[[Way], list[Call]]:
        def calls(way: Way) -> list[Call]:
            out: list[Call] = []
            for i in chosen:
                p: dict[str, Any] = {"id": i, "day": DAY}
                if way is Way.FLOOR:  # the baseline first: it looks at the earlier activities
                    out.append([(ONE_FLOOR, p), (ONE_ACTIVITY, p)])
                    continue
                call: Call = [(ONE_ACTIVITY, p)]
                if way is Way.BASELINE:
                    call.append((ONE_DATE, p))
                out.append(call)
            return out

        return calls

    return Case(
        f"one activity, warm connection (median of {len(ids):,})",
        calls_for(ids),
        calls_for(warm),
        rounds=ONE_ROW_ROUNDS,
    )


def bulk_activities(ids: Sequence[int], columns: Sequence[str]) -> Case:
    p = {"ids": list(ids), "day": DAY}

    def calls(way: Way) -> list[Call]:
        call: Call = [(BASELINES, p)] if way is Way.FLOOR else []
        call.append((BULK_ACTIVITIES, p))
        if way is not Way.TRIGGERS:
            call.append((BULK_DATES, p))
        if way is Way.FLOOR:
            call += [
                (BULK_INDEX_DELETE, p),
                (index_insert(columns, "e.assignment_id = ANY (%(ids)s::bigint[])"), p),
            ]
        return [call]

    return Case(f"bulk registration: {len(ids):,} activities", calls)


def activities_deleted(ids: Sequence[int], columns: Sequence[str]) -> Case:
    """The bulk registration's activities deleted again (registered first, untimed): the
    trigger recomputes each assignment's date from what is left."""
    p = {"ids": list(ids), "day": DAY}

    def calls(way: Way) -> list[Call]:
        call: Call = [(DELETE_ACTIVITIES, p)]
        if way is not Way.TRIGGERS:
            call.append((RECOMPUTE_DATES, p))
        if way is Way.FLOOR:
            call += [
                (BULK_INDEX_DELETE, p),
                (index_insert(columns, "e.assignment_id = ANY (%(ids)s::bigint[])"), p),
            ]
        return [call]

    what = f"activities deleted: {len(ids):,} (informs)"
    return Case(what, calls, setup=[[(BULK_ACTIVITIES, p)]], informs=True)


def contact_rename(ids: Sequence[int], *, names_in_index: bool) -> Case:
    p = {"ids": list(ids)}

    def calls(way: Way) -> list[Call]:
        call: Call = [(RENAME, p)]
        if way is Way.FLOOR and names_in_index:
            call.append((RENAME_INDEX, p))
        return [call]

    return Case(f"contact rename: {len(ids):,} contacts", calls, has_floor=names_in_index)


def new_assignments(ids: Sequence[int], after: int, columns: Sequence[str]) -> Case:
    p = {"ids": list(ids), "after": after}

    def calls(way: Way) -> list[Call]:
        call: Call = [(NEW_ASSIGNMENTS, p)]
        if way is Way.FLOOR:
            call.append((index_insert(columns, "e.assignment_id > %(after)s"), p))
        return [call]

    return Case(f"new assignments: {len(ids):,}", calls)


# -- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tax:
    """One case's figures, seconds (fastest of the repeats); *floor* None when the index needs no
    rows of its own for it."""

    what: str
    with_triggers: float
    baseline: float
    floor: float | None
    informs: bool = False
    paired_floor: float | None = None  # the median of each repetition's triggers / floor

    @property
    def ratio(self) -> float:
        return self.with_triggers / self.baseline

    @property
    def floor_ratio(self) -> float | None:
        return None if self.floor is None else self.with_triggers / self.floor

    @property
    def met(self) -> bool:
        """<= 1.5x the baseline, or, where the index needs rows of its own, <= 1.2x the floor."""
        floor_ratio = self.floor_ratio
        return self.ratio <= TAX_TARGET or (floor_ratio is not None and floor_ratio <= FLOOR_TARGET)


def our_triggers(conn: Connection) -> list[tuple[str, str, str]]:
    return [(r["schema"], r["table"], r["trigger"]) for r in conn.execute(OUR_TRIGGERS)]


def disable(conn: Connection, triggers: Sequence[tuple[str, str, str]]) -> None:
    for schema, table, trigger in triggers:
        conn.execute(
            sql.SQL("ALTER TABLE {} DISABLE TRIGGER {}").format(
                sql.Identifier(schema, table), sql.Identifier(trigger)
            )
        )


# The app's statements: sent as the app sends them (planned afresh: no prepared statements
# behind a pooler). Every other statement of a call stands for what a trigger does with the
# plans it keeps, so it is prepared.
APP_STATEMENTS = (ONE_ACTIVITY, BULK_ACTIVITIES, DELETE_ACTIVITIES, RENAME, NEW_ASSIGNMENTS)


def send(conn: Connection, call: Call) -> float:
    """Seconds for *call*'s statements, sent together (one round trip)."""
    started = time.perf_counter()
    if len(call) == 1:
        conn.execute(*call[0], prepare=False)
    else:
        with conn.pipeline():
            for query, params in call:
                app = any(query is statement for statement in APP_STATEMENTS)
                conn.execute(query, params, prepare=not app)
    return time.perf_counter() - started


def fingerprints(conn: Connection) -> tuple[str, str, str]:
    """The due index's, every assignment's last_contact_date and the baselines, as (count, md5)
    text."""
    out = []
    for query in (INDEX_FINGERPRINT, DATES_FINGERPRINT, BASELINES_FINGERPRINT):
        row = conn.execute(query).fetchone()
        assert row is not None
        out.append(f"{row['n']}:{row['md5']}")
    return out[0], out[1], out[2]


def timed(
    conn: Connection, case: Case, way: Way, triggers: Sequence[tuple[str, str, str]]
) -> tuple[float, tuple[str, str, str]]:
    """*case* done *way* in a transaction rolled back: its seconds (a one-row case's median
    call) and the fingerprints it left."""
    conn.execute("BEGIN")
    try:
        for call in case.setup:
            send(conn, call)
        if way is not Way.TRIGGERS:
            disable(conn, triggers)
        for call in case.warm_up(way):
            send(conn, call)
        seconds = [send(conn, call) for call in case.calls(way)]
        return statistics.median(seconds), fingerprints(conn)
    finally:
        conn.execute("ROLLBACK")


def tidy(conn: Connection) -> None:
    """Vacuum what the rolled-back writes left and write out the pages they dirtied, so each
    repetition starts alike: no way pays for writing out the pages the previous one dirtied."""
    conn.execute(
        "VACUUM public.activities, public.assignments, public.contacts,"
        " reminders.assignment_due, reminders.last_contact_baselines"
    )
    if conn.execute(CAN_CHECKPOINT).fetchone() is not None:
        conn.execute("CHECKPOINT")


# A superuser or a member of pg_checkpoint (PostgreSQL 15+) may checkpoint; another role's runs
# go without.
CAN_CHECKPOINT = """
SELECT FROM pg_roles r
WHERE r.rolname = current_user
  AND (r.rolsuper OR pg_has_role(current_user, 'pg_checkpoint', 'MEMBER'))
"""


def measure(
    conn: Connection, case: Case, repeats: int, triggers: Sequence[tuple[str, str, str]]
) -> tuple[Tax, list[str]]:
    ways = [Way.TRIGGERS, Way.BASELINE] + ([Way.FLOOR] if case.has_floor else [])
    taken: dict[Way, list[float]] = {way: [] for way in ways}
    prints: dict[Way, tuple[str, str, str]] = {}
    for repeat in range(repeats * case.rounds):
        for way in ways:
            print(f"write tax: {case.what}, {way.value} ...", file=sys.stderr, flush=True)
            seconds, left = timed(conn, case, way, triggers)
            tidy(conn)
            taken[way].append(seconds)
            if repeat == 0:
                prints[way] = left
    notes = differences(case.what, prints)
    floors = taken.get(Way.FLOOR)
    tax = Tax(
        case.what,
        min(taken[Way.TRIGGERS]),
        min(taken[Way.BASELINE]),
        min(floors) if floors else None,
        case.informs,
        paired(taken[Way.TRIGGERS], floors) if floors else None,
    )
    return tax, notes


def paired(with_triggers: Sequence[float], floors: Sequence[float]) -> float:
    """The median of each repetition's ratio: the two ways of one repetition ran minutes apart
    at most, so a slow hour on this machine moves both; the fastest of each may come from
    different hours (docs/benchmarks.md, "The write tax")."""
    return statistics.median(t / f for t, f in zip(with_triggers, floors, strict=True))


def differences(what: str, prints: dict[Way, tuple[str, str, str]]) -> list[str]:
    """Where the baseline or the floor left other dates, or the floor another due index or other
    baselines, than the triggers did."""
    notes = []
    index, dates, baselines = prints[Way.TRIGGERS]
    for way, (way_index, way_dates, way_baselines) in prints.items():
        if way is not Way.TRIGGERS and way_dates != dates:
            notes.append(f"{what}: the {way.value} left other last_contact_date values")
        if way is Way.FLOOR and way_index != index:
            notes.append(f"{what}: the floor left another due index than the triggers")
        if way is Way.FLOOR and way_baselines != baselines:
            notes.append(f"{what}: the floor left other baselines than the triggers")
    return notes


# -- the database and the table --------------------------------------------------------------


def sample(rng: random.Random, ids: Sequence[int], n: int) -> list[int]:
    return sorted(rng.sample(list(ids), min(n, len(ids))))


def cases(conn: Connection, rows: int, singles: int) -> list[Case]:
    """The four writes on this seeded database (the same rows in every run: seeded choices)."""
    rng = random.Random(RANDOM_SEED)
    columns = [r["attname"] for r in conn.execute(INDEX_COLUMNS)]
    due = [
        r["assignment_id"]
        for r in conn.execute(
            "SELECT DISTINCT assignment_id FROM reminders.assignment_due"
            " WHERE kind = 'reminder' AND due_on <= %(today)s AND gap_started_on < %(day)s",
            {"today": TODAY, "day": DAY},
        )
    ]
    if len(due) < 2:
        raise SystemExit(f"only {len(due)} due assignments: seed more (--assignments)")
    one_by_one = sample(rng, due, singles + WARM_UP)
    rng.shuffle(one_by_one)
    warm = min(WARM_UP, len(one_by_one) // 2)  # a small seed: fewer, but some of each
    indexed = [
        r["contact_id"]
        for r in conn.execute(
            "SELECT DISTINCT a.contact_id FROM public.assignments a"
            " JOIN reminders.assignment_due d ON d.assignment_id = a.id"
        )
    ]
    every = [r["id"] for r in conn.execute("SELECT id FROM public.assignments")]
    top = conn.execute("SELECT max(id) AS m FROM public.assignments").fetchone()
    assert top is not None
    names_in_index = {"contact_first_name", "contact_last_name"} <= set(columns)
    return [
        one_activity(one_by_one[warm:], one_by_one[:warm]),
        bulk_activities(sample(rng, due, rows), columns),
        activities_deleted(sample(rng, due, rows), columns),
        contact_rename(sample(rng, indexed, rows), names_in_index=names_in_index),
        new_assignments(sample(rng, every, rows), int(top["m"]), columns),
    ]


def duration(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms" if seconds < 1 else f"{seconds:.2f} s"


def table(taxes: Sequence[Tax]) -> str:
    """The write-tax table: each case next to its targets; last, to inform, the median of the
    repetitions' own ratios to the floor ("paired"), which the verdict does not use."""
    head = (
        "case",
        "with triggers",
        "baseline",
        "ratio",
        "target",
        "floor",
        "to floor",
        "target",
        "met",
        "paired",
    )
    rows = [head]
    for t in taxes:
        floor_ratio = t.floor_ratio
        rows.append(
            (
                t.what,
                duration(t.with_triggers),
                duration(t.baseline),
                f"{t.ratio:.2f}x",
                f"<= {TAX_TARGET}x",
                "-" if t.floor is None else duration(t.floor),
                "-" if floor_ratio is None else f"{floor_ratio:.2f}x",
                "-" if floor_ratio is None else f"<= {FLOOR_TARGET}x",
                verdict(t),
                "-" if t.paired_floor is None else f"{t.paired_floor:.2f}x",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(line.rstrip() for line in lines)


def verdict(t: Tax) -> str:
    if t.informs:
        return "-"
    if t.ratio <= TAX_TARGET:
        return "yes"
    floor_ratio = t.floor_ratio
    if floor_ratio is not None and floor_ratio <= FLOOR_TARGET:
        return "yes (floor)"
    return "NO"


def write_tax_targets(taxes: Sequence[Tax], assignments: int) -> list[Target]:
    """The write-tax rows of the targets table (``python -m benchmarks``)."""
    return [
        Target(
            f"write tax at {assignments:,}: {t.what}",
            f"{t.ratio:.2f}x baseline"
            + ("" if t.floor_ratio is None else f", {t.floor_ratio:.2f}x floor")
            + ("" if t.paired_floor is None else f" (paired {t.paired_floor:.2f}x)"),
            f"<= {TAX_TARGET}x baseline or <= {FLOOR_TARGET}x floor",
            f"{duration(t.with_triggers)} vs {duration(t.baseline)}",
            None if t.informs else t.met,
        )
        for t in taxes
    ]


@dataclass(frozen=True)
class WriteTax:
    assignments: int
    taxes: list[Tax]
    triggers: list[tuple[str, str, str]]
    notes: list[str]

    def report(self) -> str:
        tables = sorted({f"{s}.{t}" for s, t, _ in self.triggers})
        lines = [
            f"The write tax at {self.assignments:,} assignments (fastest of the repeats, each"
            " rolled back):",
            table(self.taxes),
            "",
            f"Baseline: {len(self.triggers)} triggers of ours off (on {', '.join(tables)}),"
            " foreign-key checks on, plus the activity trigger's date update.",
            "Floor: the baseline plus the rows a trigger must write per app row, by hand (the"
            " due index's; for registrations, the baselines).",
        ]
        lines += [f"NOTE: {n}" for n in self.notes]
        return "\n".join(lines)


def bench_write_tax(
    url: str,
    assignments: int,
    *,
    rows: int = 50_000,
    singles: int = 200,
    repeats: int = REPEATS,
) -> WriteTax:
    """Seed *assignments* into *url* (an empty database) and measure the four writes."""
    print(f"write tax: seeding {assignments:,} ...", file=sys.stderr, flush=True)
    with connect(url, purpose="bench-write-tax") as conn:
        conn.prepare_threshold = 5  # send() asks for each statement's preparation itself
        migrate(conn)
        seed(conn, assignments=assignments, today=TODAY, random_seed=1)
        conn.execute("VACUUM ANALYZE")
        triggers = our_triggers(conn)
        create_one_floor(conn, [r["attname"] for r in conn.execute(INDEX_COLUMNS)])
        taxes, notes = [], []
        chosen = cases(conn, rows, singles)
        for case in chosen:
            tax, case_notes = measure(conn, case, repeats, triggers)
            taxes.append(tax)
            notes += case_notes
    return WriteTax(assignments, taxes, triggers, notes)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.write_tax", description=__doc__.splitlines()[0]
    )
    options.add_assignments(parser, 200_000)
    parser.add_argument(
        "--rows",
        type=options.positive,
        default=50_000,
        help="rows of each bulk write (default: %(default)s)",
    )
    parser.add_argument(
        "--singles",
        type=options.positive,
        default=200,
        help="one-row inserts timed per repetition (default: %(default)s)",
    )
    parser.add_argument(
        "--repeats",
        type=options.positive,
        default=REPEATS,
        help="repetitions of each way, taking turns, the fastest counts; the one-row case gets"
        f" {ONE_ROW_ROUNDS} times as many (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    with scratch_database("bench_write_tax") as url:
        result = bench_write_tax(
            url, args.assignments, rows=args.rows, singles=args.singles, repeats=args.repeats
        )
    print(result.report())
    print()
    print(render_targets(write_tax_targets(result.taxes, result.assignments)))
    print(
        f"\n{os.cpu_count()} CPUs; load average at start {load:.2f}, at end"
        f" {os.getloadavg()[0]:.2f}."
    )


if __name__ == "__main__":
    main()
