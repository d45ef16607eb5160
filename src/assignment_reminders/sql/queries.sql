-- Named queries. Each block starts with "-- name: <name>" and runs as one statement.
-- Parameters use psycopg's %(name)s style.

-- name: lock_holder
SELECT pid, application_name, client_addr, backend_start
FROM reminders.reminders_lock_holder(%(lock_key)s)
ORDER BY pid
LIMIT 1

-- name: lock_holder_since
-- When the holder's run started, from its own running row; falls back to the backend's start.
SELECT started_at FROM reminders.cron_execution_logs
WHERE job_name = %(job_name)s AND status = 'running' AND lock_backend_pid = %(pid)s
ORDER BY started_at DESC
LIMIT 1

-- name: fail_orphaned_runs
-- Called by the lock winner: anything still 'running' lost its lock, so its process is gone.
UPDATE reminders.cron_execution_logs
SET status = 'failed',
    note = 'holder_died: the run stopped without finishing (its lock was free when run '
           || %(invocation_id)s || ' started)',
    finished_at = %(now)s,
    duration_ms = extract(epoch FROM (%(now)s - started_at)) * 1000
WHERE job_name = %(job_name)s AND status = 'running'
RETURNING id, invocation_id

-- name: insert_running
INSERT INTO reminders.cron_execution_logs (
    job_name, invocation_id, status, trigger_source, started_at, lock_key, lock_acquire_ms,
    lock_backend_pid, host, pid
) VALUES (
    %(job_name)s, %(invocation_id)s, 'running', %(trigger_source)s, %(started_at)s, %(lock_key)s,
    %(lock_acquire_ms)s, %(lock_backend_pid)s, %(host)s, %(pid)s
)
RETURNING id

-- name: insert_skipped
INSERT INTO reminders.cron_execution_logs (
    job_name, invocation_id, status, note, trigger_source, started_at, finished_at, duration_ms,
    lock_key, lock_acquire_ms, host, pid,
    holder_pid, holder_application_name, holder_client_addr, holder_since
) VALUES (
    %(job_name)s, %(invocation_id)s, 'skipped', %(note)s, %(trigger_source)s, %(started_at)s,
    %(finished_at)s, %(duration_ms)s, %(lock_key)s, %(lock_acquire_ms)s, %(host)s, %(pid)s,
    %(holder_pid)s, %(holder_application_name)s, %(holder_client_addr)s, %(holder_since)s
)
RETURNING id

-- name: finish_run
-- Only a row that is still 'running' can be finished: a row another run declared dead stays so.
UPDATE reminders.cron_execution_logs
SET status = %(status)s,
    note = coalesce(%(note)s, note),
    error = %(error)s,
    finished_at = %(finished_at)s,
    duration_ms = %(duration_ms)s,
    assignments_scanned = %(assignments_scanned)s,
    reminders_created = %(reminders_created)s,
    escalations_created = %(escalations_created)s,
    duplicates_suppressed = %(duplicates_suppressed)s
WHERE id = %(id)s AND status = 'running'
RETURNING id

-- name: record_unlock
-- A release that found the lock gone: the run did not hold its lock to the end, so it is no
-- success ('failed', note 'lock_lost'; any other outcome keeps its status).
UPDATE reminders.cron_execution_logs
SET unlock_ok = %(unlock_ok)s,
    status = CASE WHEN NOT %(unlock_ok)s AND status = 'success' THEN 'failed' ELSE status END,
    error = CASE WHEN NOT %(unlock_ok)s AND status = 'success'
                 THEN 'LockLostError: the lock was not held by this run at release'
                 ELSE error
            END,
    note = CASE WHEN %(unlock_ok)s THEN note
                WHEN status = 'success'
                THEN concat_ws('; ', 'lock_lost', note,
                               'unlock_failed: the lock was not held by this run at release')
                ELSE concat_ws('; ', note, 'unlock_failed: the lock was not held by this run at release')
           END
WHERE id = %(id)s

-- name: recent_runs
-- `reminders status` and the monitoring checks.
SELECT id, invocation_id, status, note, trigger_source, started_at, finished_at, duration_ms,
       lock_acquire_ms, lock_backend_pid, unlock_ok, assignments_scanned, reminders_created,
       escalations_created, duplicates_suppressed, error, host, pid, holder_pid,
       holder_application_name, holder_client_addr, holder_since
FROM reminders.cron_execution_logs
WHERE job_name = %(job_name)s
ORDER BY started_at DESC, id DESC
LIMIT %(limit)s

-- name: runs_by_invocation
SELECT id, invocation_id, status, note, trigger_source, started_at, finished_at, duration_ms,
       lock_acquire_ms, unlock_ok, assignments_scanned, reminders_created, escalations_created,
       duplicates_suppressed, error, host, pid, holder_pid, holder_application_name,
       holder_client_addr, holder_since
FROM reminders.cron_execution_logs
WHERE invocation_id = ANY(%(invocation_ids)s)
ORDER BY started_at, id

-- name: max_assignment_id
SELECT coalesce(max(id), 0) AS max_id FROM public.assignments

-- name: schedule_batch
-- One batch of the reminder pass, as one statement and so one transaction: the assignments with
-- %(after_id)s < id <= %(until_id)s. Work out which reminders are due, find the ones the ledger
-- already has (a join on its unique key, before anything else is read: a re-run only reads),
-- write the rest to the ledger (the unique key still drops any a concurrent pass wrote first),
-- and create the in-app notification and one delivery row per external channel for each new one.
-- %(channels)s: the external channels this deployment has configured ('email', 'webhook').
--
-- Shape, for speed: the read side is plain joins on tables, so the planner's row estimates are
-- right and it picks hash or merge joins for a big batch; each organization's "today" is computed
-- once, not per row; each candidate assignment is read once for both kinds; names and addresses
-- are joined only for the reminders that are new. (The first version joined CTEs read through a
-- LIMIT: the planner guessed one row, chose nested loops, and a batch went quadratic.)
WITH orgs AS MATERIALIZED (
    -- MATERIALIZED: computed once per organization; inlined, the time zone conversion would run
    -- again for every assignment that refers to it
    SELECT o.id, (%(now)s::timestamptz AT TIME ZONE o.time_zone)::date AS today,
           o.reminder_after_days, o.escalation_after_days
    FROM public.organizations o
),
candidates AS MATERIALIZED (
    -- active assignments in the id range whose contact gap reached the reminder threshold
    SELECT a.id, a.organization_id, a.peer_mentor_id, a.contact_id,
           coalesce(a.last_contact_date, a.starts_on) AS gap_started_on,
           o.today - coalesce(a.last_contact_date, a.starts_on) AS days,
           o.today - coalesce(a.last_contact_date, a.starts_on) >= o.escalation_after_days
               AS escalate
    FROM public.assignments a
    JOIN orgs o ON o.id = a.organization_id
    WHERE a.id > %(after_id)s AND a.id <= %(until_id)s
      AND a.status = 'active'
      AND (a.ends_on IS NULL OR a.ends_on >= o.today)
      AND o.today - coalesce(a.last_contact_date, a.starts_on) >= o.reminder_after_days
),
due AS MATERIALIZED (
    SELECT k.assignment_id, k.kind, k.gap_started_on, k.days, k.organization_id,
           k.peer_mentor_id, k.contact_id, r.assignment_id IS NOT NULL AS already_sent
    FROM (
        SELECT id AS assignment_id, 'reminder' AS kind, gap_started_on, days, organization_id,
               peer_mentor_id, contact_id
        FROM candidates
        UNION ALL
        SELECT id, 'escalation', gap_started_on, days, organization_id, peer_mentor_id,
               contact_id
        FROM candidates
        WHERE escalate
    ) k
    LEFT JOIN reminders.reminder_dispatches r
           ON r.assignment_id = k.assignment_id AND r.kind = k.kind
          AND r.gap_started_on = k.gap_started_on
          -- the same id range, so that the ledger is read by one range scan of its unique index
          AND r.assignment_id > %(after_id)s AND r.assignment_id <= %(until_id)s
),
fresh AS MATERIALIZED (
    -- the new reminders with everything the notification and the deliveries need
    SELECT d.assignment_id, d.kind, d.gap_started_on, d.days, d.organization_id,
           d.peer_mentor_id, pm.coordinator_id,
           CASE d.kind WHEN 'reminder' THEN pm.user_id ELSE co.user_id END AS recipient_user_id,
           CASE d.kind WHEN 'reminder' THEN pm.email ELSE co.email END AS recipient_email,
           CASE d.kind
               WHEN 'reminder' THEN 'Time to get in touch with ' || c.first_name
               ELSE pm.first_name || ' ' || pm.last_name || ' needs follow-up'
           END AS title,
           CASE d.kind
               WHEN 'reminder' THEN 'It is ' || d.days || ' days since your last contact with '
                    || c.first_name || ' ' || c.last_name
                    || '. Register the contact when you have been in touch.'
               ELSE pm.first_name || ' ' || pm.last_name
                    || ' has not registered contact with ' || c.first_name || ' '
                    || c.last_name || ' for ' || d.days || ' days.'
           END AS body
    FROM due d
    JOIN public.peer_mentors pm ON pm.id = d.peer_mentor_id
    JOIN public.coordinators co ON co.id = pm.coordinator_id
    JOIN public.contacts c ON c.id = d.contact_id
    WHERE NOT d.already_sent
),
inserted AS (
    INSERT INTO reminders.reminder_dispatches (
        assignment_id, kind, gap_started_on, days_since_contact, organization_id,
        peer_mentor_id, coordinator_id, recipient_user_id, run_id
    )
    SELECT assignment_id, kind, gap_started_on, days, organization_id, peer_mentor_id,
           coordinator_id, recipient_user_id, %(run_id)s
    FROM fresh
    ON CONFLICT ON CONSTRAINT reminder_dispatches_once DO NOTHING
    RETURNING id, assignment_id, kind
),
notified AS (
    INSERT INTO public.notifications (dispatch_id, recipient_user_id, title, body)
    SELECT i.id, f.recipient_user_id, f.title, f.body
    FROM inserted i
    JOIN fresh f ON f.assignment_id = i.assignment_id AND f.kind = i.kind
    RETURNING 1
),
delivered AS (
    INSERT INTO reminders.reminder_deliveries (dispatch_id, channel, next_attempt_at, idempotency_key)
    SELECT i.id, ch.channel, %(now)s::timestamptz, 'reminder-' || i.id || '-' || ch.channel
    FROM unnest(%(channels)s::text[]) ch (channel)
    CROSS JOIN inserted i
    JOIN fresh f ON f.assignment_id = i.assignment_id AND f.kind = i.kind
    WHERE (ch.channel <> 'email' OR f.recipient_email IS NOT NULL)
      AND NOT EXISTS (
          SELECT FROM reminders.delivery_preferences p
          WHERE p.user_id = f.recipient_user_id AND p.channel = ch.channel AND NOT p.enabled
      )
    RETURNING 1
)
SELECT (SELECT count(*) FROM public.assignments
        WHERE id > %(after_id)s AND id <= %(until_id)s) AS scanned,
       (SELECT count(*) FROM due) AS due,
       (SELECT count(*) FROM inserted WHERE kind = 'reminder') AS reminders,
       (SELECT count(*) FROM inserted WHERE kind = 'escalation') AS escalations,
       (SELECT count(*) FROM notified) AS notifications,
       (SELECT count(*) FROM delivered) AS deliveries
