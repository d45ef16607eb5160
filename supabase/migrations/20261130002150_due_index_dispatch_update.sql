-- The due index after a ledger row is UPDATEd: recompute the assignments it belonged to AND the
-- ones it belongs to now (20261130002000 recomputed only the former: a row moved to another
-- assignment, gap or kind would have left that one's index row in place, read by every pass).
CREATE OR REPLACE FUNCTION reminders.assignment_due_after_dispatch_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM reminders.refresh_assignment_due(ARRAY(
            SELECT assignment_id FROM old_rows UNION SELECT assignment_id FROM new_rows));
    ELSE
        PERFORM reminders.refresh_assignment_due(ARRAY(SELECT DISTINCT assignment_id FROM old_rows));
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER assignment_due_on_dispatch_update ON reminders.reminder_dispatches;
CREATE TRIGGER assignment_due_on_dispatch_update
    AFTER UPDATE ON reminders.reminder_dispatches
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.assignment_due_after_dispatch_change();
