-- The pure-SQL floor: the same reminder work as `reminders run` (ledger rows plus in-app
-- notifications, same rules, same texts), as ONE statement over all assignments: no batching,
-- no Python, each organization's "today" computed once, hash joins over whole tables.
-- `reminders run` is measured against it. It writes what the issue's floor writes, one ledger row
-- and one notification per reminder, and nothing else: benchmarks/run.py sets
-- reminders.pass_keeps_due_index for its session, so the ledger's due-index trigger does not
-- delete the written reminders from reminders.assignment_due (the pass does that upkeep itself).
WITH orgs AS MATERIALIZED (
    SELECT o.id, (%(now)s::timestamptz AT TIME ZONE o.time_zone)::date AS today,
           o.reminder_after_days, o.escalation_after_days
    FROM public.organizations o
),
due AS (
    SELECT a.id AS assignment_id, k.kind, g.gap_started_on, o.today - g.gap_started_on AS days,
           a.organization_id, a.peer_mentor_id, pm.coordinator_id,
           CASE k.kind WHEN 'reminder' THEN pm.user_id ELSE co.user_id END AS recipient_user_id,
           pm.first_name AS mentor_first_name, pm.last_name AS mentor_last_name,
           c.first_name AS contact_first_name, c.last_name AS contact_last_name
    FROM public.assignments a
    JOIN orgs o ON o.id = a.organization_id
    JOIN public.peer_mentors pm ON pm.id = a.peer_mentor_id
    JOIN public.coordinators co ON co.id = pm.coordinator_id
    JOIN public.contacts c ON c.id = a.contact_id
    CROSS JOIN LATERAL (SELECT coalesce(a.last_contact_date, a.starts_on) AS gap_started_on) g
    CROSS JOIN LATERAL (
        VALUES ('reminder', o.reminder_after_days), ('escalation', o.escalation_after_days)
    ) k (kind, after_days)
    WHERE a.status = 'active'
      AND (a.ends_on IS NULL OR a.ends_on >= o.today)
      AND o.today - g.gap_started_on >= k.after_days
),
inserted AS (
    INSERT INTO reminders.reminder_dispatches (
        assignment_id, kind, gap_started_on, days_since_contact, organization_id,
        peer_mentor_id, coordinator_id, recipient_user_id
    )
    SELECT assignment_id, kind, gap_started_on, days, organization_id, peer_mentor_id,
           coordinator_id, recipient_user_id
    FROM due
    ON CONFLICT ON CONSTRAINT reminder_dispatches_once DO NOTHING
    RETURNING id, assignment_id, kind
),
notified AS (
    INSERT INTO public.notifications (dispatch_id, recipient_user_id, title, body)
    SELECT i.id, d.recipient_user_id,
           CASE i.kind
               WHEN 'reminder' THEN 'Time to get in touch with ' || d.contact_first_name
               ELSE d.mentor_first_name || ' ' || d.mentor_last_name || ' needs follow-up'
           END,
           CASE i.kind
               WHEN 'reminder' THEN 'It is ' || d.days || ' days since your last contact with '
                    || d.contact_first_name || ' ' || d.contact_last_name
                    || '. Register the contact when you have been in touch.'
               ELSE d.mentor_first_name || ' ' || d.mentor_last_name
                    || ' has not registered contact with ' || d.contact_first_name || ' '
                    || d.contact_last_name || ' for ' || d.days || ' days.'
           END
    FROM inserted i
    JOIN due d ON d.assignment_id = i.assignment_id AND d.kind = i.kind
    RETURNING 1
)
SELECT (SELECT count(*) FROM inserted) AS created, (SELECT count(*) FROM notified) AS notified
