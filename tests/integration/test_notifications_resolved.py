"""An in-app notification whose gap is closed after it was written is marked resolved, in the
same transaction as the write that closed it: the app hides
``resolved_at IS NOT NULL``. One for a gap still open stays unresolved."""

from __future__ import annotations

from datetime import UTC, date, datetime

from assignment_reminders.db.database import Connection
from assignment_reminders.job.reminder_pass import ReminderPass
from tests import factories
from tests.due_index import stale_due_rows

STARTS = date(2026, 3, 1)
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)  # both reminders due (3 and 10 days)


def resolved(conn: Connection) -> dict[tuple[int, str], bool]:
    """(assignment, kind) -> whether its notification is resolved."""
    rows = conn.execute(
        "SELECT r.assignment_id AS a, r.kind AS k, n.resolved_at IS NOT NULL AS done"
        " FROM public.notifications n JOIN reminders.reminder_dispatches r ON r.id = n.dispatch_id"
    ).fetchall()
    return {(r["a"], r["k"]): r["done"] for r in rows}


def test_a_contact_registered_after_the_reminder_resolves_its_notifications(
    conn: Connection,
) -> None:
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=10)
    closed, still_open = (
        factories.assignment(conn, organization_id=org, starts_on=STARTS) for _ in "ab"
    )
    ReminderPass(conn).run(now=NOW)
    assert set(resolved(conn).values()) == {False}
    conn.execute(
        "INSERT INTO public.activities (assignment_id, occurred_on, registration_path)"
        " VALUES (%s, '2026-03-19', 'direct')",
        (closed,),
    )
    assert resolved(conn) == {
        (closed, "reminder"): True,
        (closed, "escalation"): True,
        (still_open, "reminder"): False,
        (still_open, "escalation"): False,
    }
    assert stale_due_rows(conn) == []


def test_an_assignment_that_stops_being_active_resolves_its_notifications(
    conn: Connection,
) -> None:
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=10)
    paused = factories.assignment(conn, organization_id=org, starts_on=STARTS)
    ReminderPass(conn).run(now=NOW)
    conn.execute("UPDATE public.assignments SET status = 'paused' WHERE id = %s", (paused,))
    assert resolved(conn) == {(paused, "reminder"): True, (paused, "escalation"): True}


def test_a_backdated_contact_that_moves_no_gap_resolves_nothing(conn: Connection) -> None:
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=10)
    a = factories.assignment(
        conn, organization_id=org, starts_on=STARTS, last_contact_date=date(2026, 3, 5)
    )
    ReminderPass(conn).run(now=NOW)
    conn.execute(
        "INSERT INTO public.activities (assignment_id, occurred_on, registration_path)"
        " VALUES (%s, '2026-03-02', 'direct')",
        (a,),
    )
    assert resolved(conn) == {(a, "reminder"): False, (a, "escalation"): False}


def test_only_the_closed_gaps_notifications_are_resolved_not_the_next_ones(
    conn: Connection,
) -> None:
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=10)
    a = factories.assignment(conn, organization_id=org, starts_on=STARTS)
    ReminderPass(conn).run(now=NOW)
    conn.execute(
        "INSERT INTO public.activities (assignment_id, occurred_on, registration_path)"
        " VALUES (%s, '2026-03-05', 'direct')",
        (a,),
    )
    # the new gap (from 03-05) is due again at NOW: its reminders are new and open
    ReminderPass(conn).run(now=NOW)
    rows = conn.execute(
        "SELECT r.gap_started_on AS g, n.resolved_at IS NOT NULL AS done"
        " FROM public.notifications n JOIN reminders.reminder_dispatches r ON r.id = n.dispatch_id"
        " ORDER BY 1, r.kind"
    ).fetchall()
    assert [(r["g"], r["done"]) for r in rows] == [
        (STARTS, True),
        (STARTS, True),
        (date(2026, 3, 5), False),
        (date(2026, 3, 5), False),
    ]
