-- Bulk loads into empty tables: load the rows first, build the indexes after.
--
-- `reminders seed` COPYs millions of rows (ten million assignments for the benchmark). Each index
-- kept during a COPY is updated row by row, in the rows' order, which for most of them is random
-- (a mentor id, an organization, a due date): at 10M assignments that is most of the load's time.
-- Built afterwards, an index is one sort (parallel when the server allows) and packed pages.
--
-- reminders.bulk_load_drop_indexes(table) drops the indexes of an EMPTY table that no foreign key
-- needs (secondary indexes, and primary keys and unique constraints nothing references), and
-- returns the statements that build them again, exactly as they were (pg_get_indexdef,
-- pg_get_constraintdef): the caller runs them with reminders.bulk_load_create_indexes after the
-- load, in the same transaction (a failed load rolls the drop back too). A table with rows is left
-- alone (an empty array): dropping its indexes would cost more than it saves. Unique ones are
-- checked when they are built, so the load keeps every invariant. Not for the API's roles: only
-- the tables' owner can drop their indexes anyway, and these run whatever they are given.
CREATE FUNCTION reminders.bulk_load_drop_indexes(p_table regclass) RETURNS text[]
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

CREATE FUNCTION reminders.bulk_load_create_indexes(p_statements text[]) RETURNS void
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

REVOKE EXECUTE ON FUNCTION reminders.bulk_load_drop_indexes(regclass),
    reminders.bulk_load_create_indexes(text[])
    FROM PUBLIC, anon, authenticated, service_role;
