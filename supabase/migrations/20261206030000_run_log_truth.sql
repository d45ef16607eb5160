-- The execution log tells what happened (docs/cron-trigger.md, "What the log guarantees").
--
-- 1. A run's reminders_created / escalations_created are kept by the database from the ledger:
--    statement-level triggers on reminders.reminder_dispatches add the rows each statement
--    inserted with a run_id to that run's row, and take off the rows a statement deleted in the
--    same transaction that inserted them (the pass's recheck), so the row says what committed
--    with its run id, whatever the run itself believed and in whatever order things happened (a
--    batch that commits after its run lost its lock, after the next winner declared it failed).
--    A later deletion (an assignment deleted, cascading to its ledger rows) does not rewrite
--    what the run committed. Both triggers read the transition tables that the due-index
--    triggers on the same events already make PostgreSQL collect. run_id and kind are written
--    once (no code path updates them; retention's ON DELETE SET NULL removes the run row).
--    Each such statement also records its transaction id in the run's row (last_write_xact);
--    the row stays locked by the batch until the batch commits.
--
-- 2. Overlap in the database's truth: the lock winner's fencing bump (fence_take) keeps the
--    snapshot it started with (job_fences.taken_snapshot). It waits for an older run's batch in
--    flight; once it has its token, any run whose last_write_xact is not visible in that
--    snapshot committed ledger rows after the new winner began to write: both rows list the
--    other in overlapped_with (`record_overlaps`), and monitoring raises one overlapping_runs
--    incident naming both.
--
-- 3. failure_announced_at: when monitoring announced this failed run (an incident of its own,
--    or one already open that covers it). A failed run that a success followed before any check
--    ran is announced by the next check as an incident opened and resolved at once.

ALTER TABLE reminders.cron_execution_logs
    ADD COLUMN last_write_xact xid8,
    ADD COLUMN overlapped_with bigint[] NOT NULL DEFAULT '{}',
    ADD COLUMN failure_announced_at timestamptz;

COMMENT ON COLUMN reminders.cron_execution_logs.last_write_xact IS
    'assignment-reminders: the newest transaction that wrote ledger rows with this run id (kept by trigger).';
COMMENT ON COLUMN reminders.cron_execution_logs.overlapped_with IS
    'assignment-reminders: runs whose ledger writes overlapped this run''s (one committed after the other''s fencing bump began).';
COMMENT ON COLUMN reminders.cron_execution_logs.failure_announced_at IS
    'assignment-reminders: when monitoring announced this failed run (its own incident or an open one covering it).';

-- Failed runs before this migration are not announced again.
UPDATE reminders.cron_execution_logs SET failure_announced_at = finished_at WHERE status = 'failed';

-- record_overlaps finds the runs that wrote after a snapshot's xmin by this index.
CREATE INDEX cron_execution_logs_last_write_idx
    ON reminders.cron_execution_logs (last_write_xact) WHERE last_write_xact IS NOT NULL;

ALTER TABLE reminders.job_fences ADD COLUMN taken_snapshot pg_snapshot;

CREATE FUNCTION reminders.run_counts_after_dispatch_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    UPDATE reminders.cron_execution_logs l
    SET reminders_created = l.reminders_created + n.reminders,
        escalations_created = l.escalations_created + n.escalations,
        last_write_xact = pg_catalog.pg_current_xact_id()
    FROM (
        SELECT r.run_id,
               count(*) FILTER (WHERE r.kind = 'reminder') AS reminders,
               count(*) FILTER (WHERE r.kind = 'escalation') AS escalations
        FROM new_rows r
        WHERE r.run_id IS NOT NULL
        GROUP BY r.run_id
    ) n
    WHERE l.id = n.run_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION reminders.run_counts_after_dispatch_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    -- only rows this transaction wrote for the run (they never commit): a later deletion leaves
    -- what the run committed as it was
    UPDATE reminders.cron_execution_logs l
    SET reminders_created = l.reminders_created - o.reminders,
        escalations_created = l.escalations_created - o.escalations
    FROM (
        SELECT r.run_id,
               count(*) FILTER (WHERE r.kind = 'reminder') AS reminders,
               count(*) FILTER (WHERE r.kind = 'escalation') AS escalations
        FROM old_rows r
        WHERE r.run_id IS NOT NULL
        GROUP BY r.run_id
    ) o
    WHERE l.id = o.run_id AND l.last_write_xact = pg_catalog.pg_current_xact_id_if_assigned();
    RETURN NULL;
END
$$;

CREATE TRIGGER run_counts_on_dispatch
    AFTER INSERT ON reminders.reminder_dispatches
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.run_counts_after_dispatch_insert();
CREATE TRIGGER run_counts_on_dispatch_delete
    AFTER DELETE ON reminders.reminder_dispatches
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.run_counts_after_dispatch_delete();

COMMENT ON TRIGGER run_counts_on_dispatch ON reminders.reminder_dispatches IS
    'assignment-reminders: the run''s row counts the ledger rows written with its run id.';
COMMENT ON TRIGGER run_counts_on_dispatch_delete ON reminders.reminder_dispatches IS
    'assignment-reminders: rows deleted in the transaction that wrote them leave their run''s count.';

REVOKE EXECUTE ON FUNCTION
    reminders.run_counts_after_dispatch_insert(), reminders.run_counts_after_dispatch_delete()
    FROM PUBLIC, anon, authenticated;
