-- Registering activities in one statement, and the activity triggers' plans reused (issue 12).
--
-- An API request used to be five statements (who may register, the insert, the new
-- last_contact_date read back, BEGIN, COMMIT), each planned afresh: the server is safe behind
-- transaction poolers only without prepared statements. reminders.register_activities does the
-- same work in one call; PL/pgSQL keeps its plans for the life of the backend, which a pooler
-- does not disturb.
--
-- Its statements, and those of two functions every registration runs through its triggers
-- (check_contact_dates, refresh_assignment_due), take arrays. PostgreSQL plans a statement with
-- an array parameter for the array it is given (a "custom" plan) as long as the plan it could
-- reuse looks dearer, and for a one-element array it always does: each call planned again, 0.1 to
-- 0.3 ms per statement, most of an activity's cost. Up to 1,000 elements they now reuse one plan
-- (index probes per element, which is what the planner picks for such sizes anyway); above it,
-- the planner plans for the array (a hash join for an import of a million rows).
-- refresh_assignment_due becomes PL/pgSQL for the same reason: a LANGUAGE sql function that
-- cannot be inlined is planned on every call.

-- Who may register what, and the registration itself. One row per item, in item order:
--   * when any item is refused, nothing is written and only the refused items come back, each with
--     `refusal`: 'missing' (no such assignment), 'forbidden' (not the caller's by this path),
--     'future' (after the organization's today at p_now) or 'before_start' (before starts_on), and
--     time_zone, today and starts_on to word it;
--   * otherwise every item comes back as the activity written (id, registration_path, ...) with its
--     assignment's last_contact_date after the triggers moved it.
-- Who may register by which path: 'direct' the assignment's mentor; 'proxy' a mentor standing in
-- for it today (mentor_stand_ins); 'bulk' either; 'coordinator_proxy' a coordinator of its
-- organization. The caller's app role is checked before (the service's job: it reads the JWT).
CREATE FUNCTION reminders.register_activities(
    p_path text, p_caller uuid, p_assignment_ids bigint[], p_dates date[], p_notes text[],
    p_now timestamptz
) RETURNS TABLE (
    item integer, refusal text, time_zone text, today date, starts_on date,
    id bigint, assignment_id bigint, occurred_on date, registration_path text,
    registered_by uuid, note text, last_contact_date date
)
    LANGUAGE plpgsql
    SET search_path = ''
    SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    written bigint[];
BEGIN
    IF cardinality(p_assignment_ids) > 1000 THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'auto', true);  -- until we return
    END IF;
    RETURN QUERY
    SELECT i.n::integer, r.refusal, o.time_zone, d.today, a.starts_on,
           NULL::bigint, i.assignment_id, i.occurred_on, NULL::text, NULL::uuid, NULL::text,
           NULL::date
    FROM unnest(p_assignment_ids, p_dates) WITH ORDINALITY AS i (assignment_id, occurred_on, n)
    LEFT JOIN public.assignments a ON a.id = i.assignment_id
    LEFT JOIN public.organizations o ON o.id = a.organization_id
    LEFT JOIN public.peer_mentors pm ON pm.id = a.peer_mentor_id
    CROSS JOIN LATERAL (SELECT (p_now AT TIME ZONE o.time_zone)::date AS today) d
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN a.id IS NULL THEN 'missing'
            WHEN NOT CASE p_path
                WHEN 'direct' THEN pm.user_id = p_caller
                WHEN 'coordinator_proxy' THEN EXISTS (
                    SELECT FROM public.coordinators c
                    WHERE c.user_id = p_caller AND c.organization_id = a.organization_id)
                WHEN 'proxy' THEN EXISTS (
                    SELECT FROM reminders.mentor_stand_ins s
                    JOIN public.peer_mentors me ON me.id = s.stand_in_id
                    WHERE s.mentor_id = a.peer_mentor_id AND me.user_id = p_caller
                      AND s.starts_on <= d.today AND (s.ends_on IS NULL OR s.ends_on >= d.today))
                WHEN 'bulk' THEN pm.user_id = p_caller OR EXISTS (
                    SELECT FROM reminders.mentor_stand_ins s
                    JOIN public.peer_mentors me ON me.id = s.stand_in_id
                    WHERE s.mentor_id = a.peer_mentor_id AND me.user_id = p_caller
                      AND s.starts_on <= d.today AND (s.ends_on IS NULL OR s.ends_on >= d.today))
                ELSE false
            END THEN 'forbidden'
            WHEN i.occurred_on > d.today THEN 'future'
            WHEN i.occurred_on < a.starts_on THEN 'before_start'
        END AS refusal
    ) r
    WHERE r.refusal IS NOT NULL
    ORDER BY i.n;
    IF FOUND THEN
        RETURN;
    END IF;

    -- One statement, so the triggers on activities run once for the whole request.
    WITH inserted AS (
        INSERT INTO public.activities (assignment_id, occurred_on, registration_path,
                                       registered_by, note)
        SELECT i.assignment_id, i.occurred_on, p_path, p_caller, i.note
        FROM unnest(p_assignment_ids, p_dates, p_notes) WITH ORDINALITY
             AS i (assignment_id, occurred_on, note, n)
        ORDER BY i.n
        RETURNING public.activities.id
    )
    SELECT array_agg(inserted.id) INTO written FROM inserted;

    -- A new statement: it sees what the triggers did (last_contact_date moved).
    RETURN QUERY
    SELECT (row_number() OVER (ORDER BY act.id))::integer, NULL::text, NULL::text, NULL::date,
           NULL::date, act.id, act.assignment_id, act.occurred_on, act.registration_path,
           act.registered_by, act.note, a.last_contact_date
    FROM public.activities act
    JOIN public.assignments a ON a.id = act.assignment_id
    WHERE act.id = ANY (written)
    ORDER BY act.id;
END
$$;

-- As in 20261130001000, with its plan reused for up to 1,000 dates.
CREATE OR REPLACE FUNCTION reminders.check_contact_dates(p_assignment_ids bigint[], p_dates date[],
                                                         p_column text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = ''
    SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    bad record;
BEGIN
    IF cardinality(p_assignment_ids) > 1000 THEN
        PERFORM pg_catalog.set_config('plan_cache_mode', 'auto', true);  -- until we return
    END IF;
    SELECT n.assignment_id, n.day, a.starts_on, o.time_zone,
           (now() AT TIME ZONE o.time_zone)::date AS today
    INTO bad
    FROM unnest(p_assignment_ids, p_dates) AS n (assignment_id, day)
    JOIN public.assignments a ON a.id = n.assignment_id
    JOIN public.organizations o ON o.id = a.organization_id
    WHERE n.day > (now() AT TIME ZONE o.time_zone)::date OR n.day < a.starts_on
    ORDER BY n.day > (now() AT TIME ZONE o.time_zone)::date DESC, n.assignment_id
    LIMIT 1;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF bad.day > bad.today THEN
        RAISE EXCEPTION '% is in the future (today is % in %)', bad.day, bad.today, bad.time_zone
            USING ERRCODE = 'check_violation', CONSTRAINT = 'contact_date_not_in_future',
                  COLUMN = p_column, DETAIL = format('assignment %s', bad.assignment_id);
    END IF;
    RAISE EXCEPTION '% is before the assignment started (%)', bad.day, bad.starts_on
        USING ERRCODE = 'check_violation', CONSTRAINT = 'contact_date_not_before_start',
              COLUMN = p_column, DETAIL = format('assignment %s', bad.assignment_id);
END
$$;

-- As in 20261130002000 (the due index), in PL/pgSQL and with its plans reused for up to 1,000
-- assignments: every activity that moves last_contact_date runs it.
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
    INSERT INTO reminders.assignment_due (assignment_id, kind, gap_started_on, due_on)
    SELECT e.assignment_id, e.kind, e.gap_started_on, e.due_on
    FROM reminders.assignment_due_expected e
    WHERE e.assignment_id = ANY (p_assignment_ids);
END
$$;

REVOKE EXECUTE ON FUNCTION
    reminders.register_activities(text, uuid, bigint[], date[], text[], timestamptz)
    FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION
    reminders.register_activities(text, uuid, bigint[], date[], text[], timestamptz)
    TO service_role;
