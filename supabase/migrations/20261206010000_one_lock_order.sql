-- One lock order for everyone who writes the due index, and a notification that knows when its
-- gap was closed (docs/scheduler.md, "Who waits for whom").
--
-- Until now two writers of one assignment's due-index rows could run side by side: an activity
-- registered (its assignment row locked) while the ledger was repaired, a threshold changed or a
-- contact renamed (no assignment row locked). Both deleted the rows and inserted them again from
-- the view, each from its own snapshot: the second insert failed the host's statement with a
-- unique violation on assignment_due_pkey, or a rename missed rows it could not see yet and left
-- an old name in the index.
--
-- The rules from here on, for an assignment's rows in reminders.assignment_due:
--   * whoever recomputes them (delete, insert from the view) first holds the assignment FOR NO
--     KEY UPDATE (the lock an UPDATE of last_contact_date takes anyway), taken for a set of
--     assignments with reminders.hold_rows (all or none, in id order: it never waits
--     while holding some of them, so it cannot close a cycle with a host's own statement that
--     locks them in another order), and then holds their contacts FOR SHARE, in id order, because
--     it copies their names;
--   * a new assignment (or one moved to another organization) holds its organization and contact
--     FOR SHARE first: a threshold change or a rename in flight cannot see it, so it commits first;
--   * a contact renamed (the host's UPDATE holds the contact) renames the rows of its assignments
--     in place: a recompute in flight holds the contact FOR SHARE, so it commits first or waits;
--   * the pass deletes a batch's due rows in its last statement, FOR UPDATE SKIP LOCKED: it never
--     waits for anyone, a row someone changed or holds is not deleted (and its reminder is taken
--     back), and anyone who comes later waits for it (one short statement and its commit):
--     `settle_batch` in queries.sql.
-- So writers of one assignment's rows take turns, and each computes from a snapshot taken after
-- the previous one committed: no unique violation, no lost name, no lock cycle of ours.
--
-- FOR NO KEY UPDATE rather than FOR UPDATE where we lock for a recompute (activities changed or
-- deleted): FOR UPDATE also waits for the FOR KEY SHARE locks that every foreign-key check on
-- the assignment takes, for no reason.

-- The in-app notification of a reminder whose gap was closed (a contact registered, or the
-- assignment no longer active) after the reminder was written: the app filters on it.
ALTER TABLE public.notifications ADD COLUMN resolved_at timestamptz;
COMMENT ON COLUMN public.notifications.resolved_at IS
    'assignment-reminders: when the reminder''s contact gap was closed (a contact registered, or the assignment stopped being active) after the reminder was written; NULL while it is still open. Apps hide resolved notifications.';

-- Hold rows of a table (assignments FOR NO KEY UPDATE, contacts FOR SHARE), all or none: take
-- them all at once in id order without waiting (NOWAIT, in a subtransaction); when one is held by
-- another transaction, give back the ones taken (the subtransaction rolls back), wait for that one
-- alone, give it back, and try again. Rows this transaction already holds (the host's own UPDATE)
-- count as taken. One row needs none of this: waiting for it holds none of the others.
CREATE FUNCTION reminders.hold_rows(p_table regclass, p_ids bigint[], p_mode text)
    RETURNS void
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    busy bigint;
BEGIN
    IF p_mode NOT IN ('NO KEY UPDATE', 'SHARE') THEN
        RAISE EXCEPTION 'hold_rows: lock mode % is not one of ours', p_mode;
    END IF;
    IF cardinality(p_ids) <= 1 THEN
        EXECUTE format('SELECT FROM %s t WHERE t.id = ANY ($1) FOR %s', p_table, p_mode)
            USING p_ids;
        RETURN;
    END IF;
    LOOP
        BEGIN
            EXECUTE format('SELECT FROM %s t WHERE t.id = ANY ($1) ORDER BY t.id FOR %s NOWAIT',
                           p_table, p_mode)
                USING p_ids;
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            NULL;  -- none kept
        END;
        -- which one is held (the rows this probe locks are given back at once) ...
        BEGIN
            EXECUTE format('SELECT min(t.id) FROM %1$s t WHERE t.id = ANY ($1) AND t.id NOT IN ('
                           'SELECT f.id FROM %1$s f WHERE f.id = ANY ($1) FOR %2$s SKIP LOCKED)',
                           p_table, p_mode)
                INTO busy USING p_ids;
            RAISE EXCEPTION USING ERRCODE = 'RA001';
        EXCEPTION WHEN SQLSTATE 'RA001' THEN
            NULL;
        END;
        -- ... and wait for it alone, holding none of the others, then give it back too
        IF busy IS NOT NULL THEN
            BEGIN
                EXECUTE format('SELECT FROM %s t WHERE t.id = $1 FOR %s', p_table, p_mode)
                    USING busy;
                RAISE EXCEPTION USING ERRCODE = 'RA001';
            EXCEPTION WHEN SQLSTATE 'RA001' THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$$;

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
    -- The lock order (see the top of this file). The statements below take their snapshots
    -- after it, so they see whatever the previous holder of these rows committed, and the
    -- contacts' names as no rename in flight has them.
    IF cardinality(p_assignment_ids) = 1 THEN
        -- one assignment (a registration): both locks in one statement, no subtransaction
        PERFORM FROM public.assignments a
        JOIN public.contacts c ON c.id = a.contact_id
        WHERE a.id = p_assignment_ids[1]
        FOR NO KEY UPDATE OF a FOR SHARE OF c;
    ELSE
        PERFORM reminders.hold_rows('public.assignments', p_assignment_ids, 'NO KEY UPDATE');
        PERFORM reminders.hold_rows('public.contacts', ARRAY(
            SELECT a.contact_id FROM public.assignments a WHERE a.id = ANY (p_assignment_ids)),
            'SHARE');
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

-- As in 20261201010000; and the notifications of the gaps this update closed are resolved.
CREATE OR REPLACE FUNCTION reminders.assignment_due_after_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    changed bigint[];
    closed bigint[];
    moved boolean;
BEGIN
    SELECT array_agg(n.id), bool_or(n.organization_id <> o.organization_id),
           array_agg(n.id) FILTER (
               WHERE o.status = 'active'
                 AND (n.status <> 'active'
                      OR coalesce(n.last_contact_date, n.starts_on)
                         <> coalesce(o.last_contact_date, o.starts_on)))
    INTO changed, moved, closed
    FROM new_rows n
    JOIN old_rows o ON o.id = n.id
    WHERE (n.last_contact_date, n.starts_on, n.ends_on, n.status, n.organization_id, n.contact_id)
          IS DISTINCT FROM
          (o.last_contact_date, o.starts_on, o.ends_on, o.status, o.organization_id, o.contact_id);
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    -- An assignment moved to another organization takes that organization's thresholds: hold
    -- it FOR SHARE, so that a threshold change in flight commits first (its recompute did not
    -- see this assignment) or waits for this one.
    IF moved THEN
        PERFORM FROM public.organizations g
        WHERE g.id IN (SELECT n.organization_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                       WHERE n.organization_id <> o.organization_id)
        ORDER BY g.id
        FOR SHARE;
    END IF;
    PERFORM reminders.refresh_assignment_due(changed);
    IF closed IS NOT NULL THEN
        -- Only the reminders of the gap that was open until now: earlier gaps were resolved
        -- when they closed. Two probes of the ledger's unique key per assignment.
        -- A ledger row being deleted (retention, a repair) is skipped: its notification goes
        -- with it, and waiting for that delete could close a cycle (it waits for these
        -- assignments to recompute the index).
        UPDATE public.notifications nt
        SET resolved_at = now()
        FROM (
            SELECT r.id
            FROM old_rows o
            JOIN reminders.reminder_dispatches r
              ON r.assignment_id = o.id
             AND r.gap_started_on = coalesce(o.last_contact_date, o.starts_on)
            WHERE o.id = ANY (closed)
            FOR KEY SHARE OF r SKIP LOCKED
        ) r
        WHERE nt.dispatch_id = r.id
          AND nt.resolved_at IS NULL;
    END IF;
    RETURN NULL;
END
$$;

-- As in 20261201010000, only the rows whose names differ: the host's UPDATE holds the contacts, so
-- a recompute of one of their assignments (which holds the contact FOR SHARE) is either committed
-- (this update, a later statement, sees its rows) or waits for this transaction (and then copies
-- the new names). A row the pass is deleting is waited for, and is gone.
CREATE OR REPLACE FUNCTION reminders.assignment_due_after_contact_rename() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    renamed bigint[];
BEGIN
    SELECT array_agg(n.id) INTO renamed
    FROM new_rows n
    JOIN old_rows o ON o.id = n.id
    WHERE (n.first_name, n.last_name) IS DISTINCT FROM (o.first_name, o.last_name);
    IF renamed IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE reminders.assignment_due d
    SET contact_first_name = n.first_name, contact_last_name = n.last_name
    FROM new_rows n
    JOIN public.assignments a ON a.contact_id = n.id
    WHERE n.id = ANY (renamed)
      AND d.assignment_id = a.id
      AND (d.contact_first_name, d.contact_last_name) IS DISTINCT FROM (n.first_name, n.last_name);
    RETURN NULL;
END
$$;

-- As in 20261130002160, holding the assignments first (the lock order).
CREATE OR REPLACE FUNCTION reminders.assignment_due_after_dispatch() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
    SET enable_seqscan = off
AS $$
BEGIN
    IF (SELECT count(*) FROM new_rows) > 100000 THEN
        PERFORM pg_catalog.set_config('enable_seqscan', 'on', true);
    END IF;
    PERFORM reminders.hold_rows('public.assignments',
        ARRAY(SELECT DISTINCT n.assignment_id FROM new_rows n), 'NO KEY UPDATE');
    DELETE FROM reminders.assignment_due d
    USING new_rows n
    WHERE d.assignment_id = n.assignment_id AND d.kind = n.kind
      AND d.gap_started_on = n.gap_started_on;
    RETURN NULL;
END
$$;

-- A ledger row deleted by the pass itself (a reminder it takes back in the same transaction,
-- because a contact closed its gap meanwhile) needs no recompute: the writer that closed the gap
-- recomputed the index already. Every other delete still recomputes.
DROP TRIGGER assignment_due_on_dispatch_delete ON reminders.reminder_dispatches;
CREATE TRIGGER assignment_due_on_dispatch_delete
    AFTER DELETE ON reminders.reminder_dispatches
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT
    WHEN (current_setting('reminders.pass_keeps_due_index', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION reminders.assignment_due_after_dispatch_change();

COMMENT ON TRIGGER assignment_due_on_dispatch_delete ON reminders.reminder_dispatches IS
    'assignment-reminders: a ledger row deleted puts its reminder back in reminders.assignment_due; skipped when the writing transaction set reminders.pass_keeps_due_index = on (the pass taking back a reminder whose gap was closed).';

-- Activities registered: the statement's assignments are held (all or none, in id order) before
-- anything else (an UPDATE locks its rows in whatever order its plan meets them, and so does the
-- baselines' unique key: two bulk registrations sharing assignments could deadlock on either).
CREATE OR REPLACE FUNCTION reminders.activities_after_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    registered bigint[];
    moving bigint[];
BEGIN
    -- The statement's assignments, held first (all or none, in id order): registrations sharing
    -- assignments then take turns, for the baselines' unique key as for the date.
    SELECT array_agg(DISTINCT n.assignment_id) INTO registered FROM new_rows n;
    IF registered IS NULL THEN
        RETURN NULL;  -- an INSERT of no rows
    END IF;
    PERFORM reminders.hold_rows('public.assignments', registered, 'NO KEY UPDATE');
    -- A date set on the assignment by other means (seed, import) that is later than every
    -- activity registered before this statement becomes its baseline, so that a later delete
    -- cannot lose it. "Before" is "a smaller id than this statement's first row for it".
    INSERT INTO reminders.last_contact_baselines (assignment_id, contact_date, after_activity_id, source)
    SELECT a.id, a.last_contact_date, coalesce(prev.max_id, 0), 'import'
    FROM (SELECT assignment_id, min(id) AS first_id FROM new_rows GROUP BY assignment_id) n
    JOIN public.assignments a ON a.id = n.assignment_id
    CROSS JOIN LATERAL (
        -- FILTER rather than WHERE: it keeps the planner from answering max(id) by walking the
        -- primary key backwards (2 ms per assignment instead of microseconds).
        SELECT max(act.id) FILTER (WHERE act.id < n.first_id) AS max_id,
               max(act.occurred_on) FILTER (WHERE act.id < n.first_id) AS max_on
        FROM public.activities act
        WHERE act.assignment_id = a.id
    ) prev
    WHERE a.last_contact_date IS NOT NULL
      AND (prev.max_on IS NULL OR a.last_contact_date > prev.max_on)
    ORDER BY a.id  -- the lock order, for the unique key's waits too
    ON CONFLICT (assignment_id) DO NOTHING;

    -- the assignments whose date moves
    SELECT array_agg(a.id) INTO moving
    FROM (SELECT assignment_id, max(occurred_on) AS latest FROM new_rows GROUP BY assignment_id) n
    JOIN public.assignments a ON a.id = n.assignment_id
    WHERE a.last_contact_date IS DISTINCT FROM greatest(a.last_contact_date, n.latest);
    IF moving IS NULL THEN
        RETURN NULL;
    END IF;
    UPDATE public.assignments a
    SET last_contact_date = greatest(a.last_contact_date, n.latest)
    FROM (SELECT assignment_id, max(occurred_on) AS latest FROM new_rows GROUP BY assignment_id) n
    WHERE a.id = n.assignment_id
      AND a.id = ANY (moving)
      AND a.last_contact_date IS DISTINCT FROM greatest(a.last_contact_date, n.latest);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION reminders.activities_after_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    touched bigint[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        SELECT array_agg(DISTINCT x.id) INTO touched
        FROM (SELECT assignment_id AS id FROM old_rows
              UNION ALL SELECT assignment_id FROM new_rows) x;
    ELSE
        SELECT array_agg(DISTINCT assignment_id) INTO touched FROM old_rows;
    END IF;
    -- Hold the assignments first (all or none, in id order); the UPDATE below then takes a new snapshot
    -- (READ COMMITTED, a new one per statement), so it sees every activity committed by a
    -- transaction that held one of these rows before us, and cannot undo its move.
    PERFORM reminders.hold_rows('public.assignments', touched, 'NO KEY UPDATE');
    UPDATE public.assignments a
    SET last_contact_date = c.last_contact_date
    FROM reminders.computed_last_contact_dates(touched) c
    WHERE a.id = c.assignment_id
      AND a.last_contact_date IS DISTINCT FROM c.last_contact_date;
    RETURN NULL;
END
$$;

-- New assignments: their rows copy their organizations' thresholds and their contacts' names, so
-- those are held FOR SHARE first (a threshold change or a rename in flight, which cannot see the
-- new assignments, commits before they are read; a later one waits for this transaction).
CREATE OR REPLACE FUNCTION reminders.assignment_due_after_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    PERFORM FROM public.organizations g
    WHERE g.id IN (SELECT n.organization_id FROM new_rows n)
    ORDER BY g.id
    FOR SHARE;
    PERFORM reminders.hold_rows('public.contacts',
        ARRAY(SELECT DISTINCT n.contact_id FROM new_rows n), 'SHARE');
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

REVOKE EXECUTE ON FUNCTION reminders.hold_rows(regclass, bigint[], text)
    FROM PUBLIC, anon, authenticated;
