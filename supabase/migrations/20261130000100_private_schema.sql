-- The service's internal objects move out of `public` into a schema of their own.
--
-- `public` is exposed by Supabase's Data API (PostgREST): every table there that a role has grants
-- on is reachable, and every function there that a role may EXECUTE is an RPC endpoint. The
-- execution log, the dispatch ledger, deliveries, alerts, corrections, baselines, stand-ins, the
-- lock-key registry and our helper functions are nobody's business but the service's, so they live
-- in `reminders`, which is not in the exposed schemas. `public` keeps what app users read and write
-- through RLS: organizations, coordinators, peer_mentors, contacts, assignments, activities and
-- notifications.
--
-- ALTER ... SET SCHEMA keeps every row, index, constraint, identity sequence, grant and trigger.
-- Function bodies name tables as text, so those that name a moved table are replaced below.

CREATE SCHEMA IF NOT EXISTS reminders;
REVOKE ALL ON SCHEMA reminders FROM PUBLIC;
GRANT USAGE ON SCHEMA reminders TO service_role;
COMMENT ON SCHEMA reminders IS
    'assignment-reminders: internal tables and helpers; not exposed by the Data API.';

ALTER TABLE public.cron_execution_logs      SET SCHEMA reminders;
ALTER TABLE public.reminder_dispatches      SET SCHEMA reminders;
ALTER TABLE public.reminder_deliveries      SET SCHEMA reminders;
ALTER TABLE public.delivery_preferences     SET SCHEMA reminders;
ALTER TABLE public.monitoring_alerts        SET SCHEMA reminders;
ALTER TABLE public.background_job_lock_keys SET SCHEMA reminders;
ALTER TABLE public.last_contact_corrections SET SCHEMA reminders;
ALTER TABLE public.last_contact_baselines   SET SCHEMA reminders;
ALTER TABLE public.mentor_stand_ins         SET SCHEMA reminders;

ALTER FUNCTION public.is_valid_time_zone(text)                  SET SCHEMA reminders;
ALTER FUNCTION public.reminders_try_advisory_lock(bigint)       SET SCHEMA reminders;
ALTER FUNCTION public.reminders_advisory_unlock(bigint)         SET SCHEMA reminders;
ALTER FUNCTION public.reminders_try_advisory_xact_lock(bigint)  SET SCHEMA reminders;
ALTER FUNCTION public.reminders_lock_holder(bigint)             SET SCHEMA reminders;
ALTER FUNCTION public.computed_last_contact_dates(bigint[])     SET SCHEMA reminders;
ALTER FUNCTION public.activities_after_insert()                 SET SCHEMA reminders;
ALTER FUNCTION public.activities_after_change()                 SET SCHEMA reminders;
ALTER FUNCTION public.set_last_contact_date(bigint, date, text, uuid, text, text, timestamptz)
    SET SCHEMA reminders;
ALTER FUNCTION public.rls_can_access_assignment(bigint)         SET SCHEMA reminders;
ALTER FUNCTION public.rls_coordinates_organization(bigint)      SET SCHEMA reminders;
ALTER FUNCTION public.rls_coordinates_assignment(bigint)        SET SCHEMA reminders;
ALTER FUNCTION public.rls_coordinates_dispatch(bigint)          SET SCHEMA reminders;

-- Bodies that name a moved table (same signatures, owners, grants and SECURITY settings).

CREATE OR REPLACE FUNCTION reminders.computed_last_contact_dates(p_assignment_ids bigint[])
    RETURNS TABLE (assignment_id bigint, last_contact_date date)
    LANGUAGE sql STABLE
    SET search_path = ''
AS $$
    SELECT t.id,
           CASE WHEN b.assignment_id IS NULL THEN x.latest_all
                ELSE greatest(b.contact_date, x.latest_after) END
    FROM (SELECT DISTINCT unnest(p_assignment_ids) AS id) t
    LEFT JOIN reminders.last_contact_baselines b ON b.assignment_id = t.id
    CROSS JOIN LATERAL (
        SELECT max(act.occurred_on) AS latest_all,
               max(act.occurred_on) FILTER (WHERE act.id > coalesce(b.after_activity_id, 0))
                   AS latest_after
        FROM public.activities act
        WHERE act.assignment_id = t.id
    ) x
$$;

CREATE OR REPLACE FUNCTION reminders.activities_after_insert() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
BEGIN
    -- A date set on the assignment by other means (seed, import) that is later than every
    -- activity registered before this statement becomes its baseline, so that a later delete
    -- cannot lose it. "Before" is "a smaller id than this statement's first row for it".
    INSERT INTO reminders.last_contact_baselines (assignment_id, contact_date, after_activity_id, source)
    SELECT a.id, a.last_contact_date, coalesce(prev.max_id, 0), 'import'
    FROM (SELECT assignment_id, min(id) AS first_id FROM new_rows GROUP BY assignment_id) n
    JOIN public.assignments a ON a.id = n.assignment_id
    CROSS JOIN LATERAL (
        -- FILTER rather than WHERE: it keeps the planner from answering max(id) by walking the
        -- primary key backwards (measured: 2 ms per assignment instead of microseconds).
        SELECT max(act.id) FILTER (WHERE act.id < n.first_id) AS max_id,
               max(act.occurred_on) FILTER (WHERE act.id < n.first_id) AS max_on
        FROM public.activities act
        WHERE act.assignment_id = a.id
    ) prev
    WHERE a.last_contact_date IS NOT NULL
      AND (prev.max_on IS NULL OR a.last_contact_date > prev.max_on)
    ON CONFLICT (assignment_id) DO NOTHING;

    UPDATE public.assignments a
    SET last_contact_date = greatest(a.last_contact_date, n.latest)
    FROM (SELECT assignment_id, max(occurred_on) AS latest FROM new_rows GROUP BY assignment_id) n
    WHERE a.id = n.assignment_id
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
    -- Lock the assignments first, in id order; the UPDATE below then takes a new snapshot
    -- (READ COMMITTED, a new one per statement), so it sees every activity committed by a
    -- transaction that held one of these rows before us, and cannot undo its move.
    PERFORM FROM public.assignments a WHERE a.id = ANY (touched) ORDER BY a.id FOR UPDATE;
    UPDATE public.assignments a
    SET last_contact_date = c.last_contact_date
    FROM reminders.computed_last_contact_dates(touched) c
    WHERE a.id = c.assignment_id
      AND a.last_contact_date IS DISTINCT FROM c.last_contact_date;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION reminders.set_last_contact_date(
    p_assignment_id bigint, p_date date, p_reason text, p_changed_by uuid,
    p_changed_by_role text, p_changed_by_name text, p_changed_at timestamptz
) RETURNS SETOF reminders.last_contact_corrections
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
DECLARE
    old_date date;
BEGIN
    SELECT a.last_contact_date INTO old_date
    FROM public.assignments a WHERE a.id = p_assignment_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'assignment % does not exist', p_assignment_id
            USING ERRCODE = 'no_data_found';
    END IF;
    INSERT INTO reminders.last_contact_baselines AS b
        (assignment_id, contact_date, after_activity_id, source, set_at)
    VALUES (p_assignment_id, p_date,
            coalesce((SELECT max(id) FROM public.activities WHERE assignment_id = p_assignment_id), 0),
            'admin', p_changed_at)
    ON CONFLICT (assignment_id) DO UPDATE
        SET contact_date = excluded.contact_date, after_activity_id = excluded.after_activity_id,
            source = excluded.source, set_at = excluded.set_at;
    UPDATE public.assignments SET last_contact_date = p_date WHERE id = p_assignment_id;
    RETURN QUERY
    INSERT INTO reminders.last_contact_corrections
        (assignment_id, old_date, new_date, reason, changed_by, changed_by_role, changed_by_name,
         changed_at)
    VALUES (p_assignment_id, old_date, p_date, btrim(p_reason), p_changed_by, p_changed_by_role,
            p_changed_by_name, p_changed_at)
    RETURNING *;
END
$$;

CREATE OR REPLACE FUNCTION reminders.rls_can_access_assignment(p_assignment_id bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = ''
AS $$
    SELECT EXISTS (
        SELECT FROM public.assignments a
        JOIN public.peer_mentors pm ON pm.id = a.peer_mentor_id
        JOIN public.organizations o ON o.id = a.organization_id
        WHERE a.id = p_assignment_id
          AND (pm.user_id = auth.uid()
               OR EXISTS (SELECT FROM public.coordinators c
                          WHERE c.user_id = auth.uid() AND c.organization_id = a.organization_id)
               OR EXISTS (SELECT FROM reminders.mentor_stand_ins s
                          JOIN public.peer_mentors me ON me.id = s.stand_in_id
                          WHERE s.mentor_id = a.peer_mentor_id AND me.user_id = auth.uid()
                            AND s.starts_on <= (now() AT TIME ZONE o.time_zone)::date
                            AND (s.ends_on IS NULL
                                 OR s.ends_on >= (now() AT TIME ZONE o.time_zone)::date)))
    )
$$;

CREATE OR REPLACE FUNCTION reminders.rls_coordinates_dispatch(p_dispatch_id bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = ''
AS $$
    SELECT EXISTS (SELECT FROM reminders.reminder_dispatches d
                   JOIN public.coordinators c ON c.organization_id = d.organization_id
                   WHERE d.id = p_dispatch_id AND c.user_id = auth.uid())
$$;
