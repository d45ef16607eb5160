-- Contact dates the database enforces, for every writer.
--
-- An activity's occurred_on may not be after its organization's calendar day today, nor before
-- its assignment's starts_on; the same holds for an admin correction of last_contact_date. Until
-- now only the API checked this, so a client writing through RLS, service_role, plain SQL or a
-- bulk load could date a contact 9999-12-31 and silence an assignment's reminders for good.
--
-- The check is a statement-level trigger over the transition table (one set-based query per
-- statement, however many rows), named so that it fires before the triggers that move
-- last_contact_date. A refusal is SQLSTATE 23514 (check_violation) with the rule's name as the
-- constraint name and the column name, which the service maps to 422 without reading the text:
--   contact_date_not_in_future      the date is after the organization's today
--   contact_date_not_before_start   the date is before the assignment's starts_on
-- "Today" is the transaction's now() in the organization's time zone.

-- The first offending row of a set of (assignment, date) pairs, raised as a check violation.
CREATE FUNCTION reminders.check_contact_dates(p_assignment_ids bigint[], p_dates date[],
                                              p_column text)
    RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = ''
AS $$
DECLARE
    bad record;
BEGIN
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

-- SECURITY DEFINER: a client inserting under RLS cannot read organizations itself.
CREATE FUNCTION reminders.activities_check_dates() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    ids bigint[];
    days date[];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- Only rows whose date or assignment changed: an old row edited for its note stands.
        SELECT array_agg(n.assignment_id), array_agg(n.occurred_on) INTO ids, days
        FROM new_rows n JOIN old_rows o ON o.id = n.id
        WHERE (n.assignment_id, n.occurred_on) IS DISTINCT FROM (o.assignment_id, o.occurred_on);
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

CREATE TRIGGER activities_check_dates_on_insert
    AFTER INSERT ON public.activities
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.activities_check_dates();
CREATE TRIGGER activities_check_dates_on_update
    AFTER UPDATE ON public.activities
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reminders.activities_check_dates();

REVOKE EXECUTE ON FUNCTION reminders.check_contact_dates(bigint[], date[], text),
    reminders.activities_check_dates()
    FROM PUBLIC, anon, authenticated;
-- set_last_contact_date runs as its caller (the service), which needs the check too.
GRANT EXECUTE ON FUNCTION reminders.check_contact_dates(bigint[], date[], text) TO service_role;

-- Admin corrections: the same rule, checked before anything is written.
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
    PERFORM reminders.check_contact_dates(ARRAY[p_assignment_id], ARRAY[p_date],
                                          'last_contact_date');
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
