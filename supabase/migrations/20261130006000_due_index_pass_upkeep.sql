-- The reminder pass keeps the due index itself; every other ledger writer still has the trigger.
--
-- 20261130002000 deletes each reminder written to the ledger from reminders.assignment_due with a
-- statement-level trigger: one primary-key probe per ledger row, plus the transition table. The
-- pass has just read those very rows from the index, so its batch statement deletes them itself
-- (by their row address, in the order it read them: `schedule_batch`) and tells this trigger to
-- stand aside by setting, for its own transaction only,
--
--     SELECT set_config('reminders.pass_keeps_due_index', 'on', true)
--
-- Any other writer of reminders.reminder_dispatches (an import, a hand-written row, a tool of
-- ours or yours) leaves the setting unset and the trigger keeps the index right, as before. The
-- setting only makes the trigger skip: a writer that sets it and does not delete the rows leaves
-- reminders in the index that the ledger already has; the next pass reads them, finds them in
-- the ledger (ON CONFLICT) and deletes them then. Only roles that may write the ledger
-- (service_role, the owner) can get there at all; anon and authenticated have no grants on it.
-- The benchmark's one-statement floor sets it too: it measures the minimal writes, without the
-- index's upkeep (docs/benchmarks.md).
DROP TRIGGER assignment_due_on_dispatch ON reminders.reminder_dispatches;
CREATE TRIGGER assignment_due_on_dispatch
    AFTER INSERT ON reminders.reminder_dispatches
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT
    WHEN (current_setting('reminders.pass_keeps_due_index', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION reminders.assignment_due_after_dispatch();

COMMENT ON TRIGGER assignment_due_on_dispatch ON reminders.reminder_dispatches IS
    'assignment-reminders: a reminder written leaves reminders.assignment_due; skipped when the writing transaction set reminders.pass_keeps_due_index = on (the pass deletes the rows itself).';
