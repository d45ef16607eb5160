-- The migration history (migrations.py): the Supabase CLI's ledger, our checksums beside it.

-- name: migration_lock
-- Concurrent `migrate` commands serialize here (registered in background_job_lock_keys).
SELECT pg_advisory_xact_lock(%(lock_key)s)

-- name: migration_ledger_ddl
-- What the Supabase CLI runs before it reads or writes its history (same shape, same names).
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (
    version text NOT NULL PRIMARY KEY
);
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[];
ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text;
CREATE SCHEMA IF NOT EXISTS reminders;
REVOKE ALL ON SCHEMA reminders FROM PUBLIC;
CREATE TABLE IF NOT EXISTS reminders.migration_checksums (
    version    text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE reminders.migration_checksums ENABLE ROW LEVEL SECURITY;

-- name: migration_histories
-- Which histories exist: the shared ledger (none before the first push or migrate), our checksums
-- (none until `reminders migrate` first ran).
SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL AS ledger,
       to_regclass('reminders.migration_checksums') IS NOT NULL AS checksums

-- name: migration_ledger
SELECT m.version,
       (SELECT c.checksum FROM reminders.migration_checksums c WHERE c.version = m.version)
           AS checksum
FROM supabase_migrations.schema_migrations m

-- name: migration_ledger_without_checksums
SELECT m.version, NULL::text AS checksum FROM supabase_migrations.schema_migrations m

-- name: migration_is_applied
SELECT 1 AS applied FROM supabase_migrations.schema_migrations WHERE version = %(version)s

-- name: migration_record
INSERT INTO supabase_migrations.schema_migrations (version, name, statements)
VALUES (%(version)s, %(name)s, %(statements)s::text[])

-- name: migration_record_checksum
INSERT INTO reminders.migration_checksums (version, checksum)
VALUES (%(version)s, %(checksum)s)
ON CONFLICT (version) DO UPDATE SET checksum = excluded.checksum, applied_at = excluded.applied_at

-- name: migration_record_cli_checksum
-- A file first seen as applied by the Supabase CLI: its checksum as it is now.
INSERT INTO reminders.migration_checksums (version, checksum) VALUES (%(version)s, %(checksum)s)

-- name: migration_existing_objects
-- The pre-flight (preflight.py): which of the objects the pending files create exist already,
-- by their position (1-based) in the arrays. A schema that holds our migration checksums is ours.
SELECT o.ord
FROM unnest(%(catalogs)s::text[], %(schemas)s::text[], %(names)s::text[])
     WITH ORDINALITY AS o (catalog, schema_name, object_name, ord)
WHERE CASE o.catalog
    WHEN 'relation' THEN EXISTS (
        SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = o.schema_name AND c.relname = o.object_name)
    WHEN 'routine' THEN EXISTS (
        SELECT FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = o.schema_name AND p.proname = o.object_name)
    WHEN 'type' THEN EXISTS (
        SELECT FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = o.schema_name AND t.typname = o.object_name)
    WHEN 'schema' THEN EXISTS (
        SELECT FROM pg_catalog.pg_namespace n
        WHERE n.nspname = o.object_name
          AND NOT EXISTS (SELECT FROM pg_catalog.pg_class c
                          WHERE c.relnamespace = n.oid AND c.relname = 'migration_checksums'))
    END
ORDER BY o.ord
