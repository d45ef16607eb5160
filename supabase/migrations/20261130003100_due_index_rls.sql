-- Row-level security on every table we create (tests/integration/test_installing_into_supabase.py
-- checks it): assignment_due has no policy, so only its owner (the scheduler's connection and the
-- SECURITY DEFINER triggers that keep it) and service_role (BYPASSRLS) reach it.
ALTER TABLE reminders.assignment_due ENABLE ROW LEVEL SECURITY;
