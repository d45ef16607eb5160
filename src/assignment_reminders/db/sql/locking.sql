-- Queries of the lock connection (lock.py, pooler_check.py, heartbeat, fence.py) and the database clock.

-- name: backend_pid
SELECT pg_backend_pid() AS pid

-- name: session_lock_try
-- One statement (so one backend, even behind a pooler): try the lock, say on which backend, undo it
-- at once if that is not the backend the caller vouched for (expected_pid; NULL = no check), and
-- whether pg_locks shows it there. The CTE runs first: its row exists before the outer columns.
WITH t AS MATERIALIZED (
    SELECT reminders.reminders_try_advisory_lock(%(lock_key)s) AS acquired, pg_backend_pid() AS pid
)
SELECT t.acquired, t.pid,
       CASE WHEN t.acquired AND t.pid <> coalesce(%(expected_pid)s::integer, t.pid)
            THEN reminders.reminders_advisory_unlock(%(lock_key)s)
            ELSE false
       END AS undone,
       EXISTS (
           SELECT FROM reminders.reminders_lock_holder(%(lock_key)s) h WHERE h.pid = t.pid
       ) AS held
FROM t

-- name: xact_lock_try
SELECT reminders.reminders_try_advisory_xact_lock(%(lock_key)s) AS acquired, pg_backend_pid() AS pid

-- name: session_unlock
SELECT reminders.reminders_advisory_unlock(%(lock_key)s) AS released

-- name: lock_beat
-- The heartbeat: which backend we are on and whether pg_locks shows the lock granted to it
-- (reminders_lock_holder reads pg_locks; a session lock and an xact lock look the same there).
SELECT pg_backend_pid() AS pid,
       EXISTS (
           SELECT FROM reminders.reminders_lock_holder(%(lock_key)s) h WHERE h.pid = pg_backend_pid()
       ) AS held

-- name: database_clock
-- The database's wall clock (the doctor's skew check; a run's `now` is judged against it).
SELECT clock_timestamp() AS db_now

-- name: fence_take
-- The lock winner's first write: bump the job's fencing token, but only while pg_locks shows the
-- lock on the winner's lock backend. No row back = the lock is not (any more) ours. The UPDATE
-- waits for an older run's batch that still share-locks the row, so that batch commits first.
-- taken_snapshot is the statement's own snapshot, taken before that wait: a batch of another run
-- that it does not show as committed committed after this winner began to write
-- (`record_overlaps`).
INSERT INTO reminders.job_fences AS f (job_name, token, lock_backend_pid, taken_snapshot)
SELECT %(job_name)s, 1, %(lock_pid)s, pg_current_snapshot()
WHERE EXISTS (
    SELECT FROM reminders.reminders_lock_holder(%(lock_key)s) h WHERE h.pid = %(lock_pid)s
)
ON CONFLICT (job_name) DO UPDATE
SET token = f.token + 1, lock_backend_pid = excluded.lock_backend_pid,
    taken_snapshot = excluded.taken_snapshot
RETURNING f.token

-- name: fence_check
-- First statement of a fenced transaction: a row back = this run still holds the lock (pg_locks
-- shows it on its lock backend) and no newer winner has bumped the token; the row stays
-- share-locked until the transaction ends, so a new winner's fence_take waits for it. A holder
-- that hangs inside the transaction is ended by the server after the lock's idle timeout.
SELECT f.token,
       set_config('idle_in_transaction_session_timeout', %(idle_timeout_ms)s, true) AS idle_timeout
FROM reminders.job_fences f
WHERE f.job_name = %(job_name)s AND f.token = %(token)s
  AND EXISTS (
      SELECT FROM reminders.reminders_lock_holder(%(lock_key)s) h WHERE h.pid = %(lock_pid)s
  )
FOR SHARE OF f

-- name: lock_role
-- Whether the lock connection may SET ROLE to %(role)s (REMINDERS_LOCK_ROLE), and whether the
-- role exists at all: an unknown role is a configuration error, not silently ignored.
SELECT current_user = %(role)s AS is_role,
       EXISTS (SELECT FROM pg_roles WHERE rolname = %(role)s) AS known,
       EXISTS (SELECT FROM pg_roles WHERE rolname = %(role)s)
         AND pg_has_role(current_user, %(role)s, 'MEMBER') AS may_set
