-- One index on assignments by organization, not two.
--
-- assignments_organization_id_idx (organization_id) came with the core schema;
-- assignments_organization_id_id_idx (organization_id, id) came for the RLS policies
-- (20261130001300). Every lookup by organization_id alone (the policies, the cascade from
-- organizations, the threshold trigger's refresh) is served by the second one's prefix, so the
-- first only cost writes and disk, and 7-12 s of every bulk load of ten million assignments,
-- which builds it again (`reminders seed`, docs/scaling.md).
DROP INDEX public.assignments_organization_id_idx;
