-- The due index: when each assignment next becomes due, so that the daily pass reads what is due
-- instead of every assignment (docs/benchmarks.md, "The due index").
--
-- One row per reminder that is still to come: (assignment, kind) with the contact gap it belongs
-- to and the organization-LOCAL date it becomes due, gap_started_on + the organization's
-- threshold. A reminder is due on a local date `today` when due_on <= today and the assignment has
-- not ended before today; the pass compares due_on with each organization's today, so a time zone
-- change needs no rewrite here. There is no row when the assignment is not active, when it ends
-- before the date, or when the ledger already has the reminder.
--
-- The database keeps it true, whoever writes: statement-level triggers (one set-based statement
-- per write, however many rows) on assignments (insert, update, delete, truncate), on the
-- organizations' thresholds and on the dispatch ledger (a reminder written leaves the index; one
-- deleted comes back). Internal: schema `reminders`, no grants to anon or authenticated; the
-- trigger functions are SECURITY DEFINER because app users update assignments through RLS.

CREATE TABLE reminders.assignment_due (
    assignment_id  bigint NOT NULL,
    kind           text NOT NULL
                   CONSTRAINT assignment_due_kind_valid CHECK (kind IN ('reminder', 'escalation')),
    gap_started_on date NOT NULL,
    due_on         date NOT NULL,
    CONSTRAINT assignment_due_pkey PRIMARY KEY (assignment_id, kind)
);
-- The pass walks this index from the oldest due date up to the latest "today" of any
-- organization, in (due_on, assignment_id) order; reminder and escalation of one assignment have
-- different dates (escalation_after_days > reminder_after_days), so the pair is unique.
CREATE UNIQUE INDEX assignment_due_due_on_idx ON reminders.assignment_due (due_on, assignment_id);

COMMENT ON TABLE reminders.assignment_due IS
    'assignment-reminders: reminders still to come per assignment and the local date each becomes due; maintained by triggers.';

-- What the index should hold, computed from the tables: the triggers and the bulk refresh insert
-- from it (a plain view: the planner pushes an assignment_id or organization_id condition into it).
CREATE VIEW reminders.assignment_due_expected AS
SELECT a.id AS assignment_id, a.organization_id, k.kind, g.gap_started_on,
       g.gap_started_on + k.after_days AS due_on
FROM public.assignments a
JOIN public.organizations o ON o.id = a.organization_id
CROSS JOIN LATERAL (SELECT coalesce(a.last_contact_date, a.starts_on) AS gap_started_on) g
CROSS JOIN LATERAL (
    VALUES ('reminder'::text, o.reminder_after_days), ('escalation'::text, o.escalation_after_days)
) k (kind, after_days)
WHERE a.status = 'active'
  AND (a.ends_on IS NULL OR g.gap_started_on + k.after_days <= a.ends_on)
  AND NOT EXISTS (
      SELECT FROM reminders.reminder_dispatches r
      WHERE r.assignment_id = a.id AND r.kind = k.kind AND r.gap_started_on = g.gap_started_on
  );

-- Recompute the rows of some assignments (any that are gone simply lose their rows).
CREATE FUNCTION reminders.refresh_assignment_due(p_assignment_ids bigint[]) RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = ''
AS $$
    DELETE FROM reminders.assignment_due WHERE assignment_id = ANY (p_assignment_ids);
    INSERT INTO reminders.assignment_due (assignment_id, kind, gap_started_on, due_on)
    SELECT e.assignment_id, e.kind, e.gap_started_on, e.due_on
    FROM reminders.assignment_due_expected e
    WHERE e.assignment_id = ANY (p_assignment_ids);
$$;

-- Recompute the rows of an id range in one pass over it, stored in due order: for bulk loads
-- (`reminders seed` computes the index after its COPY) and for this migration.
CREATE FUNCTION reminders.refresh_assignment_due_range(p_after_id bigint, p_until_id bigint)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = ''
AS $$
    DELETE FROM reminders.assignment_due
    WHERE assignment_id > p_after_id AND assignment_id <= p_until_id;
    INSERT INTO reminders.assignment_due (assignment_id, kind, gap_started_on, due_on)
    SELECT e.assignment_id, e.kind, e.gap_started_on, e.due_on
    FROM reminders.assignment_due_expected e
    WHERE e.assignment_id > p_after_id AND e.assignment_id <= p_until_id
    -- in the order the pass walks: its batches then read and delete neighbouring rows, not one
    -- row per page (measured at 1M assignments: a first run of 30 s instead of 45 s)
    ORDER BY e.due_on, e.assignment_id;
$$;

CREATE FUNCTION reminders.assignment_due_after_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    INSERT INTO reminders.assignment_due (assignment_id, kind, gap_started_on, due_on)
    SELECT e.assignment_id, e.kind, e.gap_started_on, e.due_on
    FROM new_rows n
    JOIN reminders.assignment_due_expected e ON e.assignment_id = n.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION reminders.assignment_due_after_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    changed bigint[];
BEGIN
    -- Only the rows whose dates, status or organization changed; an update of anything else
    -- (a note, a name) costs this one join of the two transition tables.
    SELECT array_agg(n.id) INTO changed
    FROM new_rows n
    JOIN old_rows o ON o.id = n.id
    WHERE (n.last_contact_date, n.starts_on, n.ends_on, n.status, n.organization_id)
          IS DISTINCT FROM (o.last_contact_date, o.starts_on, o.ends_on, o.status, o.organization_id);
    IF changed IS NOT NULL THEN
        PERFORM reminders.refresh_assignment_due(changed);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION reminders.assignment_due_after_delete() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    DELETE FROM reminders.assignment_due d USING old_rows o WHERE d.assignment_id = o.id;
    RETURN NULL;
END
$$;

CREATE FUNCTION reminders.assignment_due_after_truncate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    IF TG_TABLE_NAME = 'assignments' THEN
        TRUNCATE reminders.assignment_due;
    ELSE
        -- the ledger was emptied: every reminder is to come again
        PERFORM reminders.refresh_assignment_due_range(0, 9223372036854775807);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION reminders.assignment_due_after_threshold_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    PERFORM reminders.refresh_assignment_due(
        ARRAY(SELECT a.id FROM public.assignments a WHERE a.organization_id = NEW.id));
    RETURN NULL;
END
$$;

-- A reminder written to the ledger leaves the index (only the row of that gap: the gap may
-- have moved since the pass read it, and then the new gap's row stays).
CREATE FUNCTION reminders.assignment_due_after_dispatch() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
    -- one primary-key probe per ledger row: the planner would otherwise hash the whole index
    -- table for a batch of 20,000 (measured: 1.1 s instead of 0.1 s at 1M assignments)
    SET enable_seqscan = off
AS $$
BEGIN
    DELETE FROM reminders.assignment_due d
    USING new_rows n
    WHERE d.assignment_id = n.assignment_id AND d.kind = n.kind
      AND d.gap_started_on = n.gap_started_on;
    RETURN NULL;
END
$$;

-- A ledger row deleted or changed: its assignment's reminders are recomputed.
CREATE FUNCTION reminders.assignment_due_after_dispatch_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    PERFORM reminders.refresh_assignment_due(ARRAY(SELECT DISTINCT assignment_id FROM old_rows));
    RETURN NULL;
END
$$;

CREATE TRIGGER assignment_due_on_insert
    AFTER INSERT ON public.assignments
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.assignment_due_after_insert();
-- (Transition tables cannot be combined with a column list: the function filters the columns.)
CREATE TRIGGER assignment_due_on_update
    AFTER UPDATE ON public.assignments
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.assignment_due_after_update();
CREATE TRIGGER assignment_due_on_delete
    AFTER DELETE ON public.assignments
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.assignment_due_after_delete();
CREATE TRIGGER assignment_due_on_truncate
    AFTER TRUNCATE ON public.assignments
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.assignment_due_after_truncate();
CREATE TRIGGER assignment_due_on_threshold_change
    AFTER UPDATE OF reminder_after_days, escalation_after_days ON public.organizations
    FOR EACH ROW
    WHEN (OLD.reminder_after_days IS DISTINCT FROM NEW.reminder_after_days
          OR OLD.escalation_after_days IS DISTINCT FROM NEW.escalation_after_days)
    EXECUTE FUNCTION reminders.assignment_due_after_threshold_change();
CREATE TRIGGER assignment_due_on_dispatch
    AFTER INSERT ON reminders.reminder_dispatches
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.assignment_due_after_dispatch();
CREATE TRIGGER assignment_due_on_dispatch_update
    AFTER UPDATE ON reminders.reminder_dispatches
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.assignment_due_after_dispatch_change();
CREATE TRIGGER assignment_due_on_dispatch_delete
    AFTER DELETE ON reminders.reminder_dispatches
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.assignment_due_after_dispatch_change();
CREATE TRIGGER assignment_due_on_dispatch_truncate
    AFTER TRUNCATE ON reminders.reminder_dispatches
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.assignment_due_after_truncate();

-- The assignments that exist now.
SELECT reminders.refresh_assignment_due_range(0, 9223372036854775807);

REVOKE ALL ON reminders.assignment_due, reminders.assignment_due_expected
    FROM PUBLIC, anon, authenticated;
GRANT SELECT ON reminders.assignment_due, reminders.assignment_due_expected TO service_role;
REVOKE EXECUTE ON FUNCTION
    reminders.refresh_assignment_due(bigint[]),
    reminders.refresh_assignment_due_range(bigint, bigint),
    reminders.assignment_due_after_insert(), reminders.assignment_due_after_update(),
    reminders.assignment_due_after_delete(), reminders.assignment_due_after_truncate(),
    reminders.assignment_due_after_threshold_change(), reminders.assignment_due_after_dispatch(),
    reminders.assignment_due_after_dispatch_change()
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION reminders.refresh_assignment_due(bigint[]),
    reminders.refresh_assignment_due_range(bigint, bigint)
    TO service_role;
