-- Queries of `reminders doctor` (doctor.py): the lock wrappers, the lock key, the server.

-- name: doctor_wrappers
-- Each lock wrapper: may service_role / anon / authenticated / PUBLIC execute it, is search_path pinned.
SELECT f.sig,
       p.oid IS NOT NULL AS present,
       p.oid IS NOT NULL AND has_function_privilege('service_role', p.oid, 'EXECUTE') AS service_role,
       p.oid IS NOT NULL AND has_function_privilege('anon', p.oid, 'EXECUTE') AS anon,
       p.oid IS NOT NULL AND has_function_privilege('authenticated', p.oid, 'EXECUTE') AS authenticated,
       p.oid IS NOT NULL AND (p.proacl IS NULL OR EXISTS (
           SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'
       )) AS public,
       coalesce(EXISTS (
           SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%%'
       ), false) AS search_path_pinned
FROM unnest(ARRAY[
    'reminders.reminders_try_advisory_lock(bigint)',
    'reminders.reminders_advisory_unlock(bigint)',
    'reminders.reminders_try_advisory_xact_lock(bigint)',
    'reminders.reminders_lock_holder(bigint)'
]) AS f (sig)
LEFT JOIN pg_proc p ON p.oid = to_regprocedure(f.sig)
ORDER BY f.sig

-- name: doctor_lock_key
SELECT lock_key, job_name FROM reminders.background_job_lock_keys
WHERE lock_key = %(lock_key)s OR job_name = %(job_name)s
ORDER BY lock_key, job_name

-- name: doctor_timeouts
SELECT current_setting('server_version_num')::int AS version_num,
       current_setting('idle_session_timeout', true) AS idle_session_timeout,
       current_setting('idle_in_transaction_session_timeout', true) AS idle_in_transaction_session_timeout,
       current_setting('transaction_timeout', true) AS transaction_timeout,
       current_setting('statement_timeout', true) AS statement_timeout

-- name: doctor_version
SELECT split_part(version(), ' ', 2) AS v
