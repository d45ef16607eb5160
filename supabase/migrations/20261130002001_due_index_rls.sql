-- Row-level security on every table we create (tests/integration/test_installing_into_supabase.py
-- checks it): assignment_due has no policy, so only its owner and service_role (BYPASSRLS) reach
-- it; its trigger functions are SECURITY DEFINER and unaffected.
ALTER TABLE reminders.assignment_due ENABLE ROW LEVEL SECURITY;
