-- Grants and Realtime. RLS is the barrier for reads through the Data API; writes go through the
-- gateway functions only, so the Data API roles lose write privileges on public tables (TRUNCATE
-- ignores RLS, so it must go too). The web app hears session, message and event changes over
-- Realtime, with RLS deciding who hears what.

revoke all on all tables in schema public from anon;
revoke insert, update, delete, truncate, references, trigger on all tables in schema public from authenticated;
grant select on all tables in schema public to authenticated;
grant all on all tables in schema public to service_role;

revoke all on all tables in schema private from public, anon, authenticated;
grant all on all tables in schema private to service_role;
revoke all on all functions in schema private from public, anon, authenticated;
revoke all on all functions in schema gateway from public, anon, authenticated;
grant execute on all functions in schema gateway to service_role;

alter publication supabase_realtime add table public.whatsapp_sessions, public.messages, public.events;
