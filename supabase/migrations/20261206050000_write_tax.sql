-- The tax on the app's own writes (issue 18, item 6; docs/benchmarks.md, "The write tax").
--
-- The triggers keep every rule of 20261206010000 (one lock order, all-or-none holds, names and
-- thresholds held FOR SHARE, notifications of closed gaps resolved); what changes is how many
-- statements they run and how those statements are planned.
--
-- 1. One row, its own statements. A registration, a status flip or a new assignment usually
--    writes one row. The triggers count their transition table first (a scan whose plan does not depend on
--    its size) and, for one row, run statements on that row's key as plain variables: primary-key
--    probes whose plans PL/pgSQL keeps for the life of the backend. Before, one activity ran 15
--    statements in 6 functions, three of them planned afresh on every call (the date update and
--    the notifications' update: a one-element array parameter; hold_rows: dynamic SQL); now 10
--    in the 2 trigger functions (the registration's and the update's it fires), none planned
--    per call:
--      * the date check joins the lock: one statement locks the assignment and reads what the
--        check and the date need (the activities' own check trigger on INSERT is gone; the check
--        is in activities_after_insert, still before anything is written, and raises the same
--        errors through reminders.check_contact_dates);
--      * the baseline and the date update are skipped when they cannot apply (no imported date;
--        the date does not move);
--      * the assignment's due rows are recomputed in the update trigger itself (no call of
--        refresh_assignment_due and its two settings; the UPDATE holds the assignment, so only
--        its contact is held), and its notifications are resolved only when the update closed
--        its gap and the ledger has reminders of that gap (one probe of its unique key);
--      * a new assignment holds its organization and contact in one statement.
--
-- 2. Many rows, planned for their number. A statement that joins a transition table to another
--    transition table or to a large table is planned once per backend by PL/pgSQL, with the row
--    count of the transition table the FIRST call saw. After one-row updates, a later
--    50,000-row update joined new_rows to old_rows with a nested loop: 50,000 x 50,000 compares
--    (measured on main at 200,000 assignments, same backend: 5,000 assignments updated in 0.53 s
--    on a fresh connection, 4.87 s after three one-row updates). The many-row paths now run
--    those statements with EXECUTE: planned for the rows they have, a fraction of a millisecond
--    for statements that take tens of milliseconds to seconds. So do the contact rename (a
--    rename of one contact is rare: it pays that planning) and the activities' date check on
--    UPDATE. tests/integration/test_trigger_plans.py.

-- Activities registered. One assignment: lock it and read its date, start and organization's
-- today in one statement; check the dates (the check trigger did this before); write the baseline
-- and move the date only when they apply. Several: as in 20261206010000, with the check first.
CREATE OR REPLACE FUNCTION reminders.activities_after_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    assignments_n bigint;
    one_id bigint;
    first_id bigint;
    earliest date;
    latest date;
    held record;
    registered bigint[];
    ids bigint[];
    days date[];
BEGIN
    SELECT count(DISTINCT n.assignment_id), min(n.assignment_id), min(n.id), min(n.occurred_on),
           max(n.occurred_on)
    INTO assignments_n, one_id, first_id, earliest, latest
    FROM new_rows n;
    IF assignments_n = 0 THEN
        RETURN NULL;  -- an INSERT of no rows
    END IF;

    IF assignments_n = 1 THEN
        -- The lock order's first step (one row: no subtransaction needed), and what the rest
        -- needs: the newest version of the row, read after any writer before us committed.
        SELECT a.last_contact_date, a.starts_on, (now() AT TIME ZONE o.time_zone)::date AS today
        INTO held
        FROM public.assignments a
        JOIN public.organizations o ON o.id = a.organization_id
        WHERE a.id = one_id
        FOR NO KEY UPDATE OF a;
        IF latest > held.today OR earliest < held.starts_on THEN
            SELECT array_agg(n.assignment_id), array_agg(n.occurred_on) INTO ids, days
            FROM new_rows n;
            PERFORM reminders.check_contact_dates(ids, days, 'occurred_on');  -- raises
        END IF;
        -- As the many-row path below: an imported date later than every earlier activity
        -- becomes the baseline.
        IF held.last_contact_date IS NOT NULL THEN
            INSERT INTO reminders.last_contact_baselines
                (assignment_id, contact_date, after_activity_id, source)
            SELECT one_id, held.last_contact_date, coalesce(prev.max_id, 0), 'import'
            FROM (
                SELECT max(act.id) FILTER (WHERE act.id < first_id) AS max_id,
                       max(act.occurred_on) FILTER (WHERE act.id < first_id) AS max_on
                FROM public.activities act
                WHERE act.assignment_id = one_id
            ) prev
            WHERE prev.max_on IS NULL OR held.last_contact_date > prev.max_on
            ON CONFLICT (assignment_id) DO NOTHING;
        END IF;
        IF held.last_contact_date IS DISTINCT FROM greatest(held.last_contact_date, latest) THEN
            UPDATE public.assignments a
            SET last_contact_date = greatest(a.last_contact_date, latest)
            WHERE a.id = one_id;
        END IF;
        RETURN NULL;
    END IF;

    -- Several assignments. The dates first (nothing is held yet), then the statement's
    -- assignments, held all or none in id order: registrations sharing assignments take turns,
    -- for the baselines' unique key as for the date.
    SELECT array_agg(n.assignment_id), array_agg(n.occurred_on) INTO ids, days FROM new_rows n;
    PERFORM reminders.check_contact_dates(ids, days, 'occurred_on');
    SELECT array_agg(DISTINCT n.assignment_id) INTO registered FROM new_rows n;
    PERFORM reminders.hold_rows('public.assignments', registered, 'NO KEY UPDATE');
    -- A date set on the assignment by other means (seed, import) that is later than every
    -- activity registered before this statement becomes its baseline, so that a later delete
    -- cannot lose it. "Before" is "a smaller id than this statement's first row for it".
    EXECUTE $sql$
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
    ON CONFLICT (assignment_id) DO NOTHING
    $sql$;
    -- The assignments whose date moves (none: no UPDATE, so no update trigger either).
    EXECUTE $sql$
    UPDATE public.assignments a
    SET last_contact_date = greatest(a.last_contact_date, n.latest)
    FROM (SELECT assignment_id, max(occurred_on) AS latest FROM new_rows GROUP BY assignment_id) n
    WHERE a.id = n.assignment_id
      AND a.last_contact_date IS DISTINCT FROM greatest(a.last_contact_date, n.latest)
    $sql$;
    RETURN NULL;
END
$$;

-- The date check of an INSERT is in activities_after_insert now; UPDATEs keep their trigger,
-- planned for the rows they have (it joins the two transition tables).
DROP TRIGGER activities_check_dates_on_insert ON public.activities;

CREATE OR REPLACE FUNCTION reminders.activities_check_dates() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    ids bigint[];
    days date[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Only rows whose date or assignment changed: an old row edited for its note stands.
        EXECUTE $sql$
        SELECT array_agg(n.assignment_id), array_agg(n.occurred_on)
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.assignment_id, n.occurred_on) IS DISTINCT FROM (o.assignment_id, o.occurred_on)
        $sql$ INTO ids, days;
    ELSE
        SELECT array_agg(n.assignment_id), array_agg(n.occurred_on) INTO ids, days
        FROM new_rows n;
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM reminders.check_contact_dates(ids, days, 'occurred_on');
    END IF;
    RETURN NULL;
END
$$;

-- Assignments updated. One row: compare its two versions in PL/pgSQL, recompute its due rows
-- here (the lock order of refresh_assignment_due: the assignment, then its contact), resolve the
-- notifications of the gap it closed. Several: as in 20261206010000, planned for their number.
CREATE OR REPLACE FUNCTION reminders.assignment_due_after_update() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    n record;
    o record;
    changed bigint[];
    closed bigint[];
    moved boolean;
BEGIN
    -- the first new row, and how many there are (a plan that does not depend on their number)
    SELECT count(*) OVER () AS rows_n, x.* INTO n FROM new_rows x;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    IF n.rows_n = 1 THEN
        SELECT x.* INTO o FROM old_rows x;
        IF (n.last_contact_date, n.starts_on, n.ends_on, n.status, n.organization_id, n.contact_id)
           IS NOT DISTINCT FROM
           (o.last_contact_date, o.starts_on, o.ends_on, o.status, o.organization_id, o.contact_id)
        THEN
            RETURN NULL;
        END IF;
        -- moved to another organization: hold it first (see the many-row path)
        IF n.organization_id <> o.organization_id THEN
            PERFORM FROM public.organizations g WHERE g.id = n.organization_id FOR SHARE;
        END IF;
        -- refresh_assignment_due for one assignment: this UPDATE holds the assignment already
        -- (the first step of the lock order), so its contact is next
        PERFORM FROM public.contacts c WHERE c.id = n.contact_id FOR SHARE;
        DELETE FROM reminders.assignment_due WHERE assignment_id = n.id;
        INSERT INTO reminders.assignment_due (
            assignment_id, kind, gap_started_on, due_on, contact_first_name, contact_last_name
        )
        SELECT e.assignment_id, e.kind, e.gap_started_on, e.due_on, e.contact_first_name,
               e.contact_last_name
        FROM reminders.assignment_due_expected e
        WHERE e.assignment_id = n.id;
        IF o.status = 'active'
           AND (n.status <> 'active'
                OR coalesce(n.last_contact_date, n.starts_on)
                   <> coalesce(o.last_contact_date, o.starts_on))
           AND EXISTS (SELECT FROM reminders.reminder_dispatches r
                       WHERE r.assignment_id = o.id
                         AND r.gap_started_on = coalesce(o.last_contact_date, o.starts_on)) THEN
            -- the gap that was open until now closed, and it had reminders (see the many-row
            -- path)
            UPDATE public.notifications nt
            SET resolved_at = now()
            FROM (
                SELECT r.id
                FROM reminders.reminder_dispatches r
                WHERE r.assignment_id = o.id
                  AND r.gap_started_on = coalesce(o.last_contact_date, o.starts_on)
                FOR KEY SHARE OF r SKIP LOCKED
            ) r
            WHERE nt.dispatch_id = r.id
              AND nt.resolved_at IS NULL;
        END IF;
        RETURN NULL;
    END IF;

    EXECUTE $sql$
    SELECT array_agg(n.id), bool_or(n.organization_id <> o.organization_id),
           array_agg(n.id) FILTER (
               WHERE o.status = 'active'
                 AND (n.status <> 'active'
                      OR coalesce(n.last_contact_date, n.starts_on)
                         <> coalesce(o.last_contact_date, o.starts_on)))
    FROM new_rows n
    JOIN old_rows o ON o.id = n.id
    WHERE (n.last_contact_date, n.starts_on, n.ends_on, n.status, n.organization_id, n.contact_id)
          IS DISTINCT FROM
          (o.last_contact_date, o.starts_on, o.ends_on, o.status, o.organization_id, o.contact_id)
    $sql$ INTO changed, moved, closed;
    IF changed IS NULL THEN
        RETURN NULL;
    END IF;
    -- An assignment moved to another organization takes that organization's thresholds: hold
    -- it FOR SHARE, so that a threshold change in flight commits first (its recompute did not
    -- see this assignment) or waits for this one.
    IF moved THEN
        EXECUTE $sql$
        SELECT FROM public.organizations g
        WHERE g.id IN (SELECT n.organization_id FROM new_rows n JOIN old_rows o ON o.id = n.id
                       WHERE n.organization_id <> o.organization_id)
        ORDER BY g.id
        FOR SHARE
        $sql$;
    END IF;
    PERFORM reminders.refresh_assignment_due(changed);
    IF closed IS NOT NULL THEN
        -- Only the reminders of the gap that was open until now: earlier gaps were resolved
        -- when they closed. Two probes of the ledger's unique key per assignment.
        -- A ledger row being deleted (retention, a repair) is skipped: its notification goes
        -- with it, and waiting for that delete could close a cycle (it waits for these
        -- assignments to recompute the index).
        EXECUTE $sql$
        UPDATE public.notifications nt
        SET resolved_at = now()
        FROM (
            SELECT r.id
            FROM old_rows o
            JOIN reminders.reminder_dispatches r
              ON r.assignment_id = o.id
             AND r.gap_started_on = coalesce(o.last_contact_date, o.starts_on)
            WHERE o.id = ANY ($1)
            FOR KEY SHARE OF r SKIP LOCKED
        ) r
        WHERE nt.dispatch_id = r.id
          AND nt.resolved_at IS NULL
        $sql$ USING closed;
    END IF;
    RETURN NULL;
END
$$;

-- Contacts renamed: as in 20261206010000, planned for the rows the statement has.
CREATE OR REPLACE FUNCTION reminders.assignment_due_after_contact_rename() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    renamed bigint[];
BEGIN
    EXECUTE $sql$
    SELECT array_agg(n.id)
    FROM new_rows n
    JOIN old_rows o ON o.id = n.id
    WHERE (n.first_name, n.last_name) IS DISTINCT FROM (o.first_name, o.last_name)
    $sql$ INTO renamed;
    IF renamed IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE $sql$
    UPDATE reminders.assignment_due d
    SET contact_first_name = n.first_name, contact_last_name = n.last_name
    FROM new_rows n
    JOIN public.assignments a ON a.contact_id = n.id
    WHERE n.id = ANY ($1)
      AND d.assignment_id = a.id
      AND (d.contact_first_name, d.contact_last_name) IS DISTINCT FROM (n.first_name, n.last_name)
    $sql$ USING renamed;
    RETURN NULL;
END
$$;

-- New assignments: as in 20261206010000 (their organizations and contacts held FOR SHARE before
-- their rows are read from the view). One row: the key's own statements, both locks in one (the
-- organization first, as below). Several: planned for their number (after an import of 20,000
-- assignments on a connection, each one-row insert on it took 59 ms instead of 0.74: it reused
-- the import's hash join over the whole of `assignments`).
CREATE OR REPLACE FUNCTION reminders.assignment_due_after_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    n record;
BEGIN
    -- the first new row, and how many there are (a plan that does not depend on their number)
    SELECT count(*) OVER () AS rows_n, x.* INTO n FROM new_rows x;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF n.rows_n = 1 THEN
        PERFORM FROM public.organizations g, public.contacts c
        WHERE g.id = n.organization_id AND c.id = n.contact_id
        FOR SHARE;
        INSERT INTO reminders.assignment_due (
            assignment_id, kind, gap_started_on, due_on, contact_first_name, contact_last_name
        )
        SELECT e.assignment_id, e.kind, e.gap_started_on, e.due_on, e.contact_first_name,
               e.contact_last_name
        FROM reminders.assignment_due_expected e
        WHERE e.assignment_id = n.id;
        RETURN NULL;
    END IF;

    EXECUTE $sql$
    SELECT FROM public.organizations g
    WHERE g.id IN (SELECT n.organization_id FROM new_rows n)
    ORDER BY g.id
    FOR SHARE
    $sql$;
    PERFORM reminders.hold_rows('public.contacts',
        ARRAY(SELECT DISTINCT x.contact_id FROM new_rows x), 'SHARE');
    EXECUTE $sql$
    INSERT INTO reminders.assignment_due (
        assignment_id, kind, gap_started_on, due_on, contact_first_name, contact_last_name
    )
    SELECT e.assignment_id, e.kind, e.gap_started_on, e.due_on, e.contact_first_name,
           e.contact_last_name
    FROM new_rows n
    JOIN reminders.assignment_due_expected e ON e.assignment_id = n.id
    $sql$;
    RETURN NULL;
END
$$;
