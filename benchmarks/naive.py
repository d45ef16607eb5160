"""The naive way, for comparison only: a Python loop with a few statements per assignment.

Reads every assignment with its organization, decides in Python which reminders are due, and for
each one checks the ledger, inserts the ledger row and the notification: three round trips per
reminder, one transaction each (autocommit), as a straightforward ORM-style job would.
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from assignment_reminders.db.database import connect

READ = """
SELECT a.id, a.status, a.starts_on, a.ends_on, a.last_contact_date, a.organization_id,
       a.peer_mentor_id, a.contact_id, o.time_zone, o.reminder_after_days,
       o.escalation_after_days
FROM public.assignments a JOIN public.organizations o ON o.id = a.organization_id
ORDER BY a.id
"""
PEOPLE = """
SELECT pm.coordinator_id, pm.user_id AS mentor_user, co.user_id AS coordinator_user,
       pm.first_name AS mf, pm.last_name AS ml, c.first_name AS cf, c.last_name AS cl
FROM public.peer_mentors pm JOIN public.coordinators co ON co.id = pm.coordinator_id
JOIN public.contacts c ON c.id = %(contact_id)s
WHERE pm.id = %(peer_mentor_id)s
"""
EXISTS = """
SELECT 1 FROM reminders.reminder_dispatches
WHERE assignment_id = %s AND kind = %s AND gap_started_on = %s
"""
INSERT = """
INSERT INTO reminders.reminder_dispatches (assignment_id, kind, gap_started_on, days_since_contact,
    organization_id, peer_mentor_id, coordinator_id, recipient_user_id)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT ON CONSTRAINT reminder_dispatches_once DO NOTHING
RETURNING id
"""
NOTIFY = """
INSERT INTO public.notifications (dispatch_id, recipient_user_id, title, body)
VALUES (%s, %s, %s, %s)
"""


def naive_run(url: str, now: datetime) -> tuple[float, int]:
    """Seconds taken and reminders created."""
    created = 0
    started = time.perf_counter()
    with connect(url, purpose="bench-naive") as conn:
        rows = conn.execute(READ).fetchall()
        for a in rows:
            today = now.astimezone(ZoneInfo(a["time_zone"])).date()
            if a["status"] != "active" or (a["ends_on"] and a["ends_on"] < today):
                continue
            gap = a["last_contact_date"] or a["starts_on"]
            days = (today - gap).days
            for kind, after in (
                ("reminder", a["reminder_after_days"]),
                ("escalation", a["escalation_after_days"]),
            ):
                if days < after:
                    continue
                if conn.execute(EXISTS, (a["id"], kind, gap)).fetchone():
                    continue
                p = conn.execute(PEOPLE, a).fetchone()
                assert p is not None
                recipient = p["mentor_user"] if kind == "reminder" else p["coordinator_user"]
                row = conn.execute(
                    INSERT,
                    (
                        a["id"],
                        kind,
                        gap,
                        days,
                        a["organization_id"],
                        a["peer_mentor_id"],
                        p["coordinator_id"],
                        recipient,
                    ),
                ).fetchone()
                if row is None:
                    continue
                # the same texts as the schedule_batch query writes
                if kind == "reminder":
                    title = f"Time to get in touch with {p['cf']}"
                    body = (
                        f"It is {days} days since your last contact with {p['cf']} {p['cl']}."
                        " Register the contact when you have been in touch."
                    )
                else:
                    title = f"{p['mf']} {p['ml']} needs follow-up"
                    body = (
                        f"{p['mf']} {p['ml']} has not registered contact with {p['cf']} {p['cl']}"
                        f" for {days} days."
                    )
                conn.execute(NOTIFY, (row["id"], recipient, title, body))
                created += 1
    return time.perf_counter() - started, created
