-- What the app's users read, and who they are.
--
-- Reads. A signed-in user (role authenticated) reads:
--   * as a peer mentor: their own peer_mentors row, their organization, and the contacts of the
--     assignments they see (their own, and those of a mentor they stand in for today);
--   * as a coordinator: their organization, its coordinators, its peer mentors and its contacts;
--   * nothing of another organization; anon reads nothing.
-- A user is a mentor or coordinator by their row (peer_mentors.user_id / coordinators.user_id =
-- auth.uid()), as in every other policy; app_metadata.role is the HTTP API's business.
-- Each policy compares the row's key with ONE array computed once per statement (an InitPlan),
-- like the assignments policy, so a read is index lookups whatever the table's size. The helpers
-- are SECURITY DEFINER in schema reminders (not exposed); authenticated may EXECUTE them only so
-- that its policies can. One permissive policy per table and command (Security Advisor 0006).
--
-- Users. coordinators.user_id and peer_mentors.user_id are the person's Supabase Auth user: where
-- auth.users exists they reference it, ON DELETE RESTRICT (deleting the login of someone who is
-- still a mentor or coordinator fails, naming the constraint: their assignments and reminders
-- must not vanish with a login; delete or reassign the row first). The random default goes: a
-- made-up user id matches no login. reminders.delivery_preferences.user_id references it too,
-- ON DELETE CASCADE: a person's channel choices go with their login.

-- A coordinator belongs to one organization (coordinators.user_id is unique): each helper below
-- reads it from reminders.rls_coordinated_organization_ids(), NULL for everyone else.

-- Organizations the caller belongs to: as a coordinator or as a peer mentor.
CREATE FUNCTION reminders.rls_readable_organizations() RETURNS bigint[]
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = ''
AS $$
    SELECT ARRAY(
        SELECT c.organization_id FROM public.coordinators c WHERE c.user_id = (SELECT auth.uid())
        UNION
        SELECT pm.organization_id FROM public.peer_mentors pm
        WHERE pm.user_id = (SELECT auth.uid()))
$$;

-- The coordinators of the organization the caller coordinates; empty for everyone else.
CREATE FUNCTION reminders.rls_readable_coordinators() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    org bigint := (SELECT o FROM reminders.rls_coordinated_organization_ids() o);
BEGIN
    IF org IS NULL THEN
        RETURN '{}';
    END IF;
    RETURN ARRAY(SELECT c.id FROM public.coordinators c WHERE c.organization_id = org);
END
$$;

-- The caller's own peer_mentors row, and every mentor of the organization they coordinate.
CREATE FUNCTION reminders.rls_readable_peer_mentors() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    org bigint := (SELECT o FROM reminders.rls_coordinated_organization_ids() o);
    own bigint[] := ARRAY(SELECT pm.id FROM public.peer_mentors pm
                          WHERE pm.user_id = auth.uid());
BEGIN
    IF org IS NULL THEN
        RETURN own;
    END IF;
    RETURN own || ARRAY(SELECT pm.id FROM public.peer_mentors pm WHERE pm.organization_id = org);
END
$$;

-- The contacts of the assignments the caller acts on as a mentor (or stand-in), and every
-- contact of the organization they coordinate. An id may appear twice.
CREATE FUNCTION reminders.rls_readable_contacts() RETURNS bigint[]
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = ''
AS $$
DECLARE
    org bigint := (SELECT o FROM reminders.rls_coordinated_organization_ids() o);
    mentors bigint[] := ARRAY(SELECT reminders.rls_acting_mentor_ids());
    found bigint[] := '{}';
BEGIN
    IF org IS NOT NULL THEN
        found := ARRAY(SELECT ct.id FROM public.contacts ct WHERE ct.organization_id = org);
    END IF;
    IF cardinality(mentors) > 0 THEN
        found := found || ARRAY(SELECT a.contact_id FROM public.assignments a
                                 WHERE a.peer_mentor_id = ANY (mentors));
    END IF;
    RETURN found;
END
$$;

-- Index-only scans for a coordinator's arrays, as for assignments (the plain organization_id
-- indexes stay for the foreign keys and the run's own queries).
CREATE INDEX contacts_organization_id_id_idx ON public.contacts (organization_id, id);
CREATE INDEX peer_mentors_organization_id_id_idx ON public.peer_mentors (organization_id, id);

REVOKE EXECUTE ON FUNCTION reminders.rls_readable_organizations(),
    reminders.rls_readable_coordinators(), reminders.rls_readable_peer_mentors(),
    reminders.rls_readable_contacts()
    FROM PUBLIC, anon;
GRANT EXECUTE ON FUNCTION reminders.rls_readable_organizations(),
    reminders.rls_readable_coordinators(), reminders.rls_readable_peer_mentors(),
    reminders.rls_readable_contacts()
    TO authenticated, service_role;

GRANT SELECT ON public.organizations, public.coordinators, public.peer_mentors, public.contacts
    TO authenticated;

CREATE POLICY organizations_select ON public.organizations FOR SELECT TO authenticated
    USING (id = ANY ((SELECT reminders.rls_readable_organizations())::bigint[]));
CREATE POLICY coordinators_select ON public.coordinators FOR SELECT TO authenticated
    USING (id = ANY ((SELECT reminders.rls_readable_coordinators())::bigint[]));
CREATE POLICY peer_mentors_select ON public.peer_mentors FOR SELECT TO authenticated
    USING (id = ANY ((SELECT reminders.rls_readable_peer_mentors())::bigint[]));
CREATE POLICY contacts_select ON public.contacts FOR SELECT TO authenticated
    USING (id = ANY ((SELECT reminders.rls_readable_contacts())::bigint[]));

ALTER TABLE public.coordinators ALTER COLUMN user_id DROP DEFAULT;
ALTER TABLE public.peer_mentors ALTER COLUMN user_id DROP DEFAULT;

-- A plain PostgreSQL has no auth.users (only the auth.uid()/auth.jwt() helpers): no reference.
DO $users$
BEGIN
    IF to_regclass('auth.users') IS NOT NULL THEN
        ALTER TABLE public.coordinators ADD CONSTRAINT coordinators_user_id_fkey
            FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE RESTRICT;
        ALTER TABLE public.peer_mentors ADD CONSTRAINT peer_mentors_user_id_fkey
            FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE RESTRICT;
        ALTER TABLE reminders.delivery_preferences ADD CONSTRAINT delivery_preferences_user_id_fkey
            FOREIGN KEY (user_id) REFERENCES auth.users (id) ON DELETE CASCADE;
    END IF;
END
$users$;
