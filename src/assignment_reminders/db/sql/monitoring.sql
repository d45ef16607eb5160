-- Monitoring queries (alerts, retention, metrics, the /ops page). Same format as the other sql/*.sql.

-- name: running_runs
-- The same columns as recent_runs (job/run_row.py, RunRow).
SELECT id, invocation_id, status, note, trigger_source, started_at, finished_at, duration_ms,
       lock_acquire_ms, lock_backend_pid, unlock_ok, due_rows_read, reminders_created,
       escalations_created, duplicates_suppressed, error, host, pid, holder_pid,
       holder_application_name, holder_client_addr, holder_since, overlapped_with,
       failure_announced_at
FROM reminders.cron_execution_logs
WHERE job_name = %(job_name)s AND status = 'running'
ORDER BY started_at

-- name: success_bounds
SELECT (SELECT max(finished_at) FROM reminders.cron_execution_logs
        WHERE job_name = %(job_name)s AND status = 'success') AS last_success_at,
       (SELECT min(started_at) FROM reminders.cron_execution_logs
        WHERE job_name = %(job_name)s) AS first_started_at

-- name: open_findings
-- One row per finding: open it unless an open incident exists (then only last_seen_at moves).
-- xmax = 0 tells a row this statement inserted from one it updated: only those send an alert.
-- muted_by: the maintenance window %(now)s falls in (recorded, not sent), or NULL.
INSERT INTO reminders.monitoring_alerts AS a (
    job_name, kind, subject, message, details, opened_at, opened_by, last_seen_at, muted_by
)
SELECT %(job_name)s, f.kind, f.subject, f.message, f.details, %(now)s, %(actor)s, %(now)s,
       %(muted_by)s
FROM jsonb_to_recordset(%(findings)s::jsonb) AS f (kind text, subject text, message text, details jsonb)
ON CONFLICT (job_name, kind, subject) WHERE resolved_at IS NULL
DO UPDATE SET last_seen_at = greatest(a.last_seen_at, excluded.last_seen_at)
RETURNING a.id, a.kind, a.subject, a.message, a.details, a.opened_at, a.resolved_at,
          a.acknowledged_at, a.acknowledged_by, a.acknowledged_note, a.muted_by,
          (a.xmax = 0) AS inserted

-- name: resolve_cleared
-- Open incidents of the kinds just checked whose finding no longer holds. Only the statement that
-- flips resolved_at returns the row, so exactly one replica sends the recovery.
UPDATE reminders.monitoring_alerts AS a
SET resolved_at = greatest(%(now)s, a.opened_at), resolved_by = %(actor)s
WHERE a.job_name = %(job_name)s
  AND a.resolved_at IS NULL
  AND a.kind = ANY(%(kinds)s)
  AND NOT EXISTS (
      SELECT FROM jsonb_to_recordset(%(findings)s::jsonb) AS f (kind text, subject text)
      WHERE f.kind = a.kind AND f.subject = a.subject
  )
RETURNING a.id, a.kind, a.subject, a.message, a.details, a.opened_at, a.resolved_at,
          a.acknowledged_at, a.acknowledged_by, a.acknowledged_note, a.muted_by

-- name: announce_failed_runs
-- Failed runs the checks saw and nobody announced yet: %(covered)s are covered by the open
-- `failure` incident; each of %(findings)s (a run a success followed before any check saw it
-- fail) becomes an incident opened and resolved at once. Only the statement that sets
-- failure_announced_at inserts, so each failed run is announced once however many check.
WITH findings AS (
    SELECT f.kind, f.subject, f.message, f.details, (f.details ->> 'run_id')::bigint AS run_id
    FROM jsonb_to_recordset(%(findings)s::jsonb)
         AS f (kind text, subject text, message text, details jsonb)
),
claimed AS (
    UPDATE reminders.cron_execution_logs l
    SET failure_announced_at = %(now)s
    WHERE l.id = ANY (%(covered)s::bigint[] || ARRAY(SELECT run_id FROM findings))
      AND l.job_name = %(job_name)s AND l.status = 'failed' AND l.failure_announced_at IS NULL
    RETURNING l.id
)
INSERT INTO reminders.monitoring_alerts (
    job_name, kind, subject, message, details, opened_at, opened_by, last_seen_at, resolved_at,
    resolved_by, muted_by
)
SELECT %(job_name)s, f.kind, f.subject, f.message, f.details, %(now)s, %(actor)s, %(now)s,
       %(now)s, %(actor)s, %(muted_by)s
FROM findings f
JOIN claimed c ON c.id = f.run_id
ORDER BY f.run_id
RETURNING id, kind, subject, message, details, opened_at, resolved_at, muted_by

-- name: open_alerts
SELECT id, kind, subject, message, details, opened_at, opened_by, last_seen_at,
       acknowledged_at, acknowledged_by, acknowledged_note, muted_by
FROM reminders.monitoring_alerts
WHERE job_name = %(job_name)s AND resolved_at IS NULL
ORDER BY opened_at, id

-- name: prune_execution_logs
-- Retention. The log's delete trigger unsets reminder_dispatches.run_id (as ON DELETE SET NULL
-- would): the ledger keeps its rows.
-- A row still 'running' is never pruned (the overrun check needs it).
WITH gone AS (
    DELETE FROM reminders.cron_execution_logs
    WHERE started_at < %(cutoff)s AND status <> 'running'
    RETURNING 1
)
SELECT count(*) AS deleted FROM gone

-- name: prune_alerts
WITH gone AS (
    DELETE FROM reminders.monitoring_alerts
    WHERE resolved_at < %(cutoff)s
    RETURNING 1
)
SELECT count(*) AS deleted FROM gone

-- name: runs_by_status
-- One scan of the job's log rows: runs, reminders created and the last finish, per status.
SELECT status, count(*) AS runs,
       coalesce(sum(reminders_created), 0) AS reminders,
       coalesce(sum(escalations_created), 0) AS escalations,
       max(finished_at) AS last_finished_at
FROM reminders.cron_execution_logs
WHERE job_name = %(job_name)s
GROUP BY status

-- name: duration_histogram
-- One scan of the finished runs, grouped by bucket = how many bounds lie below the duration
-- (0: within the first bound; cardinality(bounds): above them all). width_bucket over the
-- negated bounds, ascending, counts the bounds >= the value in one binary search per row.
SELECT cardinality(%(bounds)s::float8[])
       - width_bucket(-(duration_ms / 1000.0),
                      ARRAY(SELECT -b FROM unnest(%(bounds)s::float8[]) AS b ORDER BY 1)) AS bucket,
       count(*) AS runs, sum(duration_ms) / 1000.0 AS seconds
FROM reminders.cron_execution_logs
WHERE job_name = %(job_name)s AND status IN ('success', 'failed') AND duration_ms IS NOT NULL
GROUP BY 1

-- name: lock_histogram
-- The same for the lock acquisition time of every invocation.
SELECT cardinality(%(bounds)s::float8[])
       - width_bucket(-(lock_acquire_ms / 1000.0),
                      ARRAY(SELECT -b FROM unnest(%(bounds)s::float8[]) AS b ORDER BY 1)) AS bucket,
       count(*) AS runs, sum(lock_acquire_ms) / 1000.0 AS seconds
FROM reminders.cron_execution_logs
WHERE job_name = %(job_name)s AND lock_acquire_ms IS NOT NULL
GROUP BY 1

-- name: run_history
-- The /ops chart and runs table: every run started since the cutoff, oldest first. The same
-- columns as recent_runs (job/run_row.py, RunRow).
SELECT id, invocation_id, status, note, trigger_source, started_at, finished_at, duration_ms,
       lock_acquire_ms, lock_backend_pid, unlock_ok, due_rows_read, reminders_created,
       escalations_created, duplicates_suppressed, error, host, pid, holder_pid,
       holder_application_name, holder_client_addr, holder_since, overlapped_with,
       failure_announced_at
FROM reminders.cron_execution_logs
WHERE job_name = %(job_name)s AND started_at >= %(since)s
ORDER BY started_at, id

-- name: recent_incidents
-- The /ops incidents: open ones, and those resolved since the cutoff, newest first.
SELECT id, kind, subject, message, details, opened_at, resolved_at,
       acknowledged_at, acknowledged_by, acknowledged_note, muted_by
FROM reminders.monitoring_alerts
WHERE job_name = %(job_name)s AND (resolved_at IS NULL OR resolved_at >= %(since)s)
ORDER BY opened_at DESC, id DESC
LIMIT 50

-- name: open_alert_counts
SELECT kind, count(*) AS n
FROM reminders.monitoring_alerts
WHERE job_name = %(job_name)s AND resolved_at IS NULL
GROUP BY kind

-- name: active_window
-- The maintenance window %(now)s falls in (the oldest, when several overlap), if any.
SELECT id
FROM reminders.maintenance_windows
WHERE job_name = %(job_name)s AND starts_at <= %(now)s AND %(now)s < ends_at
  AND (closed_at IS NULL OR %(now)s < closed_at)
ORDER BY id
LIMIT 1

-- name: acknowledge_incident
-- Once: an incident already acknowledged keeps who did it first (no row comes back).
UPDATE reminders.monitoring_alerts
SET acknowledged_at = greatest(%(now)s, opened_at), acknowledged_by = %(by)s,
    acknowledged_note = %(note)s
WHERE id = %(id)s AND job_name = %(job_name)s AND acknowledged_at IS NULL
RETURNING id, kind, subject, message, details, opened_at, resolved_at,
          acknowledged_at, acknowledged_by, acknowledged_note, muted_by

-- name: incident_by_id
SELECT id, kind, subject, message, details, opened_at, resolved_at,
       acknowledged_at, acknowledged_by, acknowledged_note, muted_by
FROM reminders.monitoring_alerts
WHERE id = %(id)s AND job_name = %(job_name)s

-- name: open_maintenance_window
INSERT INTO reminders.maintenance_windows (job_name, starts_at, ends_at, reason, opened_by, opened_at)
VALUES (%(job_name)s, %(starts_at)s, %(ends_at)s, %(reason)s, %(by)s, %(now)s)
RETURNING id, starts_at, ends_at, reason, opened_by, opened_at, closed_at, closed_by

-- name: close_maintenance_window
-- Once: a window already closed keeps when and by whom (no row comes back).
UPDATE reminders.maintenance_windows
SET closed_at = %(now)s, closed_by = %(by)s
WHERE id = %(id)s AND job_name = %(job_name)s AND closed_at IS NULL
RETURNING id, starts_at, ends_at, reason, opened_by, opened_at, closed_at, closed_by

-- name: maintenance_window_by_id
SELECT id, starts_at, ends_at, reason, opened_by, opened_at, closed_at, closed_by
FROM reminders.maintenance_windows
WHERE id = %(id)s AND job_name = %(job_name)s

-- name: maintenance_windows
-- Windows not over by %(now)s (all of them with %(all)s), soonest first.
SELECT id, starts_at, ends_at, reason, opened_by, opened_at, closed_at, closed_by
FROM reminders.maintenance_windows
WHERE job_name = %(job_name)s
  AND (%(all)s OR (%(now)s < ends_at AND (closed_at IS NULL OR %(now)s < closed_at)))
ORDER BY starts_at, id
