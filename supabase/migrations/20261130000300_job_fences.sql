-- Fencing tokens for the job lock (docs/locking.md, "Fenced writes").
--
-- The advisory lock says who may run; this row says which run that is. The lock winner bumps
-- `token` (only while pg_locks shows the lock on its lock backend) before it writes anything, and
-- every batch, delivery claim and the run's finish share-lock the row with `token = <its token>`
-- in their own transaction. A run that lost its lock therefore writes nothing once a new winner
-- has bumped the token, and the bump waits for the old run's in-flight batch to commit: the two
-- never interleave.

CREATE TABLE reminders.job_fences (
    job_name text PRIMARY KEY,
    token bigint NOT NULL CHECK (token > 0),
    lock_backend_pid integer
);

COMMENT ON TABLE reminders.job_fences IS
    'assignment-reminders: fencing token per job, bumped by each lock winner; service_role only.';

REVOKE ALL ON TABLE reminders.job_fences FROM PUBLIC, anon, authenticated;
GRANT SELECT, INSERT, UPDATE ON TABLE reminders.job_fences TO service_role;
