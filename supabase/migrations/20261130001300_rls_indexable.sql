-- Policies whose plans stay index scans whatever the data looks like.
--
-- Measured at 100k assignments, `peer_mentor_id = ANY (…) OR organization_id = ANY (…)` made the
-- planner read the whole table for a mentor: it cannot know the arrays' sizes, and an
-- organization id is not selective when there are few organizations (one, for a single-tenant
-- install), so the OR looked like half the table. The set-returning helpers, planned once for
-- every caller, also scanned assignments by organization for mentors.
--
-- Now a policy matches a key against ONE array, computed once per statement (an InitPlan):
--   id = ANY ((SELECT reminders.rls_accessible_assignments())::bigint[])
-- which the planner estimates as a few rows whatever the data, so a mentor's read is a few index
-- lookups and a coordinator's page walks the primary key in order. The helpers are PL/pgSQL and
-- return arrays: each branch runs only for the callers it concerns (a mentor never scans an
-- organization), and an organization's ids come from an index-only scan straight into the array.

-- Assignments of the organization the caller coordinates (a coordinator belongs to one
-- organization: coordinators.user_id is unique); empty for everyone else.
CREATE FUNCTION reminders.rls_coordinated_assignments() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    org bigint := (SELECT c.organization_id FROM public.coordinators c
                   WHERE c.user_id = auth.uid());
BEGIN
    IF org IS NULL THEN
        RETURN '{}';
    END IF;
    RETURN ARRAY(SELECT a.id FROM public.assignments a WHERE a.organization_id = org);
END
$$;

-- Assignments the caller may see: their organization's if they coordinate one, and those of the
-- mentors they act for (themselves, and whoever they stand in for today). An id may appear twice.
CREATE FUNCTION reminders.rls_accessible_assignments() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    mentors bigint[] := ARRAY(SELECT reminders.rls_acting_mentor_ids());
BEGIN
    IF cardinality(mentors) = 0 THEN
        RETURN reminders.rls_coordinated_assignments();
    END IF;
    RETURN reminders.rls_coordinated_assignments()
        || ARRAY(SELECT a.id FROM public.assignments a WHERE a.peer_mentor_id = ANY (mentors));
END
$$;

-- Dispatches (so notifications) of the organization the caller coordinates.
CREATE FUNCTION reminders.rls_coordinated_dispatches() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    org bigint := (SELECT c.organization_id FROM public.coordinators c
                   WHERE c.user_id = auth.uid());
BEGIN
    IF org IS NULL THEN
        RETURN '{}';
    END IF;
    RETURN ARRAY(SELECT d.id FROM reminders.reminder_dispatches d WHERE d.organization_id = org);
END
$$;

REVOKE EXECUTE ON FUNCTION reminders.rls_accessible_assignments(),
    reminders.rls_coordinated_assignments(), reminders.rls_coordinated_dispatches()
    FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION reminders.rls_accessible_assignments(),
    reminders.rls_coordinated_assignments(), reminders.rls_coordinated_dispatches()
    TO authenticated, service_role;

-- Index-only scans for the organization branches (the plain organization_id index on
-- assignments stays for the foreign key and the run's own queries).
CREATE INDEX assignments_organization_id_id_idx ON public.assignments (organization_id, id);
CREATE INDEX reminder_dispatches_organization_id_id_idx
    ON reminders.reminder_dispatches (organization_id, id);
DROP INDEX reminders.reminder_dispatches_organization_id_idx;

DROP POLICY assignments_select ON public.assignments;
CREATE POLICY assignments_select ON public.assignments FOR SELECT TO authenticated
    USING (id = ANY ((SELECT reminders.rls_accessible_assignments())::bigint[]));

DROP POLICY activities_select ON public.activities;
DROP POLICY activities_insert ON public.activities;
DROP POLICY activities_update ON public.activities;
DROP POLICY activities_delete ON public.activities;
CREATE POLICY activities_select ON public.activities FOR SELECT TO authenticated
    USING (assignment_id = ANY ((SELECT reminders.rls_accessible_assignments())::bigint[]));
CREATE POLICY activities_insert ON public.activities FOR INSERT TO authenticated
    WITH CHECK (assignment_id = ANY ((SELECT reminders.rls_accessible_assignments())::bigint[])
                AND registered_by = (SELECT auth.uid())
                AND (registration_path IN ('direct', 'proxy', 'bulk')
                     OR (registration_path = 'coordinator_proxy'
                         AND assignment_id = ANY (
                             (SELECT reminders.rls_coordinated_assignments())::bigint[]))));
CREATE POLICY activities_update ON public.activities FOR UPDATE TO authenticated
    USING (assignment_id = ANY ((SELECT reminders.rls_accessible_assignments())::bigint[]))
    WITH CHECK (assignment_id = ANY ((SELECT reminders.rls_accessible_assignments())::bigint[]));
CREATE POLICY activities_delete ON public.activities FOR DELETE TO authenticated
    USING (assignment_id = ANY ((SELECT reminders.rls_accessible_assignments())::bigint[]));

DROP POLICY notifications_select ON public.notifications;
CREATE POLICY notifications_select ON public.notifications FOR SELECT TO authenticated
    USING (recipient_user_id = (SELECT auth.uid())
           OR dispatch_id = ANY ((SELECT reminders.rls_coordinated_dispatches())::bigint[]));

DROP FUNCTION reminders.rls_accessible_assignment_ids();
DROP FUNCTION reminders.rls_coordinated_assignment_ids();
DROP FUNCTION reminders.rls_coordinated_dispatch_ids();
