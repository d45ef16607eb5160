-- Locking that stays correct behind connection poolers (docs/adr/0001-lock-scope.md).
--
-- The transaction-scoped wrapper for REMINDERS_LOCK_SCOPE=transaction: the lock ends with the
-- caller's transaction, so it only guards work while that transaction stays open. The caller holds
-- one explicit transaction open on its lock connection for the whole run.
-- SECURITY INVOKER: the lock belongs to the calling transaction, which is the point.
CREATE FUNCTION public.reminders_try_advisory_xact_lock(lock_key bigint) RETURNS boolean
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog
AS $$ SELECT pg_try_advisory_xact_lock(lock_key) $$;

-- Supabase's default privileges grant EXECUTE on new public functions to anon and authenticated,
-- so revoking from PUBLIC alone is not enough.
REVOKE EXECUTE ON FUNCTION public.reminders_try_advisory_xact_lock(bigint) FROM PUBLIC, anon, authenticated;
GRANT EXECUTE ON FUNCTION public.reminders_try_advisory_xact_lock(bigint) TO service_role;

COMMENT ON FUNCTION public.reminders_try_advisory_xact_lock(bigint) IS
    'assignment-reminders: pg_try_advisory_xact_lock for REMINDERS_LOCK_SCOPE=transaction; service_role only.';
