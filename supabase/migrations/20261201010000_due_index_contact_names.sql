-- The due index carries the contact's names, so that the pass no longer reads `contacts`.
--
-- The pass writes each reminder's in-app notification with the contact's first and last name.
-- It read them from public.contacts, one probe per reminder. On the first run that is cheap: most
-- assignments are due, and their contacts sit side by side. On an ordinary day it is not: the
-- day's reminders are spread over every contact, about one page of `contacts` each, read in from
-- outside shared_buffers when the tables are larger than it. Measured at 1M assignments (40,448
-- reminders the day after the first run, the batch statement alone, PostgreSQL 16 with 128 MB of
-- shared_buffers, three alternating runs each): 1.29-1.38 s with the probe, 1.21-1.23 s with the
-- names as constants; in the whole benchmark the day 5-6 % faster and the first run about 4 %
-- (docs/benchmarks.md, "The due index carries the contact's names").
--
-- The names are copied where the rows are made (reminders.assignment_due_expected and the
-- functions that insert from it) and kept current by the database:
--   * a contact renamed: its assignments' rows take the new names, in the same statement;
--   * an assignment given another contact: its rows are recomputed (the update trigger now
--     watches contact_id as well as the dates, status and organization).
-- The pass reads them from the index; a reminder's text is what the tables say at the moment the
-- pass writes it, as before.

-- The index is computed afresh at the end, in the order the pass walks (an UPDATE of every row
-- would leave the table twice its size until vacuumed). Nobody sees it empty: TRUNCATE holds
-- its lock until this migration commits, and writers of assignments wait as long (see the end of
-- this file for how long at 1M assignments).
TRUNCATE reminders.assignment_due;
ALTER TABLE reminders.assignment_due
    ADD COLUMN contact_first_name text NOT NULL,
    ADD COLUMN contact_last_name text NOT NULL;

-- New columns of a view go last (CREATE OR REPLACE VIEW keeps the existing ones in place).
CREATE OR REPLACE VIEW reminders.assignment_due_expected AS
SELECT a.id AS assignment_id, a.organization_id, k.kind, g.gap_started_on,
       g.gap_started_on + k.after_days AS due_on,
       c.first_name AS contact_first_name, c.last_name AS contact_last_name
FROM public.assignments a
JOIN public.organizations o ON o.id = a.organization_id
JOIN public.contacts c ON c.id = a.contact_id
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

-- As in 20261130040000 (plans reused for up to 1,000 assignments), with the names.
CREATE OR REPLACE FUNCTION reminders.refresh_assignment_due(p_assignment_ids bigint[])
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = ''
    SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF cardinality(p_assignment_ids) > 1000 THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'auto', true);  -- until we return
    END IF;
    DELETE FROM reminders.assignment_due WHERE assignment_id = ANY (p_assignment_ids);
    INSERT INTO reminders.assignment_due (
        assignment_id, kind, gap_started_on, due_on, contact_first_name, contact_last_name
    )
    SELECT e.assignment_id, e.kind, e.gap_started_on, e.due_on, e.contact_first_name,
           e.contact_last_name
    FROM reminders.assignment_due_expected e
    WHERE e.assignment_id = ANY (p_assignment_ids);
END
$$;

-- As in 20261130002000, with the names.
CREATE OR REPLACE FUNCTION reminders.refresh_assignment_due_range(p_after_id bigint, p_until_id bigint)
    RETURNS void
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = ''
AS $$
    DELETE FROM reminders.assignment_due
    WHERE assignment_id > p_after_id AND assignment_id <= p_until_id;
    INSERT INTO reminders.assignment_due (
        assignment_id, kind, gap_started_on, due_on, contact_first_name, contact_last_name
    )
    SELECT e.assignment_id, e.kind, e.gap_started_on, e.due_on, e.contact_first_name,
           e.contact_last_name
    FROM reminders.assignment_due_expected e
    WHERE e.assignment_id > p_after_id AND e.assignment_id <= p_until_id
    -- in the order the pass walks (see 20261130002000)
    ORDER BY e.due_on, e.assignment_id;
$$;

CREATE OR REPLACE FUNCTION reminders.assignment_due_after_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    INSERT INTO reminders.assignment_due (
        assignment_id, kind, gap_started_on, due_on, contact_first_name, contact_last_name
    )
    SELECT e.assignment_id, e.kind, e.gap_started_on, e.due_on, e.contact_first_name,
           e.contact_last_name
    FROM new_rows n
    JOIN reminders.assignment_due_expected e ON e.assignment_id = n.id;
    RETURN NULL;
END
$$;

-- As in 20261130002000, and an assignment given another contact is recomputed too.
CREATE OR REPLACE FUNCTION reminders.assignment_due_after_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    changed bigint[];
BEGIN
    SELECT array_agg(n.id) INTO changed
    FROM new_rows n
    JOIN old_rows o ON o.id = n.id
    WHERE (n.last_contact_date, n.starts_on, n.ends_on, n.status, n.organization_id, n.contact_id)
          IS DISTINCT FROM
          (o.last_contact_date, o.starts_on, o.ends_on, o.status, o.organization_id, o.contact_id);
    IF changed IS NOT NULL THEN
        PERFORM reminders.refresh_assignment_due(changed);
    END IF;
    RETURN NULL;
END
$$;

-- A contact renamed: the rows of its assignments take the new names. One statement per
-- statement on contacts, however many rows; only the contacts whose names changed.
CREATE FUNCTION reminders.assignment_due_after_contact_rename() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    UPDATE reminders.assignment_due d
    SET contact_first_name = n.first_name, contact_last_name = n.last_name
    FROM new_rows n
    JOIN old_rows o ON o.id = n.id
    JOIN public.assignments a ON a.contact_id = n.id
    WHERE (n.first_name, n.last_name) IS DISTINCT FROM (o.first_name, o.last_name)
      AND d.assignment_id = a.id;
    RETURN NULL;
END
$$;

-- (Transition tables cannot be combined with a column list: the function filters the columns.)
CREATE TRIGGER assignment_due_on_contact_update
    AFTER UPDATE ON public.contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.assignment_due_after_contact_rename();

COMMENT ON TRIGGER assignment_due_on_contact_update ON public.contacts IS
    'assignment-reminders: a contact renamed renames it in reminders.assignment_due, which carries the names for the notifications the pass writes.';

REVOKE EXECUTE ON FUNCTION reminders.assignment_due_after_contact_rename()
    FROM PUBLIC, anon, authenticated;

-- The rows of every assignment, with the names. Measured on a seeded database of 1M assignments
-- (1.7M rows, before any run; embedded PostgreSQL 16): this migration took 5.9 s and left 254 MB;
-- filling the new columns with an UPDATE instead took 19.7 s and left 448 MB.
SELECT reminders.refresh_assignment_due_range(0, 9223372036854775807);
