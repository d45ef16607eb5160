-- Row-level security on every table we create (tests/integration/test_installing_into_supabase.py
-- checks it): job_fences has no policy, so only its owner and service_role (BYPASSRLS) reach it.
ALTER TABLE reminders.job_fences ENABLE ROW LEVEL SECURITY;
