-- A run that found its lock gone at the release is never a success (docs/locking.md, "Fenced
-- writes"): the trigger records such a run as 'failed' / 'lock_lost', and the table refuses the
-- contradiction outright. NOT VALID: rows written before this rule are left as they are.
ALTER TABLE reminders.cron_execution_logs
    ADD CONSTRAINT cron_execution_logs_success_held_its_lock
    CHECK (status <> 'success' OR unlock_ok IS DISTINCT FROM false) NOT VALID;
