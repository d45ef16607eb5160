-- Named queries of the delivery queue (reminder_deliveries). See docs/delivery.md.

-- name: claim_deliveries
-- Claim up to %(limit)s due deliveries for this worker. SKIP LOCKED: workers never wait for each
-- other's rows. A claim is a lease: next_attempt_at = claimed_until, so a row whose worker died
-- is due again when the lease runs out (extend_deliveries moves it on while the worker lives).
-- Claiming counts an attempt, so a message that kills its worker every time still ends up dead
-- instead of looping forever.
-- A row whose reminder no longer applies is not claimed but cancelled, with its reason (in this
-- order): the assignment ended (status, or ends_on before the organization's today), it is not
-- active (paused), or its gap closed (the current gap start is not the reminder's). The
-- assignment is read as of this statement's start: what commits later is not seen (docs).
WITH picked AS (
    SELECT d.id, d.dispatch_id
    FROM reminders.reminder_deliveries d
    WHERE d.status IN ('pending', 'sending')
      AND d.next_attempt_at <= %(now)s
      AND d.channel = ANY(%(channels)s::text[])
    ORDER BY d.next_attempt_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
),
judged AS (
    SELECT p.id,
           CASE
               WHEN a.status = 'ended'
                    OR a.ends_on < (%(now)s::timestamptz AT TIME ZONE o.time_zone)::date
                   THEN 'assignment_ended'
               WHEN a.status <> 'active' THEN 'assignment_paused'
               WHEN coalesce(a.last_contact_date, a.starts_on) <> r.gap_started_on
                   THEN 'gap_closed'
           END AS cancel_reason
    FROM picked p
    JOIN reminders.reminder_dispatches r ON r.id = p.dispatch_id
    JOIN public.assignments a ON a.id = r.assignment_id
    JOIN public.organizations o ON o.id = a.organization_id
),
claimed AS (
    UPDATE reminders.reminder_deliveries d
    SET status = CASE WHEN j.cancel_reason IS NULL THEN 'sending' ELSE 'cancelled' END,
        cancel_reason = j.cancel_reason,
        cancelled_at = CASE WHEN j.cancel_reason IS NOT NULL THEN %(now)s::timestamptz END,
        claimed_by = CASE WHEN j.cancel_reason IS NULL THEN %(worker)s END,
        claimed_until = CASE WHEN j.cancel_reason IS NULL THEN %(lease_until)s::timestamptz END,
        next_attempt_at = CASE
            WHEN j.cancel_reason IS NULL THEN %(lease_until)s::timestamptz
            ELSE d.next_attempt_at
        END,
        attempts = d.attempts + (j.cancel_reason IS NULL)::integer
    FROM judged j
    WHERE d.id = j.id
    RETURNING d.id, d.dispatch_id, d.channel, d.status, d.cancel_reason, d.attempts,
              d.idempotency_key
)
SELECT c.id, c.channel, c.status, c.cancel_reason, c.attempts, c.idempotency_key,
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

-- name: extend_deliveries
-- The worker's heartbeat: move the lease of the rows it still holds to %(lease_until)s. Only rows
-- still claimed by this worker whose lease has not run out (a lease once run out is never taken
-- back: another worker may have claimed the row). Returns the rows still held, and until when.
UPDATE reminders.reminder_deliveries d
SET claimed_until = greatest(d.claimed_until, %(lease_until)s::timestamptz),
    next_attempt_at = greatest(d.claimed_until, %(lease_until)s::timestamptz)
WHERE d.id = ANY(%(ids)s::bigint[])
  AND d.status = 'sending'
  AND d.claimed_by = %(worker)s
  AND d.claimed_until > %(now)s
RETURNING d.id, d.claimed_until

-- name: finish_deliveries
-- Record the outcome of a claimed batch in one statement, each row at its own time (sent_at; a
-- retry's next_attempt_at was counted from its failure). Only rows still claimed by this worker
-- change: if our lease ran out and another worker took a row, its result wins. A row this worker
-- did not attempt (its lease was too short to start sending) goes back to pending, due now, and
-- its claim is not counted as an attempt.
UPDATE reminders.reminder_deliveries d
SET status = f.status,
    sent_at = CASE WHEN f.status = 'sent' THEN f.at END,
    next_attempt_at = coalesce(f.next_attempt_at, d.next_attempt_at),
    last_error = coalesce(f.error, d.last_error),
    attempts = d.attempts - (NOT f.attempted)::integer,
    claimed_by = NULL,
    claimed_until = NULL
FROM unnest(
    %(ids)s::bigint[], %(statuses)s::text[], %(ats)s::timestamptz[],
    %(next_attempts)s::timestamptz[], %(errors)s::text[], %(attempted)s::boolean[]
) AS f (id, status, at, next_attempt_at, error, attempted)
WHERE d.id = f.id AND d.status = 'sending' AND d.claimed_by = %(worker)s
RETURNING d.id

-- name: delivery_counts
-- By channel, status and (for cancelled rows) the reason; `reason` is NULL for other statuses.
-- Of the open rows (pending, sending) at %(now)s: how many a worker would claim now (pending and
-- due; sending whose lease ran out: its worker died), and when the next of the others comes due
-- (a retry's backoff, a run's future `now`, a live lease); NULL for the settled statuses.
SELECT channel, status, cancel_reason AS reason, count(*) AS n,
       CASE WHEN status IN ('pending', 'sending')
            THEN count(*) FILTER (WHERE next_attempt_at <= %(now)s) END AS due_now,
       min(next_attempt_at) FILTER (
           WHERE status IN ('pending', 'sending') AND next_attempt_at > %(now)s
       ) AS next_due_at
FROM reminders.reminder_deliveries
GROUP BY channel, status, cancel_reason
ORDER BY channel, status, cancel_reason

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
