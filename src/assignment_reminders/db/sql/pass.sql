-- The reminder pass (reminder_pass.py, job.py): what it reads (the due index), its batches and their
-- two statements. Each block starts with "-- name: <name>" and runs as one statement; psycopg's
-- %(name)s parameters.

-- name: due_rows
-- The due-index rows a pass at %(now)s reads: the progress bar's total, and the pass's sweep.
-- After a pass that wrote reminders, reading the range it walked once more marks dead the index
-- entries of the rows its batches deleted (a scan that meets a dead row marks its entry), so the
-- next pass, maybe minutes later and before autovacuum, does not visit each of them (measured:
-- docs/benchmarks.md#figures-behind-design-choices).
SELECT count(*) AS n
FROM reminders.assignment_due d
WHERE d.due_on <= (
    SELECT max((%(now)s::timestamptz AT TIME ZONE o.time_zone)::date) FROM public.organizations o
)

-- name: schedule_batch
-- One batch of the reminder pass, the first of its transaction's two statements: the next
-- %(batch_size)s rows of the due index (reminders.assignment_due) after the key
-- (%(after_due)s, %(after_id)s), in (due_on, assignment_id) order, up to the latest "today" of any
-- organization. Keep those due in their own organization's today (an organization whose date is
-- behind the latest sees its rows at the next pass), on an assignment still active and not ended,
-- write them to the ledger (its unique key drops any a concurrent pass wrote first), and create the
-- in-app notification and one delivery row per external channel for each new one. It stages the
-- due rows (their row addresses, keys and ledger ids) in a temporary table for `settle_batch`,
-- which runs next in the same transaction: this statement judges the assignments by the snapshot it started with, and a
-- contact committed while it runs is invisible to it, so the settling statement locks them, takes
-- back what a contact closed meanwhile, and only then deletes the due rows from the index. (The
-- ledger's own trigger, which would probe the index once more per reminder, stands aside: the
-- batch's transaction sets reminders.pass_keeps_due_index first: `pass_batch_begins` below.)
-- %(channels)s: the external channels this deployment has configured ('email', 'webhook').
--
-- Why this is fast: the index holds only reminders still to come, so the pass reads what is due
-- (and a re-run reads nothing), in one forward walk of one index over all batches. Each
-- organization's "today" is computed once, not per row (MATERIALIZED; inlined, the time zone
-- conversion would run for every row that refers to it). The batch's rows are few and keyed, so
-- assignments, names and addresses are read by index probes. It takes no lock that a host's
-- write waits for (the ledger's foreign-key checks take FOR KEY SHARE, which an UPDATE of an
-- assignment's date does not wait for).
WITH orgs AS MATERIALIZED (
    SELECT o.id, (%(now)s::timestamptz AT TIME ZONE o.time_zone)::date AS today
    FROM public.organizations o
),
scanned AS MATERIALIZED (
    -- the next rows of the index: one range scan, in its order
    SELECT d.ctid AS row_address, d.assignment_id, d.kind, d.gap_started_on, d.due_on,
           d.contact_first_name, d.contact_last_name
    FROM reminders.assignment_due d
    WHERE (d.due_on, d.assignment_id) > (%(after_due)s::date, %(after_id)s::bigint)
      AND d.due_on <= (SELECT max(today) FROM orgs)
    ORDER BY d.due_on, d.assignment_id
    LIMIT %(batch_size)s
),
candidates AS MATERIALIZED (
    -- with what the rest needs of their assignment, read in assignment order (the table is
    -- probed by key, close to where the previous probe was) by a nested loop that the OFFSET 0
    -- keeps (the planner would rather read whole tables for a batch this size); mentors and
    -- coordinators, far fewer, are joined as the planner sees fit. The contact's names come
    -- with the index row (the database keeps them current there): on an ordinary day the due
    -- assignments are spread over every contact, and a probe into `contacts` cost a page each.
    SELECT s.row_address, s.assignment_id, s.kind, s.gap_started_on, s.due_on,
           s.contact_first_name, s.contact_last_name, x.*,
           pm.coordinator_id,
           CASE s.kind WHEN 'reminder' THEN pm.user_id ELSE co.user_id END AS recipient_user_id,
           CASE s.kind WHEN 'reminder' THEN pm.email ELSE co.email END AS recipient_email,
           pm.first_name || ' ' || pm.last_name AS mentor_name
    FROM (SELECT * FROM scanned ORDER BY assignment_id) s
    CROSS JOIN LATERAL (
        SELECT a.organization_id, a.peer_mentor_id, a.status, a.ends_on,
               coalesce(a.last_contact_date, a.starts_on) AS current_gap_started_on
        FROM public.assignments a
        WHERE a.id = s.assignment_id
        OFFSET 0
    ) x
    JOIN public.peer_mentors pm ON pm.id = x.peer_mentor_id
    JOIN public.coordinators co ON co.id = pm.coordinator_id
),
fresh AS MATERIALIZED (
    -- every scanned row, marked whether it is due; the mark is a column, not a WHERE clause, so
    -- the CTEs joined below keep a batch-sized estimate (a filtered CTE is estimated at one row,
    -- the planner picks a nested loop over two CTE scans, and the batch goes quadratic)
    SELECT s.row_address, s.assignment_id, s.kind, s.gap_started_on, s.due_on, x.days,
           s.organization_id,
           s.peer_mentor_id, s.coordinator_id, s.recipient_user_id, s.recipient_email,
           -- due in the organization's own today, on an assignment still active and not ended
           -- (and the gap it was indexed for: the index follows every change in the same
           -- transaction; checked anyway)
           (s.due_on <= o.today AND s.status = 'active'
            AND (s.ends_on IS NULL OR s.ends_on >= o.today)
            AND s.current_gap_started_on = s.gap_started_on) AS is_due,
           CASE s.kind
               WHEN 'reminder' THEN 'Time to get in touch with ' || s.contact_first_name
               ELSE s.mentor_name || ' needs follow-up'
           END AS title,
           CASE s.kind
               WHEN 'reminder' THEN 'It is ' || x.days || ' days since your last contact with '
                    || s.contact_first_name || ' ' || s.contact_last_name
                    || '. Register the contact when you have been in touch.'
               ELSE s.mentor_name || ' has not registered contact with ' || s.contact_first_name
                    || ' ' || s.contact_last_name || ' for ' || x.days || ' days.'
           END AS body
    FROM candidates s
    JOIN orgs o ON o.id = s.organization_id
    CROSS JOIN LATERAL (SELECT o.today - s.gap_started_on AS days) x
),
inserted AS (
    INSERT INTO reminders.reminder_dispatches (
        assignment_id, kind, gap_started_on, days_since_contact, organization_id,
        peer_mentor_id, coordinator_id, recipient_user_id, run_id
    )
    SELECT assignment_id, kind, gap_started_on, days, organization_id, peer_mentor_id,
           coordinator_id, recipient_user_id, %(run_id)s
    FROM fresh
    WHERE is_due
    ORDER BY assignment_id
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
staged AS (
    -- the due rows, for settle_batch (in this transaction's temporary table); the ledger id is
    -- NULL where a racing pass wrote the reminder first
    INSERT INTO pg_temp.reminder_pass_batch
        (row_address, assignment_id, kind, gap_started_on, due_on, dispatch_id)
    SELECT f.row_address, f.assignment_id, f.kind, f.gap_started_on, f.due_on, i.id
    FROM fresh f
    LEFT JOIN inserted i ON i.assignment_id = f.assignment_id AND i.kind = f.kind
    WHERE f.is_due
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
SELECT (SELECT count(*) FROM scanned) AS due_rows_read,
       (SELECT count(*) FROM fresh WHERE is_due) AS due,
       (SELECT count(*) FROM inserted WHERE kind = 'reminder') AS reminders,
       (SELECT count(*) FROM inserted WHERE kind = 'escalation') AS escalations,
       (SELECT count(*) FROM notified) AS notifications,
       (SELECT count(*) FROM delivered) AS deliveries,
       (SELECT count(*) FROM staged) AS staged,
       l.due_on AS last_due_on, l.assignment_id AS last_assignment_id
FROM (SELECT NULL) one
LEFT JOIN (
    SELECT due_on, assignment_id FROM scanned ORDER BY due_on DESC, assignment_id DESC LIMIT 1
) l ON true


-- name: settle_batch
-- The second and last statement of a batch's transaction, with a snapshot of its own: it deletes
-- the batch's due rows, and so decides which reminders stand. The due index follows every
-- change that bears on a reminder (a contact moves the gap, the assignment is paused or ended, a
-- threshold or the contact's name changes: the row is deleted, recomputed or updated, in the
-- writer's transaction), so a due row that is still exactly as schedule_batch read it means its
-- reminder still holds:
--  1. Lock the batch's due rows FOR UPDATE SKIP LOCKED, by row address. A row a writer changed
--     since schedule_batch read it (even one that committed after this statement began: the
--     lock finds the newer version, whose row address no longer matches) is not returned, nor
--     is one a writer holds right now (SKIP LOCKED: the pass never waits for a host, and never
--     deadlocks with one). A writer that comes later waits for this transaction to end (its own
--     recompute deletes the row this one deleted), so its contact commits after the reminder.
--  2. Delete the locked rows whose reminder is in the ledger (written now, or by a racing pass
--     first and still there).
--  3. Take back (delete: the notification and the deliveries go with it, ON DELETE CASCADE)
--     the reminders this batch wrote whose due row was not locked. Their rows stay for a second
--     look at the end of the pass (a rename or a threshold change), or are gone (a closed gap).
WITH locked AS MATERIALIZED (
    SELECT x.ctid AS row_address, x.assignment_id, x.kind, x.gap_started_on
    FROM reminders.assignment_due x
    WHERE x.ctid = ANY (ARRAY(SELECT b.row_address FROM pg_temp.reminder_pass_batch b))
    FOR UPDATE SKIP LOCKED
),
judged AS MATERIALIZED (
    SELECT b.assignment_id, b.kind, b.due_on, b.dispatch_id, b.row_address,
           l.row_address IS NULL AS skipped,
           l.row_address IS NOT NULL
           AND (b.dispatch_id IS NOT NULL OR EXISTS (
               SELECT FROM reminders.reminder_dispatches r
               WHERE (r.assignment_id, r.kind, r.gap_started_on)
                     = (b.assignment_id, b.kind, b.gap_started_on))) AS holds
    FROM pg_temp.reminder_pass_batch b
    LEFT JOIN locked l
      ON l.row_address = b.row_address
     -- the same reminder (a row address is only reused after a vacuum; checked anyway)
     AND (l.assignment_id, l.kind, l.gap_started_on) = (b.assignment_id, b.kind, b.gap_started_on)
),
unindexed AS (
    DELETE FROM reminders.assignment_due x
    WHERE x.ctid = ANY (ARRAY(SELECT j.row_address FROM judged j WHERE j.holds))
    RETURNING 1
),
not_held AS MATERIALIZED (
    SELECT j.assignment_id, j.due_on, j.dispatch_id, j.skipped FROM judged j WHERE NOT j.holds
),
taken_back AS (
    DELETE FROM reminders.reminder_dispatches r
    WHERE r.id = ANY (ARRAY(SELECT n.dispatch_id FROM not_held n WHERE n.dispatch_id IS NOT NULL))
    RETURNING r.kind
)
SELECT (SELECT count(*) FROM taken_back WHERE kind = 'reminder') AS reminders_taken_back,
       (SELECT count(*) FROM taken_back WHERE kind = 'escalation') AS escalations_taken_back,
       (SELECT count(*) FROM reminders.reminder_deliveries v
        WHERE v.dispatch_id = ANY (ARRAY(SELECT n.dispatch_id FROM not_held n
                                         WHERE n.dispatch_id IS NOT NULL)))
           AS deliveries_taken_back,
       (SELECT count(*) FROM not_held) AS not_held,
       s.due_on AS first_skipped_due, s.assignment_id AS first_skipped_id,
       (SELECT count(*) FROM unindexed) AS unindexed
FROM (SELECT NULL) one
LEFT JOIN (
    -- the first due row this batch could not settle: the pass looks again from there
    SELECT due_on, assignment_id FROM not_held WHERE skipped ORDER BY due_on, assignment_id LIMIT 1
) s ON true

-- name: pass_batch_unstage
-- Right after settle_batch: the batch's table goes (ON COMMIT DROP is not enough when the pass
-- runs inside a caller's transaction, each batch a savepoint of it).
DROP TABLE pg_temp.reminder_pass_batch

-- name: pass_batch_stage
-- The batch's due rows, from schedule_batch to settle_batch; dropped at the end of the batch's
-- transaction (a batch run again after a conflict creates it again).
CREATE TEMPORARY TABLE reminder_pass_batch (
    row_address tid NOT NULL,
    assignment_id bigint NOT NULL,
    kind text NOT NULL,
    gap_started_on date NOT NULL,
    due_on date NOT NULL,
    dispatch_id bigint
) ON COMMIT DROP

-- name: pass_batch_begins
-- Right before a batch, in its transaction. The batch deletes its due rows from the due index
-- itself, so the ledger's trigger (assignment_due_on_dispatch) skips its inserts. Its CTEs (read
-- four times) stay in memory instead of spilling to temporary files (docs/benchmarks.md#figures-behind-design-choices).
SELECT pg_catalog.set_config('reminders.pass_keeps_due_index', 'on', true),
       pg_catalog.set_config('work_mem', '64MB', true)

-- name: pass_batch_ends
-- Right after it: nothing else the transaction may write to the ledger escapes the trigger.
SELECT pg_catalog.set_config('reminders.pass_keeps_due_index', 'off', true)
