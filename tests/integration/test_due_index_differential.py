"""The pass through the due index creates exactly the reminders a straightforward reference does.

Randomized days (seeded, so a failure replays): organizations in time zones with DST changes
inside the simulated weeks (Oslo, New York, Lord Howe's half-hour change) and at the date line,
random thresholds; assignments paused, ended, resumed, moved to another organization;
activities registered on the day, back-dated or deleted; last-contact corrections; threshold
and time zone changes; ledger rows deleted or written by hand (another writer than the pass: the
ledger's trigger keeps the index right for it); contacts renamed and assignments given another
contact (the index carries the contact's names for the notifications); passes at random hours
(some twice a day) with random batch sizes. Before every pass the reference works out, in Python
and from the tables alone (never from the index), which reminders are due and not in the ledger;
the pass must create exactly those, and each notification must name the contact as the tables
do at that moment.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from assignment_reminders.db.database import Connection
from assignment_reminders.job.reminder_pass import ReminderPass
from tests import factories
from tests.due_index import stale_due_rows

TIME_ZONES = (
    "Europe/Oslo",  # DST starts 29 March 2026
    "America/New_York",  # DST starts 8 March 2026
    "Australia/Lord_Howe",  # DST (half an hour) ends 5 April 2026
    "Pacific/Kiritimati",  # UTC+14
    "Pacific/Pago_Pago",  # UTC-11
    "Asia/Kathmandu",  # UTC+5:45
    "UTC",
)
FIRST_DAY = date(2026, 3, 1)
DAYS = 45

Key = tuple[int, str, date, int]  # assignment, kind, gap started on, days since contact


@dataclass(frozen=True)
class World:
    orgs: list[int]
    mentors: dict[int, int]  # organization -> a peer mentor of it


def build(conn: Connection, rng: random.Random, assignments: int) -> World:
    orgs, mentors = [], {}
    for tz in TIME_ZONES:
        reminder = rng.randint(1, 12)
        org = factories.organization(
            conn,
            time_zone=tz,
            reminder_after_days=reminder,
            escalation_after_days=reminder + rng.randint(1, 12),
        )
        orgs.append(org)
        mentors[org] = factories.peer_mentor(conn, org, factories.coordinator(conn, org))
    world = World(orgs, mentors)
    for _ in range(assignments):
        new_assignment(conn, rng, world, FIRST_DAY)
    return world


def new_assignment(conn: Connection, rng: random.Random, world: World, today: date) -> None:
    org = rng.choice(world.orgs)
    starts_on = today - timedelta(days=rng.randint(-3, 60))
    contact = min(today, starts_on + timedelta(days=rng.randint(0, 40)))
    last = None if rng.random() < 0.3 or contact < starts_on else contact
    factories.assignment(
        conn,
        organization_id=org,
        peer_mentor_id=world.mentors[org],
        starts_on=starts_on,
        ends_on=None if rng.random() < 0.7 else starts_on + timedelta(days=rng.randint(0, 90)),
        last_contact_date=last,
        status=rng.choice(("active", "active", "active", "paused", "ended")),
    )


def mutate(  # noqa: PLR0912 - one branch per kind of change
    conn: Connection, rng: random.Random, world: World, today: date
) -> None:
    ids = [r["id"] for r in conn.execute("SELECT id FROM public.assignments").fetchall()]
    for _ in range(rng.randint(0, 12)):
        action = rng.randrange(14)
        a = rng.choice(ids)
        if action <= 2:  # an activity, today or back-dated
            occurred = today - timedelta(days=rng.choice((0, 0, 1, 3, 9, 25)))
            conn.execute(  # never before the start: the database refuses that
                "INSERT INTO public.activities (assignment_id, occurred_on)"
                " SELECT id, greatest(starts_on, %s) FROM public.assignments WHERE id = %s",
                (occurred, a),
            )
        elif action == 3:  # an activity deleted (the date falls back)
            conn.execute(
                "DELETE FROM public.activities WHERE id = (SELECT max(id) FROM public.activities"
                " WHERE assignment_id = %s)",
                (a,),
            )
        elif action == 4:  # a correction by an administrator
            conn.execute(
                "SELECT reminders.set_last_contact_date(id, greatest(starts_on, %s), 'test', NULL,"
                " 'admin', NULL, %s) FROM public.assignments WHERE id = %s",
                (today - timedelta(days=rng.randint(0, 40)), datetime.now(UTC), a),
            )
        elif action == 5:  # paused, ended or resumed
            conn.execute(
                "UPDATE public.assignments SET status = %s WHERE id = %s",
                (rng.choice(("active", "active", "paused", "ended")), a),
            )
        elif action == 6:  # end date set, moved or removed
            conn.execute(
                "UPDATE public.assignments SET ends_on = CASE WHEN %s THEN NULL"
                " ELSE greatest(starts_on, %s::date) END WHERE id = %s",
                (rng.random() < 0.3, today + timedelta(days=rng.randint(-5, 20)), a),
            )
        elif action == 7:  # thresholds changed
            reminder = rng.randint(1, 12)
            conn.execute(
                "UPDATE public.organizations SET reminder_after_days = %s,"
                " escalation_after_days = %s WHERE id = %s",
                (reminder, reminder + rng.randint(1, 12), rng.choice(world.orgs)),
            )
        elif action == 8:  # time zone changed
            conn.execute(
                "UPDATE public.organizations SET time_zone = %s WHERE id = %s",
                (rng.choice(TIME_ZONES), rng.choice(world.orgs)),
            )
        elif action == 9:  # a ledger row deleted by hand: that reminder is due again
            conn.execute(
                "DELETE FROM reminders.reminder_dispatches WHERE id = (SELECT id FROM"
                " reminders.reminder_dispatches WHERE assignment_id = %s LIMIT 1)",
                (a,),
            )
        elif action == 10:  # a reminder written by another writer than the pass
            write_by_hand(conn, a, rng.choice(("reminder", "escalation")))
        elif action == 11:  # the contact renamed (the index carries the names)
            conn.execute(
                "UPDATE public.contacts SET first_name = %s, last_name = %s"
                " WHERE id = (SELECT contact_id FROM public.assignments WHERE id = %s)",
                (f"First{rng.randrange(10**6)}", f"Last{rng.randrange(10**6)}", a),
            )
        elif action == 12:  # the assignment given another contact
            org = conn.execute(
                "SELECT organization_id AS o FROM public.assignments WHERE id = %s", (a,)
            ).fetchone()
            assert org is not None
            other = factories.contact(
                conn, org["o"], first_name=f"New{rng.randrange(10**6)}", last_name="Contact"
            )
            conn.execute("UPDATE public.assignments SET contact_id = %s WHERE id = %s", (other, a))
        else:
            new_assignment(conn, rng, world, today)


def write_by_hand(conn: Connection, assignment_id: int, kind: str) -> None:
    """A ledger row for the assignment's current gap, as an import or a tool would write it."""
    conn.execute(
        "INSERT INTO reminders.reminder_dispatches (assignment_id, kind, gap_started_on,"
        " days_since_contact, organization_id, peer_mentor_id, coordinator_id, recipient_user_id)"
        " SELECT a.id, %s, coalesce(a.last_contact_date, a.starts_on), 0, a.organization_id,"
        " a.peer_mentor_id, pm.coordinator_id, pm.user_id FROM public.assignments a"
        " JOIN public.peer_mentors pm ON pm.id = a.peer_mentor_id WHERE a.id = %s"
        " ON CONFLICT DO NOTHING",
        (kind, assignment_id),
    )


def reference(conn: Connection, now: datetime) -> set[Key]:
    """The due reminders not in the ledger, from the tables, computed here in Python."""
    orgs = {
        r["id"]: r
        for r in conn.execute(
            "SELECT id, time_zone, reminder_after_days, escalation_after_days"
            " FROM public.organizations"
        ).fetchall()
    }
    sent = {
        (r["assignment_id"], r["kind"], r["gap_started_on"])
        for r in conn.execute(
            "SELECT assignment_id, kind, gap_started_on FROM reminders.reminder_dispatches"
        ).fetchall()
    }
    due: set[Key] = set()
    for a in conn.execute(
        "SELECT id, organization_id, status, starts_on, ends_on, last_contact_date"
        " FROM public.assignments"
    ).fetchall():
        org = orgs[a["organization_id"]]
        today = now.astimezone(ZoneInfo(org["time_zone"])).date()
        if a["status"] != "active" or (a["ends_on"] is not None and a["ends_on"] < today):
            continue
        gap = a["last_contact_date"] or a["starts_on"]
        days = (today - gap).days
        for kind, after in (
            ("reminder", org["reminder_after_days"]),
            ("escalation", org["escalation_after_days"]),
        ):
            if days >= after and (a["id"], kind, gap) not in sent:
                due.add((a["id"], kind, gap, days))
    return due


def created_since(conn: Connection, after_id: int) -> set[Key]:
    return {
        (r["assignment_id"], r["kind"], r["gap_started_on"], r["days_since_contact"])
        for r in conn.execute(
            "SELECT assignment_id, kind, gap_started_on, days_since_contact"
            " FROM reminders.reminder_dispatches WHERE id > %s",
            (after_id,),
        ).fetchall()
    }


def stale_names(conn: Connection, after_id: int) -> list[dict[str, object]]:
    """Notifications written after ledger row *after_id* that do not name their assignment's
    contact as the tables name it now (the pass takes the names from the due index)."""
    return conn.execute(
        "SELECT r.id, r.kind, n.title, n.body, c.first_name, c.last_name"
        " FROM reminders.reminder_dispatches r"
        " JOIN public.notifications n ON n.dispatch_id = r.id"
        " JOIN public.assignments a ON a.id = r.assignment_id"
        " JOIN public.contacts c ON c.id = a.contact_id"
        " WHERE r.id > %s AND (strpos(n.body, c.first_name || ' ' || c.last_name) = 0"
        "   OR (r.kind = 'reminder' AND n.title <> 'Time to get in touch with ' || c.first_name))",
        (after_id,),
    ).fetchall()


def last_dispatch_id(conn: Connection) -> int:
    row = conn.execute("SELECT coalesce(max(id), 0) AS id FROM reminders.reminder_dispatches")
    found = row.fetchone()
    assert found is not None
    return int(found["id"])


@pytest.mark.parametrize("random_seed", [1, 2, 3])
def test_the_pass_creates_what_the_reference_says_is_due(
    conn: Connection, random_seed: int
) -> None:
    rng = random.Random(random_seed)
    world = build(conn, rng, assignments=150)
    total = 0
    for day in range(DAYS):
        today = FIRST_DAY + timedelta(days=day)
        mutate(conn, rng, world, today)
        for _ in range(rng.choice((1, 1, 2))):
            now = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(
                minutes=rng.randrange(24 * 60)
            )
            expected = reference(conn, now)
            before = last_dispatch_id(conn)
            counts = ReminderPass(conn, batch_size=rng.choice((3, 17, 1000))).run(now=now)
            got = created_since(conn, before)
            assert got == expected, (
                f"seed {random_seed}, {now:%Y-%m-%d %H:%M} UTC:"
                f" missing {sorted(expected - got)[:5]}, extra {sorted(got - expected)[:5]}"
            )
            assert counts.reminders_created + counts.escalations_created == len(got)
            assert stale_names(conn, before) == []
            total += len(got)
    assert total > 100, "the simulation sent almost nothing: it tests nothing"


def test_the_index_holds_exactly_the_reminders_still_to_come(conn: Connection) -> None:
    """After the same kind of random history, the triggers' index equals a fresh computation."""
    rng = random.Random(7)
    world = build(conn, rng, assignments=100)
    for day in range(20):
        today = FIRST_DAY + timedelta(days=day)
        mutate(conn, rng, world, today)
        ReminderPass(conn).run(now=datetime(today.year, today.month, today.day, 12, tzinfo=UTC))
    assert stale_due_rows(conn) == []
    row = conn.execute("SELECT count(*) AS n FROM reminders.assignment_due").fetchone()
    assert row is not None and row["n"] > 0


def test_a_ledger_row_moved_to_another_assignment_updates_both_in_the_index(
    conn: Connection,
) -> None:
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=30)
    a = factories.assignment(conn, organization_id=org, starts_on=FIRST_DAY)
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    ReminderPass(conn).run(now=now)
    b = factories.assignment(conn, organization_id=org, starts_on=FIRST_DAY)
    conn.execute(
        "UPDATE reminders.reminder_dispatches SET assignment_id = %s WHERE assignment_id = %s",
        (b, a),
    )
    pending = {
        (r["assignment_id"], r["kind"])
        for r in conn.execute(
            "SELECT assignment_id, kind FROM reminders.assignment_due WHERE assignment_id IN"
            " (%s, %s)",
            (a, b),
        ).fetchall()
    }
    # a's reminder is to come again; b's is in the ledger now, so it left the index
    assert pending == {(a, "reminder"), (a, "escalation"), (b, "escalation")}
    assert reference(conn, now) == {(a, "reminder", FIRST_DAY, 9)}


def index_rows(conn: Connection, *assignment_ids: int) -> set[tuple[int, str]]:
    return {
        (r["assignment_id"], r["kind"])
        for r in conn.execute(
            "SELECT assignment_id, kind FROM reminders.assignment_due"
            " WHERE assignment_id = ANY(%s)",
            (list(assignment_ids),),
        ).fetchall()
    }


def test_a_ledger_row_written_in_the_passs_transaction_after_it_still_leaves_the_index(
    conn: Connection,
) -> None:
    """The pass makes the ledger's trigger stand aside for its own batches only."""
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=30)
    a = factories.assignment(conn, organization_id=org, starts_on=FIRST_DAY)
    b = factories.assignment(conn, organization_id=org, starts_on=FIRST_DAY)
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    with conn.transaction():
        counts = ReminderPass(conn).run(now=now)
        write_by_hand(conn, b, "escalation")
        setting = conn.execute(
            "SELECT current_setting('reminders.pass_keeps_due_index', true) AS s"
        ).fetchone()
    assert counts.reminders_created == 2
    # the pass's reminders left the index by its own delete, b's escalation by the trigger
    assert index_rows(conn, a, b) == {(a, "escalation")}
    assert setting is not None and setting["s"] == "off"
    assert reference(conn, now) == set()


def test_the_pass_removes_a_reminder_another_writer_left_in_the_index(conn: Connection) -> None:
    """A writer that tells the trigger to stand aside and then does not delete the index row
    (the setting is documented, so someone may) costs a stale row until the next pass."""
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=30)
    a = factories.assignment(conn, organization_id=org, starts_on=FIRST_DAY)
    with conn.transaction():
        conn.execute("SELECT set_config('reminders.pass_keeps_due_index', 'on', true)")
        write_by_hand(conn, a, "reminder")
    assert index_rows(conn, a) == {(a, "reminder"), (a, "escalation")}
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    counts = ReminderPass(conn).run(now=now)
    assert (counts.reminders_created, counts.duplicates_suppressed) == (0, 1)
    assert index_rows(conn, a) == {(a, "escalation")}
