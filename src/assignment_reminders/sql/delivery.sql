-- Named queries of the delivery queue (reminder_deliveries). See docs/delivery.md.

-- name: claim_deliveries
-- Claim up to %(limit)s due deliveries for this worker. SKIP LOCKED: workers never wait for each
-- other's rows. A claim is a lease: next_attempt_at = claimed_until, so a row whose worker died
-- is due again when the lease runs out. Claiming counts an attempt, so a message that kills its
-- worker every time still ends up dead instead of looping forever.
WITH picked AS (
    SELECT d.id
    FROM reminders.reminder_deliveries d
    WHERE d.status IN ('pending', 'sending')
      AND d.next_attempt_at <= %(now)s
      AND d.channel = ANY(%(channels)s::text[])
    ORDER BY d.next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
),
claimed AS (
    UPDATE reminders.reminder_deliveries d
    SET status = 'sending',
        claimed_by = %(worker)s,
        claimed_until = %(lease_until)s,
        next_attempt_at = %(lease_until)s,
        attempts = d.attempts + 1
    FROM picked
    WHERE d.id = picked.id
    RETURNING d.id, d.dispatch_id, d.channel, d.attempts, d.idempotency_key
)
SELECT c.id, c.channel, c.attempts, c.idempotency_key,
       r.kind, r.assignment_id, r.days_since_contact, r.recipient_user_id,
       o.name AS organization_name, o.language,
       CASE r.kind WHEN 'reminder' THEN pm.first_name ELSE co.first_name END
           AS recipient_first_name,
       CASE r.kind WHEN 'reminder' THEN pm.email ELSE co.email END AS recipient_email,
       pm.first_name AS mentor_first_name, pm.last_name AS mentor_last_name,
       ct.first_name AS contact_first_name, ct.last_name AS contact_last_name
FROM claimed c
JOIN reminders.reminder_dispatches r ON r.id = c.dispatch_id
JOIN public.organizations o ON o.id = r.organization_id
JOIN public.peer_mentors pm ON pm.id = r.peer_mentor_id
JOIN public.coordinators co ON co.id = r.coordinator_id
JOIN public.assignments a ON a.id = r.assignment_id
JOIN public.contacts ct ON ct.id = a.contact_id
ORDER BY c.id

-- name: finish_deliveries
-- Record the outcome of a claimed batch in one statement. Only rows still claimed by this
-- worker change: if our lease ran out and another worker took a row, its result wins.
UPDATE reminders.reminder_deliveries d
SET status = f.status,
    sent_at = CASE WHEN f.status = 'sent' THEN %(now)s::timestamptz END,
    next_attempt_at = coalesce(f.next_attempt_at, d.next_attempt_at),
    last_error = coalesce(f.error, d.last_error),
    claimed_by = NULL,
    claimed_until = NULL
FROM unnest(
    %(ids)s::bigint[], %(statuses)s::text[], %(next_attempts)s::timestamptz[], %(errors)s::text[]
) AS f (id, status, next_attempt_at, error)
WHERE d.id = f.id AND d.status = 'sending' AND d.claimed_by = %(worker)s
RETURNING d.id

-- name: delivery_counts
SELECT channel, status, count(*) AS n
FROM reminders.reminder_deliveries
GROUP BY channel, status
ORDER BY channel, status

-- name: delivery_backlog
-- What waits to be delivered, by channel: only open rows, read through their partial index.
SELECT channel, count(*) AS n
FROM reminders.reminder_deliveries
WHERE status IN ('pending', 'sending')
GROUP BY channel

-- name: dead_letters
-- Deliveries that gave up, by channel (/ops), read through reminder_deliveries_dead_idx.
SELECT channel, count(*) AS n
FROM reminders.reminder_deliveries
WHERE status = 'dead'
GROUP BY channel
