-- OPTIONAL, not a migration: schedule the reminder job from inside Supabase with pg_cron + pg_net.
-- Use this instead of (or beside) the built-in cron of `reminders serve`; several callers are
-- safe, the advisory lock lets one run at a time and the ledger never reminds twice.
-- See docs/supabase.md (step by step) and docs/monitoring.md, "Scheduling on Supabase", for what
-- pg_net does and does not guarantee. `reminders optional-sql pg_cron_schedule` prints this file.
--
-- The call carries the job's own secret, REMINDERS_CRON_SECRET, never a service_role key or a
-- Supabase secret key: nothing that can read or write the project's data leaves the project.
-- Before running this file, store two secrets in Supabase Vault (Dashboard -> Integrations ->
-- Vault, or SQL):
--   select vault.create_secret('https://reminders.example.org', 'reminders_base_url');
--   select vault.create_secret('<the value of REMINDERS_CRON_SECRET>', 'reminders_cron_secret');
-- (make one with `openssl rand -hex 32`; set the same value as REMINDERS_CRON_SECRET where the
-- service runs). To rotate it: vault.update_secret(<id>, '<new>') and the service's variable,
-- between two runs. Nothing secret is written into cron.job: the command reads the vault at
-- every call.

-- pg_cron always lives in pg_catalog (its control file says so); pg_net goes in `extensions`, as
-- Supabase's own pg_net page does: in `public` the Security Advisor flags it (extension_in_public).
-- Its functions are in schema `net` either way.
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS pg_net WITH SCHEMA extensions;

DO $check$
DECLARE
    missing text;
BEGIN
    SELECT string_agg(wanted, ', ') INTO missing
    FROM unnest(ARRAY['reminders_base_url', 'reminders_cron_secret']) AS wanted
    WHERE NOT EXISTS (
        SELECT FROM vault.decrypted_secrets s
        WHERE s.name = wanted AND coalesce(s.decrypted_secret, '') <> ''
    );
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'store % in Supabase Vault first (vault.create_secret), then run this again',
            missing
            USING HINT = 'see the top of supabase/optional/pg_cron_schedule.sql';
    END IF;
END
$check$;

-- pg_cron reads schedules in cron.timezone, which is GMT on Supabase: 05:00 UTC is 06:00 in Oslo
-- in winter and 07:00 in summer. A second call the same day is harmless (nothing is due twice).
-- Re-running this file updates the job of the same name.
SELECT cron.schedule(
    'assignment-reminder-cron',
    '0 5 * * *',
    $cmd$
    SELECT net.http_post(
        url := job.base_url || '/functions/v1/assignment-reminder-cron',
        body := '{}'::jsonb,
        headers := jsonb_build_object(
            'Content-Type', 'application/json',
            'Authorization', 'Bearer ' || job.cron_secret
        ),
        -- the run goes on server-side after this; it only bounds how long pg_net waits
        timeout_milliseconds := 60000
    ) AS request_id
    FROM (
        SELECT
            (SELECT rtrim(decrypted_secret, '/') FROM vault.decrypted_secrets
             WHERE name = 'reminders_base_url') AS base_url,
            (SELECT decrypted_secret FROM vault.decrypted_secrets
             WHERE name = 'reminders_cron_secret') AS cron_secret
    ) AS job
    $cmd$
);

-- What happened to the calls (pg_net keeps responses for a few hours, pg_net.ttl):
--   SELECT id, status_code, timed_out, error_msg, left(content, 200), created
--   FROM net._http_response ORDER BY created DESC LIMIT 10;
-- What pg_cron did (it only knows whether the SELECT queued the request):
--   SELECT status, return_message, start_time FROM cron.job_run_details
--   WHERE jobid = (SELECT jobid FROM cron.job WHERE jobname = 'assignment-reminder-cron')
--   ORDER BY start_time DESC LIMIT 10;
-- To remove the schedule:
--   SELECT cron.unschedule('assignment-reminder-cron');
