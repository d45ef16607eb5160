-- The run log (joblog.py, status.py; reminders.cron_execution_logs): a run's row from start to
-- end, who held the lock, the recent runs. Each block starts with "-- name: <name>" and runs as one statement; psycopg's
-- %(name)s parameters.

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
-- Called by the lock winner once its own row (run_id) is written: any other row still
-- 'running' lost its lock, so its process is gone. The note names the winner by run number.
UPDATE reminders.cron_execution_logs
SET status = 'failed',
    note = 'holder_died: the run stopped without finishing (its lock was free when run '
           || %(run_id)s::bigint::text || ' started)',
    finished_at = %(now)s,
    duration_ms = extract(epoch FROM (%(now)s - started_at)) * 1000
WHERE job_name = %(job_name)s AND status = 'running' AND id <> %(run_id)s
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
-- reminders_created and escalations_created are not the run's to say: the ledger's triggers keep
-- them (supabase/schema.sql, "Run counts from the ledger").
UPDATE reminders.cron_execution_logs
SET status = %(status)s,
    note = coalesce(%(note)s, note),
    error = %(error)s,
    finished_at = %(finished_at)s,
    duration_ms = %(duration_ms)s,
    due_rows_read = %(due_rows_read)s,
    duplicates_suppressed = %(duplicates_suppressed)s
WHERE id = %(id)s AND status = 'running'
RETURNING id

-- name: run_ledger_counts
-- What the ledger holds with this run id, as its row counts it (kept by the ledger's triggers).
SELECT reminders_created, escalations_created
FROM reminders.cron_execution_logs
WHERE id = %(id)s

-- name: record_overlaps
-- Right after the lock winner's row is written: every other run whose newest ledger write is not
-- visible in the snapshot the winner's fencing bump started with (job_fences.taken_snapshot)
-- committed after this run began to write (the bump waited for it). Both rows list the other.
WITH fence AS (
    SELECT f.taken_snapshot AS snap
    FROM reminders.job_fences f
    WHERE f.job_name = %(job_name)s AND f.token = %(token)s AND f.taken_snapshot IS NOT NULL
),
late AS (
    SELECT l.id
    FROM reminders.cron_execution_logs l, fence
    WHERE l.last_write_xact >= pg_snapshot_xmin(fence.snap)
      AND NOT pg_visible_in_snapshot(l.last_write_xact, fence.snap)
      AND l.job_name = %(job_name)s AND l.id <> %(run_id)s
),
theirs AS (
    UPDATE reminders.cron_execution_logs l
    SET overlapped_with = array_append(l.overlapped_with, %(run_id)s::bigint)
    FROM late
    WHERE l.id = late.id AND NOT %(run_id)s::bigint = ANY (l.overlapped_with)
    RETURNING l.id
)
UPDATE reminders.cron_execution_logs l
SET overlapped_with = l.overlapped_with || ARRAY(SELECT late.id FROM late ORDER BY late.id)
WHERE l.id = %(run_id)s AND EXISTS (SELECT FROM late)
RETURNING l.overlapped_with

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
-- `reminders status` and the monitoring checks. Every query of runs returns these columns
-- (job/run_row.py, RunRow): recent_runs, runs_by_invocation, running_runs, run_history.
SELECT id, invocation_id, status, note, trigger_source, started_at, finished_at, duration_ms,
       lock_acquire_ms, lock_backend_pid, unlock_ok, due_rows_read, reminders_created,
       escalations_created, duplicates_suppressed, error, host, pid, holder_pid,
       holder_application_name, holder_client_addr, holder_since, overlapped_with,
       failure_announced_at
FROM reminders.cron_execution_logs
WHERE job_name = %(job_name)s
ORDER BY started_at DESC, id DESC
LIMIT %(limit)s

-- name: runs_by_invocation
-- The same columns as recent_runs (job/run_row.py, RunRow).
SELECT id, invocation_id, status, note, trigger_source, started_at, finished_at, duration_ms,
       lock_acquire_ms, lock_backend_pid, unlock_ok, due_rows_read, reminders_created,
       escalations_created, duplicates_suppressed, error, host, pid, holder_pid,
       holder_application_name, holder_client_addr, holder_since, overlapped_with,
       failure_announced_at
FROM reminders.cron_execution_logs
WHERE invocation_id = ANY(%(invocation_ids)s)
ORDER BY started_at, id

-- name: annotate_run
-- Add a note to a finished run (one that another run already declared dead keeps its status).
-- No row: the run's row was deleted (by hand) while it ran.
UPDATE reminders.cron_execution_logs
SET note = concat_ws('; ', note, %(note)s::text)
WHERE id = %(id)s
RETURNING id
