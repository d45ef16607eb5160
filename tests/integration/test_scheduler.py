"""ReminderPass against a real PostgreSQL: who is due, once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from assignment_reminders.db.database import Connection
from assignment_reminders.exceptions import InputError
from assignment_reminders.job.reminder_pass import ReminderPass
from tests import factories

# 06:00 in Oslo on 28 November 2026
NOW = datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
TODAY = date(2026, 11, 28)


def dispatches(conn: Connection) -> list[tuple[int, str, date, int]]:
    rows = conn.execute(
        "SELECT assignment_id, kind, gap_started_on, days_since_contact"
        " FROM reminders.reminder_dispatches ORDER BY assignment_id, kind"
    ).fetchall()
    return [
        (r["assignment_id"], r["kind"], r["gap_started_on"], r["days_since_contact"]) for r in rows
    ]


def test_thresholds_10_and_20_days_from_last_contact(conn: Connection) -> None:
    org = factories.organization(conn)
    mentor = factories.peer_mentor(conn, org, factories.coordinator(conn, org))
    start = TODAY - timedelta(days=100)

    def make(days_ago: int) -> int:
        return factories.assignment(
            conn,
            organization_id=org,
            peer_mentor_id=mentor,
            starts_on=start,
            last_contact_date=TODAY - timedelta(days=days_ago),
        )

    fresh, nine, ten, nineteen, twenty = make(0), make(9), make(10), make(19), make(20)
    counts = ReminderPass(conn, batch_size=2).run(now=NOW)
    assert dispatches(conn) == [
        (ten, "reminder", TODAY - timedelta(days=10), 10),
        (nineteen, "reminder", TODAY - timedelta(days=19), 19),
        (twenty, "escalation", TODAY - timedelta(days=20), 20),
        (twenty, "reminder", TODAY - timedelta(days=20), 20),
    ]
    assert {fresh, nine}.isdisjoint({a for a, *_ in dispatches(conn)})
    # the pass reads the due index: the four reminders that are due, not the five assignments
    assert counts.due_rows_read == 4
    assert counts.reminders_created == 3
    assert counts.escalations_created == 1


def test_start_date_counts_when_there_was_no_contact(conn: Connection) -> None:
    due = factories.assignment(conn, starts_on=TODAY - timedelta(days=12))
    factories.assignment(conn, starts_on=TODAY - timedelta(days=5))
    ReminderPass(conn).run(now=NOW)
    assert dispatches(conn) == [(due, "reminder", TODAY - timedelta(days=12), 12)]


def test_only_active_assignments_that_have_not_ended(conn: Connection) -> None:
    long_ago = TODAY - timedelta(days=40)
    factories.assignment(conn, starts_on=long_ago, status="paused")
    factories.assignment(
        conn, starts_on=long_ago, status="ended", ends_on=TODAY - timedelta(days=1)
    )
    factories.assignment(conn, starts_on=long_ago, ends_on=TODAY - timedelta(days=1))
    active = factories.assignment(conn, starts_on=long_ago, ends_on=TODAY)
    ReminderPass(conn).run(now=NOW)
    assert {a for a, *_ in dispatches(conn)} == {active}


def test_days_are_counted_in_the_organization_time_zone(conn: Connection) -> None:
    # 23:30 UTC on 27 Nov is already 28 Nov in Oslo but still 27 Nov in New York.
    late = datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    contact = date(2026, 11, 18)
    oslo = factories.assignment(
        conn,
        organization_id=factories.organization(conn, time_zone="Europe/Oslo"),
        starts_on=contact,
        last_contact_date=contact,
    )
    factories.assignment(
        conn,
        organization_id=factories.organization(conn, time_zone="America/New_York"),
        starts_on=contact,
        last_contact_date=contact,
    )
    ReminderPass(conn).run(now=late)
    assert dispatches(conn) == [(oslo, "reminder", contact, 10)]


def test_thresholds_are_per_organization(conn: Connection) -> None:
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=5)
    assignment = factories.assignment(
        conn, organization_id=org, starts_on=TODAY - timedelta(days=5)
    )
    ReminderPass(conn).run(now=NOW)
    assert [k for a, k, *_ in dispatches(conn) if a == assignment] == ["escalation", "reminder"]


def test_a_second_pass_creates_nothing_new(conn: Connection) -> None:
    for days in (11, 25, 3):
        factories.assignment(conn, starts_on=TODAY - timedelta(days=days))
    first = ReminderPass(conn).run(now=NOW)
    second = ReminderPass(conn).run(now=NOW + timedelta(hours=2))
    assert first.reminders_created + first.escalations_created == 3
    assert second.reminders_created == second.escalations_created == 0
    # written reminders left the due index: the second pass reads nothing
    assert second.due_rows_read == second.duplicates_suppressed == 0
    notifications = conn.execute("SELECT count(*) AS n FROM notifications").fetchone()
    assert notifications is not None and notifications["n"] == 3


def test_new_contact_opens_a_new_gap(conn: Connection) -> None:
    assignment = factories.assignment(conn, starts_on=TODAY - timedelta(days=30))
    ReminderPass(conn).run(now=NOW - timedelta(days=15))  # day 15: reminder
    conn.execute(
        "UPDATE assignments SET last_contact_date = %s WHERE id = %s",
        (TODAY - timedelta(days=11), assignment),
    )
    ReminderPass(conn).run(now=NOW)
    gaps = [(k, gap) for a, k, gap, _ in dispatches(conn)]
    assert gaps == [
        ("reminder", TODAY - timedelta(days=30)),
        ("reminder", TODAY - timedelta(days=11)),
    ]


def test_notifications_go_to_mentor_and_coordinator(conn: Connection) -> None:
    org = factories.organization(conn)
    coordinator = factories.coordinator(conn, org)
    mentor = factories.peer_mentor(conn, org, coordinator, first_name="Åse")
    factories.assignment(
        conn, organization_id=org, peer_mentor_id=mentor, starts_on=TODAY - timedelta(days=21)
    )
    ReminderPass(conn).run(now=NOW)
    rows = conn.execute(
        "SELECT d.kind, n.title, n.body,"
        " n.recipient_user_id = (SELECT user_id FROM peer_mentors WHERE id = %s) AS to_mentor,"
        " n.recipient_user_id = (SELECT user_id FROM coordinators WHERE id = %s) AS to_coord"
        " FROM notifications n JOIN reminders.reminder_dispatches d ON d.id ="
        " n.dispatch_id ORDER BY d.kind",
        (mentor, coordinator),
    ).fetchall()
    assert [(r["kind"], r["to_mentor"], r["to_coord"]) for r in rows] == [
        ("escalation", False, True),
        ("reminder", True, False),
    ]
    assert "21 days" in rows[1]["body"] and "Kim Contact" in rows[1]["body"]
    assert rows[0]["title"] == "Åse Mentor needs follow-up"


def test_naive_now_is_refused(conn: Connection) -> None:
    with pytest.raises(InputError, match="timezone-aware"):
        ReminderPass(conn).run(now=datetime(2026, 11, 28, 6, 0))


def test_checkpoint_runs_before_every_batch_and_can_stop_the_pass(conn: Connection) -> None:
    for _ in range(5):
        factories.assignment(conn, starts_on=TODAY - timedelta(days=15))
    calls: list[int] = []

    def checkpoint() -> None:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("stop")

    service = ReminderPass(conn, batch_size=2)
    with pytest.raises(RuntimeError):
        service.run(now=NOW, checkpoint=checkpoint)
    row = conn.execute("SELECT count(*) AS n FROM reminders.reminder_dispatches").fetchone()
    assert row is not None and row["n"] == 4, "the two committed batches stay"
    assert (service.counts.due_rows_read, service.counts.reminders_created) == (4, 4)
