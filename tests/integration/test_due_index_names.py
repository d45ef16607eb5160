"""The due index carries each assignment's contact's names, and the database keeps them current
(migration 20261201010000): the pass writes the notifications from them without reading
`contacts`."""

from __future__ import annotations

from datetime import UTC, date, datetime

from assignment_reminders.db.database import Connection
from assignment_reminders.job.reminder_pass import ReminderPass
from tests import factories
from tests.due_index import stale_due_rows

STARTS = date(2026, 3, 1)
NOW = datetime(2026, 3, 20, 12, tzinfo=UTC)  # both reminders due (3 and 10 days)


def names_in_index(conn: Connection, assignment_id: int) -> set[tuple[str, str]]:
    rows = conn.execute(
        "SELECT contact_first_name AS f, contact_last_name AS l FROM reminders.assignment_due"
        " WHERE assignment_id = %s",
        (assignment_id,),
    ).fetchall()
    return {(r["f"], r["l"]) for r in rows}


def contact_of(conn: Connection, assignment_id: int) -> int:
    row = conn.execute(
        "SELECT contact_id AS c FROM public.assignments WHERE id = %s", (assignment_id,)
    ).fetchone()
    assert row is not None
    return int(row["c"])


def test_one_statement_renaming_several_contacts_renames_them_in_the_index(
    conn: Connection,
) -> None:
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=10)
    a, b, c = (factories.assignment(conn, organization_id=org, starts_on=STARTS) for _ in "abc")
    conn.execute(
        "UPDATE public.contacts SET first_name = 'Åse', last_name = 'Ødegård-' || id"
        " WHERE id IN (%s, %s)",
        (contact_of(conn, a), contact_of(conn, b)),
    )
    assert names_in_index(conn, a) == {("Åse", f"Ødegård-{contact_of(conn, a)}")}
    assert names_in_index(conn, b) == {("Åse", f"Ødegård-{contact_of(conn, b)}")}
    assert ("Åse", f"Ødegård-{contact_of(conn, c)}") not in names_in_index(conn, c)
    assert len(names_in_index(conn, c)) == 1
    assert stale_due_rows(conn) == []


def test_an_update_that_changes_no_name_leaves_the_index_rows_alone(conn: Connection) -> None:
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=10)
    a = factories.assignment(conn, organization_id=org, starts_on=STARTS)
    versions = "SELECT array_agg(xmin::text ORDER BY kind) AS v FROM reminders.assignment_due"
    before = conn.execute(versions).fetchone()
    conn.execute(
        "UPDATE public.contacts SET organization_id = organization_id WHERE id = %s",
        (contact_of(conn, a),),
    )
    assert conn.execute(versions).fetchone() == before


def test_the_notification_names_the_contact_as_renamed_before_the_pass(conn: Connection) -> None:
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=10)
    a = factories.assignment(conn, organization_id=org, starts_on=STARTS)
    old = factories.assignment(conn, organization_id=org, starts_on=STARTS)
    conn.execute(
        "UPDATE public.contacts SET first_name = 'Renamed', last_name = 'Person' WHERE id = %s",
        (contact_of(conn, a),),
    )
    # and the other assignment given a new contact
    new_contact = factories.contact(conn, org, first_name="Other", last_name="Contact")
    conn.execute("UPDATE public.assignments SET contact_id = %s WHERE id = %s", (new_contact, old))
    counts = ReminderPass(conn).run(now=NOW)
    assert (counts.reminders_created, counts.escalations_created) == (2, 2)
    texts = conn.execute(
        "SELECT r.assignment_id AS a, r.kind, n.title, n.body FROM reminders.reminder_dispatches r"
        " JOIN public.notifications n ON n.dispatch_id = r.id ORDER BY r.assignment_id, r.kind"
    ).fetchall()
    by = {(t["a"], t["kind"]): t for t in texts}
    assert by[(a, "reminder")]["title"] == "Time to get in touch with Renamed"
    assert "Renamed Person" in by[(a, "reminder")]["body"]
    assert "Renamed Person" in by[(a, "escalation")]["body"]
    assert by[(old, "reminder")]["title"] == "Time to get in touch with Other"
    assert "Other Contact" in by[(old, "escalation")]["body"]


def test_a_rename_by_service_role_reaches_the_index_it_may_not_write(conn: Connection) -> None:
    """On Supabase a host app's server renames contacts as service_role, which has no grant on
    reminders.assignment_due: the trigger writes it with its owner's rights."""
    org = factories.organization(conn, reminder_after_days=3, escalation_after_days=10)
    a = factories.assignment(conn, organization_id=org, starts_on=STARTS)
    conn.commit()
    conn.execute("SET ROLE service_role")
    try:
        may_write = conn.execute(
            "SELECT has_table_privilege('reminders.assignment_due', 'UPDATE') AS w"
        ).fetchone()
        conn.execute(
            "UPDATE public.contacts SET first_name = 'Service', last_name = 'Role' WHERE id = %s",
            (contact_of(conn, a),),
        )
    finally:
        conn.execute("RESET ROLE")
    assert may_write == {"w": False}
    assert names_in_index(conn, a) == {("Service", "Role")}
