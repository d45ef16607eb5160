-- A correction's reason is at most 2,000 characters, whoever writes it (issue 18, item 7).
--
-- The API refused a longer reason, but `reminders admin set-last-contact --reason` stored one of
-- 100,000 characters. The application now refuses it everywhere (limits.REASON_MAX_LENGTH, the
-- one source of the figure); this CHECK is the database's own word, for writers that bypass the
-- application (plain SQL, a Supabase client). char_length counts characters, as the API does.
--
-- NOT VALID: the constraint holds for every row written from now on, without reading the table
-- (no scan, the ACCESS EXCLUSIVE lock lasts only the catalogue update) and without failing on
-- an over-long reason a deployment may already keep from before (the audit is never rewritten).
ALTER TABLE reminders.last_contact_corrections
    ADD CONSTRAINT last_contact_corrections_reason_length
    CHECK (char_length(reason) <= 2000) NOT VALID;
