-- The seed's own SQL (`reminders seed`, src/assignment_reminders/seed.py): named blocks, loaded
-- with the others (gateway.py). Nothing here is part of the product's schema.

-- name: seed_may_skip_fk_checks
-- Whether this login may set session_replication_role (superusers only).
SELECT rolsuper AS may FROM pg_roles WHERE rolname = current_user

-- name: seed_skip_fk_checks
SET LOCAL session_replication_role = replica

-- name: seed_has_due_index
-- Whether the due index exists (a database migrated by an older or partial history may lack it).
SELECT to_regclass('reminders.assignment_due') IS NOT NULL AS ok

-- name: seed_has_auth_users
-- Whether user_id references Supabase Auth's users (auth.users exists): the seed adds its people.
SELECT to_regclass('auth.users') IS NOT NULL AS ok

-- name: seed_bulk_load_helpers
-- The superuser's bulk load's helpers, created for this session only (pg_temp, dropped when it
-- ends; called schema-qualified, as PostgreSQL never looks up functions in pg_temp otherwise).
-- They are the seed's, not the product's: `reminders migrate` does not install them.
--
-- pg_temp.bulk_load_drop_indexes(table) drops the indexes of an EMPTY table that no foreign key
-- needs (secondary indexes, and primary keys and unique constraints nothing references), and
-- returns the statements that build them again, exactly as they were (pg_get_indexdef,
-- pg_get_constraintdef): the caller runs them with pg_temp.bulk_load_create_indexes after the
-- load, in the same transaction (a failed load rolls the drop back too). A table with rows is left
-- alone (an empty array). Unique ones are checked when they are built.
--
-- pg_temp.bulk_load_truncate(tables) truncates *tables* and every table that references them
-- through foreign keys, so that COPY may write frozen rows (COPY ... FREEZE needs a table created
-- or truncated in the same transaction), but only when every one of them is empty: it takes every
-- table's ACCESS EXCLUSIVE lock first (one LOCK statement, in oid order), waiting for writers in
-- flight, and only then looks; it returns true. When any has a row it truncates nothing and
-- returns false (the caller loads without FREEZE). Run with session_replication_role = replica
-- (the truncate triggers, which would empty the due index in the same statement, do not fire).
CREATE OR REPLACE FUNCTION pg_temp.bulk_load_drop_indexes(p_table regclass) RETURNS text[]
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
DECLARE
    empty boolean;
    rebuild text[] := '{}';
    r record;
BEGIN
    EXECUTE format('SELECT NOT EXISTS (SELECT FROM %s)', p_table) INTO empty;
    IF NOT empty THEN
        RETURN rebuild;
    END IF;
    FOR r IN
        SELECT i.indexrelid::regclass AS index_name, c.conname,
               pg_catalog.pg_get_indexdef(i.indexrelid) AS index_def,
               pg_catalog.pg_get_constraintdef(c.oid) AS constraint_def
        FROM pg_catalog.pg_index i
        LEFT JOIN pg_catalog.pg_constraint c
               ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u')
        WHERE i.indrelid = p_table
          AND NOT EXISTS (  -- a foreign key's referenced key stays
              SELECT FROM pg_catalog.pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
          AND NOT EXISTS (  -- and so does any other constraint's index (exclusion)
              SELECT FROM pg_catalog.pg_constraint x
              WHERE x.conindid = i.indexrelid AND x.contype NOT IN ('p', 'u', 'f'))
    LOOP
        IF r.conname IS NULL THEN
            EXECUTE format('DROP INDEX %s', r.index_name);
            rebuild := rebuild || r.index_def;
        ELSE
            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', p_table, r.conname);
            rebuild := rebuild || format('ALTER TABLE %s ADD CONSTRAINT %I %s', p_table, r.conname,
                                         r.constraint_def);
        END IF;
    END LOOP;
    RETURN rebuild;
END
$$;

CREATE OR REPLACE FUNCTION pg_temp.bulk_load_create_indexes(p_statements text[]) RETURNS void
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
DECLARE
    statement text;
BEGIN
    FOREACH statement IN ARRAY p_statements LOOP
        EXECUTE statement;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION pg_temp.bulk_load_truncate(p_tables regclass[]) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path = ''
AS $$
DECLARE
    affected regclass[];
    t regclass;
    empty boolean;
BEGIN
    WITH RECURSIVE referencing (rel) AS (
        SELECT unnest(p_tables)::oid
        UNION
        SELECT c.conrelid
        FROM pg_catalog.pg_constraint c
        JOIN referencing r ON c.confrelid = r.rel
        WHERE c.contype = 'f'
    )
    SELECT array_agg(rel::regclass ORDER BY rel) INTO affected FROM referencing;
    EXECUTE 'LOCK TABLE ' || array_to_string(affected::text[], ', ') || ' IN ACCESS EXCLUSIVE MODE';
    FOREACH t IN ARRAY affected LOOP
        EXECUTE format('SELECT NOT EXISTS (SELECT FROM %s)', t) INTO empty;
        IF NOT empty THEN
            RETURN false;
        END IF;
    END LOOP;
    EXECUTE 'TRUNCATE ' || array_to_string(affected::text[], ', ');
    RETURN true;
END
$$;

-- name: seed_truncate_for_freeze
-- Truncates the tables (and those referencing them) when all are empty, so that the seed's COPY
-- may write frozen rows (COPY ... FREEZE); whether it did.
SELECT pg_temp.bulk_load_truncate(%(tables)s::regclass[]) AS truncated

-- name: seed_drop_indexes
-- The indexes of an empty table that no foreign key needs, dropped for the load; the statements
-- that build them again.
SELECT pg_temp.bulk_load_drop_indexes(%(table)s::regclass) AS statements

-- name: seed_build_indexes
-- After the load, in the same transaction: sorts in memory, and parallel workers where the server
-- allows them (max_parallel_maintenance_workers).
SELECT pg_catalog.set_config('maintenance_work_mem', '1GB', true),
       pg_temp.bulk_load_create_indexes(%(statements)s::text[])

-- name: seed_analyze
ANALYZE public.assignments

-- name: seed_analyze_due_index
ANALYZE reminders.assignment_due
