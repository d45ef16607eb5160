-- Live in-app notifications: Supabase Realtime streams the rows of the tables in its
-- `supabase_realtime` publication to subscribed clients, under each client's RLS (a mentor
-- receives their own notifications, a coordinator their organization's).
--
-- Only where that publication exists (every Supabase project has it); elsewhere this does
-- nothing (as it does for a publication FOR ALL TABLES, which has it already); adding it later
-- (after creating the publication) needs:
--   ALTER PUBLICATION supabase_realtime ADD TABLE public.notifications;
DO $realtime$
BEGIN
    IF EXISTS (SELECT FROM pg_publication WHERE pubname = 'supabase_realtime' AND NOT puballtables)
       AND NOT EXISTS (SELECT FROM pg_publication_tables
                       WHERE pubname = 'supabase_realtime'
                         AND schemaname = 'public' AND tablename = 'notifications') THEN
        ALTER PUBLICATION supabase_realtime ADD TABLE public.notifications;
    END IF;
END
$realtime$;
