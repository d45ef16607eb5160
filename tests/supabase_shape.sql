-- What a Supabase project has before anyone installs anything into it, for the test suite.
--
-- Written from how supabase/postgres initialises a database (migrations/db/init-scripts and the
-- demote-postgres migration): the API roles, a `postgres` that is NOT a superuser (here
-- `project_postgres`, since the embedded server's superuser already has the name `postgres`),
-- the default privileges that hand everything new in `public` to the API roles, the `auth`
-- helpers reading the claims PostgREST sets, the empty `supabase_realtime` publication, and a
-- host application's own objects that installing us must leave exactly as they are.
--
-- Run by a superuser in a fresh database; the roles are cluster-wide, so they are created once.

DO $roles$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'supabase_admin') THEN
        CREATE ROLE supabase_admin SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
        CREATE ROLE authenticator LOGIN NOINHERIT;
    END IF;
    -- Supabase's `postgres` after demote-postgres: no superuser.
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'project_postgres') THEN
        CREATE ROLE project_postgres LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
    END IF;
END
$roles$;

GRANT anon, authenticated, service_role TO authenticator;
-- grant_auth_roles_to_postgres, grant_pg_monitor_to_postgres
GRANT anon, authenticated, service_role TO project_postgres;
GRANT pg_monitor TO project_postgres;

ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';
ALTER ROLE authenticator SET statement_timeout = '8s';

-- postgres owns the database (and so, on PostgreSQL 15+, schema public).
DO $owner$
BEGIN
    EXECUTE format('ALTER DATABASE %I OWNER TO project_postgres', current_database());
END
$owner$;

GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
-- Everything postgres (or supabase_admin) creates in public is granted to the API roles.
ALTER DEFAULT PRIVILEGES FOR ROLE project_postgres IN SCHEMA public
    GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE project_postgres IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE project_postgres IN SCHEMA public
    GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT ALL ON TABLES TO project_postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO project_postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT ALL ON SEQUENCES TO project_postgres, anon, authenticated, service_role;

CREATE SCHEMA extensions AUTHORIZATION supabase_admin;
GRANT USAGE ON SCHEMA extensions TO project_postgres, anon, authenticated, service_role;
GRANT ALL ON SCHEMA extensions TO project_postgres;

-- GoTrue's helpers: the single claim settings first (older PostgREST), then the claims object.
CREATE SCHEMA auth AUTHORIZATION supabase_admin;
GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
GRANT ALL ON SCHEMA auth TO project_postgres;

-- The columns of GoTrue's auth.users that apps and the docs use: raw_app_meta_data becomes the
-- access token's app_metadata claim (only the service side writes it), raw_user_meta_data its
-- user_metadata (the user may change it).
CREATE TABLE auth.users (
    id                 uuid PRIMARY KEY,
    email              text,
    raw_app_meta_data  jsonb,
    raw_user_meta_data jsonb,
    created_at         timestamptz DEFAULT now()
);
ALTER TABLE auth.users OWNER TO supabase_admin;

CREATE FUNCTION auth.jwt() RETURNS jsonb
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$$;
CREATE FUNCTION auth.uid() RETURNS uuid
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$$;
CREATE FUNCTION auth.role() RETURNS text
    LANGUAGE sql STABLE
AS $$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$$;
ALTER FUNCTION auth.jwt() OWNER TO supabase_admin;
ALTER FUNCTION auth.uid() OWNER TO supabase_admin;
ALTER FUNCTION auth.role() OWNER TO supabase_admin;
GRANT EXECUTE ON FUNCTION auth.jwt(), auth.uid(), auth.role()
    TO project_postgres, anon, authenticated, service_role;
GRANT ALL ON auth.users TO project_postgres;

-- Realtime streams the tables in this publication (empty until someone adds one).
CREATE PUBLICATION supabase_realtime;
ALTER PUBLICATION supabase_realtime OWNER TO project_postgres;

-- The host application's own objects, made the way its developers make them: as postgres, with
-- the default privileges above doing the granting.
SET ROLE project_postgres;

CREATE TABLE public.profiles (
    id           uuid PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    display_name text NOT NULL
);
ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
CREATE POLICY profiles_read_own ON public.profiles FOR SELECT TO authenticated
    USING ((SELECT auth.uid()) = id);

CREATE VIEW public.profile_names WITH (security_invoker = true) AS
    SELECT id, display_name FROM public.profiles;

CREATE FUNCTION public.profile_count() RETURNS bigint
    LANGUAGE sql STABLE
AS $$ SELECT count(*) FROM public.profiles $$;

CREATE SEQUENCE public.invoice_numbers;

RESET ROLE;
