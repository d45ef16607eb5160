-- The ledger's due-index trigger for one huge statement (an import, the benchmark's one-statement
-- floor): 20261130002000 probes the index once per ledger row (enable_seqscan = off), right for
-- the pass's batches of 20,000 but slow for millions of rows at once (at 10M assignments the
-- floor's 4.8 million deletes ran for more than ten minutes). Above 100,000 rows the planner
-- chooses again (a hash join over the whole table).
CREATE OR REPLACE FUNCTION reminders.assignment_due_after_dispatch() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = ''
    SET enable_seqscan = off
AS $$
BEGIN
    IF (SELECT count(*) FROM new_rows) > 100000 THEN
        PERFORM pg_catalog.set_config('enable_seqscan', 'on', true);
    END IF;
    DELETE FROM reminders.assignment_due d
    USING new_rows n
    WHERE d.assignment_id = n.assignment_id AND d.kind = n.kind
      AND d.gap_started_on = n.gap_started_on;
    RETURN NULL;
END
$$;
