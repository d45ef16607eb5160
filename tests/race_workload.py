"""Host writers and reminder passes at once (issue 18, item 5): the workload shared by
tests/integration/test_concurrent_writers.py and ``python -m benchmarks.race``.

A round starts N writer threads and one pass together (a barrier): each writer has its own
connection, as a host application would, and writes what host apps write, one statement per
transaction, in an order drawn from a seeded generator: activities registered (by the mentor
through RLS, or in bulk) and deleted (one, or several assignments' recent ones), assignments
added, paused/resumed (by their coordinator through RLS, or in bulk), given another contact or an
earlier start, contacts renamed (one, or many rows in one statement, as service_role or the
owner), organizations' thresholds and time zones changed, ledger rows deleted (a retention
job's oldest rows, an operator's repair of one), and the run log's oldest finished rows pruned
(the job's own retention: their reminders' run_id is unset). The pass is ReminderPass with a
small batch size (many batches per round) and a webhook channel (delivery rows too), at a
``now`` that moves forward a day every other round, writing for a run row of its own. Writers
keep writing while the pass runs.

Every statement a writer runs is the host's: any error it gets is a failure of ours (a unique
violation or a deadlock raised in a trigger, a lock timeout). The writers only write what is
valid whatever the others do meanwhile (activity dates between the start, which only ever moves
earlier, and the pass's today, which is never after the real one), so no error is the host's own.
After each round :func:`invariant_violations` says what is wrong in the tables.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

import psycopg

from assignment_reminders.db.database import Connection, connect
from assignment_reminders.db.gateway import sqlstate
from assignment_reminders.job.reminder_pass import ReminderPass
from tests import factories
from tests.activity_world import as_supabase_user
from tests.due_index import COLUMNS, stale_due_rows
from tests.run_rows import insert_run

TIME_ZONES = ("UTC", "Europe/Oslo", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago")
CHANNELS = ("webhook",)
JOIN_TIMEOUT_S = 300.0


class Write(StrEnum):
    """What a host writer does; the kinds the results are counted by."""

    ACTIVITY = "activity insert"
    ACTIVITIES = "activity bulk insert"
    ACTIVITY_DELETE = "activity delete"
    ACTIVITIES_DELETE = "activity bulk delete"
    ASSIGNMENT_INSERT = "assignment insert"
    STATUS = "assignment status"
    STATUSES = "assignment bulk status"
    CONTACT_ID = "assignment contact"
    STARTS_ON = "assignment starts_on"
    RENAME = "contact rename"
    RENAMES = "contact bulk rename"
    THRESHOLDS = "thresholds"
    TIME_ZONE = "time zone"
    RETENTION = "ledger retention"
    REPAIR = "ledger repair"
    LOG_RETENTION = "run log retention"


# How often each is drawn: registrations dominate, as in real use.
WEIGHTS: dict[Write, int] = {
    Write.ACTIVITY: 10,
    Write.ACTIVITIES: 4,
    Write.ACTIVITY_DELETE: 3,
    Write.ACTIVITIES_DELETE: 2,
    Write.ASSIGNMENT_INSERT: 2,
    Write.STATUS: 3,
    Write.STATUSES: 2,
    Write.CONTACT_ID: 3,
    Write.STARTS_ON: 2,
    Write.RENAME: 3,
    Write.RENAMES: 2,
    Write.THRESHOLDS: 1,
    Write.TIME_ZONE: 1,
    Write.RETENTION: 1,
    Write.REPAIR: 2,
    Write.LOG_RETENTION: 1,
}


@dataclass(frozen=True)
class Assignment:
    id: int
    organization_id: int
    mentor_user: UUID


@dataclass(frozen=True)
class World:
    """What the writers pick from, read from the tables at the start of each round."""

    organizations: dict[int, UUID]  # id -> a coordinator's user id
    assignments: list[Assignment]
    contacts: dict[int, list[int]]  # organization -> contact ids
    mentors: dict[int, list[int]]  # organization -> peer mentor ids


def load_world(conn: Connection) -> World:
    orgs = {
        r["id"]: r["coordinator"]
        for r in conn.execute(
            "SELECT o.id, (SELECT c.user_id FROM public.coordinators c"
            " WHERE c.organization_id = o.id ORDER BY c.id LIMIT 1) AS coordinator"
            " FROM public.organizations o ORDER BY o.id"
        ).fetchall()
    }
    assignments = [
        Assignment(r["id"], r["organization_id"], r["user_id"])
        for r in conn.execute(
            "SELECT a.id, a.organization_id, pm.user_id FROM public.assignments a"
            " JOIN public.peer_mentors pm ON pm.id = a.peer_mentor_id ORDER BY a.id"
        ).fetchall()
    ]
    contacts: dict[int, list[int]] = {o: [] for o in orgs}
    for r in conn.execute("SELECT id, organization_id FROM public.contacts ORDER BY id"):
        contacts[r["organization_id"]].append(r["id"])
    mentors: dict[int, list[int]] = {o: [] for o in orgs}
    for r in conn.execute("SELECT id, organization_id FROM public.peer_mentors ORDER BY id"):
        mentors[r["organization_id"]].append(r["id"])
    return World(orgs, assignments, contacts, mentors)


def build_world(conn: Connection, rng: random.Random, *, assignments: int, first_day: date) -> None:
    """A small world for the test: organizations in several time zones with low thresholds (many
    reminders fall due every day), three mentors each, gaps of 0 to 40 days, a spare contact per
    assignment."""
    for tz in TIME_ZONES[:3]:
        reminder = rng.randint(2, 5)
        org = factories.organization(
            conn,
            time_zone=tz,
            reminder_after_days=reminder,
            escalation_after_days=reminder + rng.randint(1, 6),
        )
        coordinator = factories.coordinator(conn, org)
        for _ in range(3):
            factories.peer_mentor(conn, org, coordinator)
    world = load_world(conn)
    for _ in range(assignments):
        org = rng.choice(list(world.organizations))
        starts_on = first_day - timedelta(days=rng.randint(5, 40))
        contact = starts_on + timedelta(days=rng.randint(0, (first_day - starts_on).days))
        factories.contact(conn, org, first_name="Spare")
        factories.assignment(
            conn,
            organization_id=org,
            peer_mentor_id=rng.choice(world.mentors[org]),
            starts_on=starts_on,
            last_contact_date=None if rng.random() < 0.3 else contact,
        )


@dataclass(frozen=True)
class Failure:
    """A statement that failed: a host write, or the pass (kind None)."""

    round: int
    writer: int | None
    kind: Write | None
    sqlstate: str | None
    message: str
    statement: str

    def __str__(self) -> str:
        who = f"writer {self.writer}, {self.kind}" if self.kind else "the pass"
        lines = self.message.strip().splitlines()
        # the error, its DETAIL, and the functions of ours it was raised in (from CONTEXT)
        where = [
            x.strip()
            for x in lines[1:]
            if x.strip().startswith(("DETAIL", "Process", "PL/pgSQL function", "SQL statement"))
        ]
        return (
            f"round {self.round}, {who}: SQLSTATE {self.sqlstate} {lines[0] if lines else ''}"
            + "".join(f"\n    {x}" for x in where)
            + f"\n    statement: {' '.join(self.statement.split())}"
        )


@dataclass
class Tally:
    """What the rounds did so far (threads add under the lock)."""

    done: Counter[Write] = field(default_factory=Counter)
    failed: Counter[tuple[Write, str]] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    passes: int = 0
    batches: int = 0
    reminders: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@dataclass(frozen=True)
class Shape:
    """The size of a round."""

    writers: int = 4
    writes_per_writer: int = 8  # at least; more while the pass still runs, up to:
    most_writes_per_writer: int = 32
    batch_sizes: tuple[int, ...] = (2, 3, 5, 8)
    weights: dict[Write, int] = field(default_factory=lambda: dict(WEIGHTS))


def now_of_round(first_day: date, last_day: date, round_no: int, rng: random.Random) -> datetime:
    """A day further every other round, at a random hour, up to *last_day* (the activities the
    writers date on the pass's day must not be in the future of the real clock, which the
    database checks them against)."""
    day = min(first_day + timedelta(days=round_no // 2), last_day)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        minutes=rng.randrange(24 * 60)
    )


@contextmanager
def as_service_role(conn: Connection) -> Iterator[Connection]:
    with conn.transaction():
        conn.execute("SET LOCAL ROLE service_role")
        yield conn


@contextmanager
def as_owner(conn: Connection) -> Iterator[Connection]:
    yield conn


Act = Callable[[Connection], AbstractContextManager[Connection]]
"""The role a write runs as: the owner (no transaction), or an API role in a transaction."""


def draw(  # noqa: PLR0911, PLR0912 - one branch per kind of write
    rng: random.Random, world: World, today: date, weights: dict[Write, int]
) -> tuple[Write, str, dict[str, Any], Act]:
    """The next write: its kind, statement, parameters and the role it runs as."""
    kind = rng.choices(list(weights), weights=list(weights.values()))[0]
    a = rng.choice(world.assignments)
    some = [x.id for x in rng.choices(world.assignments, k=rng.randint(2, 12))]
    owner: Act = as_owner

    def mentor(conn: Connection) -> AbstractContextManager[Connection]:
        return as_supabase_user(conn, a.mentor_user, "peer_mentor")

    def coordinator(conn: Connection) -> AbstractContextManager[Connection]:
        return as_supabase_user(conn, world.organizations[a.organization_id], "coordinator")

    day = today - timedelta(days=rng.choice((0, 0, 1, 2, 5)))
    org = rng.choice(list(world.organizations))
    if kind is Write.ACTIVITY:
        return kind, INSERT_ACTIVITY, {"a": a.id, "day": day, "by": a.mentor_user}, mentor
    if kind is Write.ACTIVITIES:
        days = [today - timedelta(days=rng.randint(0, 6)) for _ in some]
        return kind, INSERT_ACTIVITIES, {"ids": some, "days": days}, owner
    if kind is Write.ACTIVITY_DELETE:
        return kind, DELETE_ACTIVITY, {"a": a.id}, rng.choice((mentor, owner))
    if kind is Write.ACTIVITIES_DELETE:
        return kind, DELETE_ACTIVITIES, {"ids": some, "since": today - timedelta(days=3)}, owner
    if kind is Write.ASSIGNMENT_INSERT:
        rows = rng.randint(1, 3)
        starts = [today - timedelta(days=rng.randint(0, 30)) for _ in range(rows)]
        return (
            kind,
            INSERT_ASSIGNMENTS,
            {
                "org": org,
                "mentors": [rng.choice(world.mentors[org]) for _ in range(rows)],
                "contacts": [rng.choice(world.contacts[org]) for _ in range(rows)],
                "starts": starts,
                "lasts": [
                    None
                    if rng.random() < 0.5
                    else s + timedelta(days=rng.randint(0, (today - s).days))
                    for s in starts
                ],
            },
            owner,
        )
    if kind is Write.STATUS:
        status = rng.choice(("active", "active", "paused", "ended"))
        return kind, UPDATE_STATUS, {"a": a.id, "status": status}, coordinator
    if kind is Write.STATUSES:
        return kind, FLIP_STATUSES, {"ids": some}, owner
    if kind is Write.CONTACT_ID:
        contact = rng.choice(world.contacts[a.organization_id])
        return (
            kind,
            UPDATE_CONTACT_ID,
            {"a": a.id, "c": contact},
            rng.choice((as_service_role, owner)),
        )
    if kind is Write.STARTS_ON:
        return kind, EARLIER_START, {"ids": some, "days": rng.randint(1, 5)}, owner
    if kind is Write.RENAME:
        name = f"First{rng.randrange(10**6)}"
        return kind, RENAME_CONTACT, {"a": a.id, "name": name}, rng.choice((as_service_role, owner))
    if kind is Write.RENAMES:
        name = f"Last{rng.randrange(10**6)}"
        if rng.random() < 0.5:
            lo = rng.choice(world.contacts[org])  # up to 200 ids from there, every k-th
            params: dict[str, Any] = {"org": org, "lo": lo, "name": name}
            params.update(k=rng.randint(2, 5), r=rng.randint(0, 1))
            return kind, RENAME_CONTACTS_OF_ORG, params, rng.choice((as_service_role, owner))
        return kind, RENAME_CONTACTS_OF, {"ids": some, "name": name}, owner
    if kind is Write.THRESHOLDS:
        reminder = rng.randint(2, 6)
        params = {"org": org, "reminder": reminder, "escalation": reminder + rng.randint(1, 6)}
        return kind, UPDATE_THRESHOLDS, params, owner
    if kind is Write.TIME_ZONE:
        return kind, UPDATE_TIME_ZONE, {"org": org, "tz": rng.choice(TIME_ZONES)}, owner
    if kind is Write.RETENTION:
        return kind, DELETE_OLDEST_DISPATCHES, {"n": rng.randint(1, 10)}, owner
    if kind is Write.LOG_RETENTION:
        return kind, DELETE_OLDEST_RUNS, {"n": rng.randint(1, 3)}, owner
    return kind, DELETE_A_DISPATCH, {"a": a.id}, owner


INSERT_ACTIVITY = """
INSERT INTO public.activities (assignment_id, occurred_on, registration_path, registered_by)
SELECT a.id, greatest(a.starts_on, %(day)s::date), 'direct', %(by)s
FROM public.assignments a WHERE a.id = %(a)s"""
INSERT_ACTIVITIES = """
INSERT INTO public.activities (assignment_id, occurred_on, registration_path)
SELECT a.id, greatest(a.starts_on, i.day), 'bulk'
FROM unnest(%(ids)s::bigint[], %(days)s::date[]) WITH ORDINALITY AS i (id, day, n)
JOIN public.assignments a ON a.id = i.id
ORDER BY i.n"""
DELETE_ACTIVITY = """
DELETE FROM public.activities
WHERE id = (SELECT max(id) FROM public.activities WHERE assignment_id = %(a)s)"""
DELETE_ACTIVITIES = """
DELETE FROM public.activities WHERE assignment_id = ANY (%(ids)s) AND occurred_on >= %(since)s"""
INSERT_ASSIGNMENTS = """
INSERT INTO public.assignments (organization_id, peer_mentor_id, contact_id, starts_on,
                                last_contact_date)
SELECT %(org)s, m, c, s, l
FROM unnest(%(mentors)s::bigint[], %(contacts)s::bigint[], %(starts)s::date[], %(lasts)s::date[])
     AS n (m, c, s, l)"""
UPDATE_STATUS = "UPDATE public.assignments SET status = %(status)s WHERE id = %(a)s"
FLIP_STATUSES = """
UPDATE public.assignments
SET status = CASE status WHEN 'active' THEN 'paused' ELSE 'active' END
WHERE id = ANY (%(ids)s)"""
UPDATE_CONTACT_ID = "UPDATE public.assignments SET contact_id = %(c)s WHERE id = %(a)s"
EARLIER_START = """
UPDATE public.assignments SET starts_on = starts_on - %(days)s::integer WHERE id = ANY (%(ids)s)"""
RENAME_CONTACT = """
UPDATE public.contacts SET first_name = %(name)s
WHERE id = (SELECT contact_id FROM public.assignments WHERE id = %(a)s)"""
RENAME_CONTACTS_OF_ORG = """
UPDATE public.contacts SET last_name = %(name)s
WHERE organization_id = %(org)s AND id BETWEEN %(lo)s AND %(lo)s + 200 AND id %% %(k)s = %(r)s"""
RENAME_CONTACTS_OF = """
UPDATE public.contacts SET last_name = %(name)s
WHERE id IN (SELECT contact_id FROM public.assignments WHERE id = ANY (%(ids)s))"""
UPDATE_THRESHOLDS = """
UPDATE public.organizations
SET reminder_after_days = %(reminder)s, escalation_after_days = %(escalation)s
WHERE id = %(org)s"""
UPDATE_TIME_ZONE = "UPDATE public.organizations SET time_zone = %(tz)s WHERE id = %(org)s"
DELETE_OLDEST_DISPATCHES = """
DELETE FROM reminders.reminder_dispatches
WHERE id < (SELECT min(id) + %(n)s FROM reminders.reminder_dispatches)"""
DELETE_OLDEST_RUNS = """
DELETE FROM reminders.cron_execution_logs
WHERE id IN (SELECT id FROM reminders.cron_execution_logs WHERE status <> 'running'
             ORDER BY id LIMIT %(n)s)"""
DELETE_A_DISPATCH = """
DELETE FROM reminders.reminder_dispatches
WHERE id = (SELECT max(id) FROM reminders.reminder_dispatches WHERE assignment_id = %(a)s)"""


FINISH_RUN = """
UPDATE reminders.cron_execution_logs
SET status = 'success', finished_at = started_at, duration_ms = 0
WHERE id = %(id)s"""


def run_round(
    url: str,
    world: World,
    tally: Tally,
    *,
    seed: int,
    round_no: int,
    now: datetime,
    shape: Shape,
    deadline: float | None = None,
) -> int:
    """Writers and one pass, started together; their outcomes go to *tally*. Past *deadline*
    (``time.monotonic()``) the writers stop after their first ``writes_per_writer``. Returns the
    id of the run row the pass wrote for (pruned by the writers of a later round, not this one's:
    it is 'running' until the pass ends)."""
    start = threading.Barrier(shape.writers + 1, timeout=60)
    pass_done = threading.Event()
    runs: list[int] = []
    today = now.date() - timedelta(days=1)  # never after any organization's today
    rng = random.Random(f"{seed}-{round_no}-pass")
    batch_size = rng.choice(shape.batch_sizes)

    def the_pass() -> None:
        with connect(url, purpose="race-pass") as conn:
            batches = 0

            def on_batch(_: object) -> None:
                nonlocal batches
                batches += 1

            service = ReminderPass(
                conn, batch_size=batch_size, channels=CHANNELS, on_batch=on_batch
            )
            run_id = insert_run(conn, "running", now)  # its rows name it; retention prunes it
            runs.append(run_id)
            start.wait()
            try:
                counts = service.run(now=now, run_id=run_id)
            except Exception as exc:
                failure = Failure(round_no, None, None, sqlstate(exc), str(exc), "the pass")
                made = service.counts.reminders_created + service.counts.escalations_created
                with tally.lock:
                    tally.failures.append(failure)
                    tally.batches += batches
                    tally.reminders += made  # by the batches it committed
                return
            finally:
                conn.execute(FINISH_RUN, {"id": run_id})
                pass_done.set()
            with tally.lock:
                tally.passes += 1
                tally.batches += batches
                tally.reminders += counts.reminders_created + counts.escalations_created

    def writer(number: int) -> None:
        wrng = random.Random(f"{seed}-{round_no}-writer-{number}")
        with connect(url, purpose=f"race-writer-{number}") as conn:
            start.wait()
            written = 0
            while written < shape.writes_per_writer or (
                not pass_done.is_set()
                and written < shape.most_writes_per_writer
                and (deadline is None or time.monotonic() < deadline)
            ):
                kind, statement, params, role = draw(wrng, world, today, shape.weights)
                written += 1
                try:
                    with role(conn):
                        conn.execute(statement, params)
                except psycopg.Error as exc:
                    state = exc.sqlstate or "?"
                    failure = Failure(round_no, number, kind, state, str(exc), statement)
                    with tally.lock:
                        tally.failed[kind, state] += 1
                        tally.failures.append(failure)
                    continue
                with tally.lock:
                    tally.done[kind] += 1

    threads = [threading.Thread(target=the_pass, name="race-pass")]
    threads += [
        threading.Thread(target=writer, args=(n,), name=f"race-writer-{n}")
        for n in range(shape.writers)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_TIMEOUT_S)
        if t.is_alive():
            raise RuntimeError(f"round {round_no}: {t.name} still runs after {JOIN_TIMEOUT_S} s")
    return runs[0]


def invariant_violations(conn: Connection, *, check_index: bool = True) -> list[str]:
    """What is wrong in the tables now, one line per broken invariant (empty when all hold)."""
    problems = []
    if check_index:
        stale = stale_due_rows(conn)
        if stale:
            indexed = {
                tuple(r.values())
                for r in conn.execute(
                    f"SELECT {COLUMNS} FROM reminders.assignment_due WHERE assignment_id = ANY(%s)",
                    ([r["assignment_id"] for r in stale],),
                ).fetchall()
            }
            lines = [
                (
                    "in the index, not in its view: "
                    if tuple(r.values()) in indexed
                    else "in the view, not in the index: "
                )
                + ", ".join(f"{k}={v}" for k, v in r.items())
                for r in stale[:10]
            ]
            problems.append(
                f"{len(stale)} due-index rows differ from reminders.assignment_due_expected:\n    "
                + "\n    ".join(lines)
            )
    checks = {
        "ledger keys written twice": """
            SELECT assignment_id, kind, gap_started_on, count(*) AS n
            FROM reminders.reminder_dispatches GROUP BY 1, 2, 3 HAVING count(*) > 1""",
        "notifications without their ledger row": """
            SELECT n.id, n.dispatch_id FROM public.notifications n
            WHERE NOT EXISTS (
                SELECT FROM reminders.reminder_dispatches r WHERE r.id = n.dispatch_id)""",
        "ledger rows without their notification": """
            SELECT r.id, r.assignment_id, r.kind FROM reminders.reminder_dispatches r
            WHERE NOT EXISTS (SELECT FROM public.notifications n WHERE n.dispatch_id = r.id)""",
        "ledger rows naming a run whose log row is gone": """
            SELECT r.id, r.run_id FROM reminders.reminder_dispatches r
            WHERE r.run_id IS NOT NULL AND NOT EXISTS (
                SELECT FROM reminders.cron_execution_logs l WHERE l.id = r.run_id)""",
        "ledger rows without their webhook delivery": """
            SELECT r.id, r.assignment_id, r.kind FROM reminders.reminder_dispatches r
            WHERE NOT EXISTS (SELECT FROM reminders.reminder_deliveries d
                              WHERE d.dispatch_id = r.id AND d.channel = 'webhook')""",
    }
    for what, query in checks.items():
        rows = conn.execute(query).fetchall()
        if rows:
            problems.append(f"{len(rows)} {what}, e.g. {rows[:5]}")
    return problems
