-- reminders.bulk_load_truncate (migration 20261130070100) checked that the tables were empty and
-- then truncated them: a row another transaction committed between the check and the TRUNCATE's
-- lock was truncated with them. It now takes every table's ACCESS EXCLUSIVE lock first (in one
-- LOCK statement, in oid order, as the TRUNCATE names them), waiting for writers in flight to
-- finish, and only then looks: what it finds empty stays empty until its transaction ends. When
-- a table has a row it still returns false and truncates nothing (the locks are held to the end of
-- the caller's transaction, which is the seed's bulk load into those same tables).
CREATE OR REPLACE FUNCTION reminders.bulk_load_truncate(p_tables regclass[]) RETURNS boolean
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

REVOKE EXECUTE ON FUNCTION reminders.bulk_load_truncate(regclass[])
    FROM PUBLIC, anon, authenticated, service_role;
