-- Tenants do not see which connector runs their session (review finding 13): connector ids, host
-- names and PIDs describe the operator's infrastructure, and the lease epoch is an internal
-- fencing token. The API answers without them; through the Data API (and Realtime, which applies
-- the same column privileges) authenticated users may read every other column of their own rows.
-- Operators keep all of it in ops.sessions and ops.connectors.
--
-- Column privileges are static: a column added to whatsapp_sessions later is invisible to
-- tenants until a migration grants it (the safe default). Data API clients must name columns:
-- `select=*` expands to every column and is refused.
revoke select on public.whatsapp_sessions from authenticated;
do $$
declare
  v_columns text;
begin
  select string_agg(quote_ident(attname), ', ' order by attnum) into v_columns
  from pg_attribute
  where attrelid = 'public.whatsapp_sessions'::regclass and attnum > 0 and not attisdropped
    and attname not in ('owner_connector_id', 'owner_hostname', 'owner_pid', 'lease_epoch');
  execute format('grant select (%s) on public.whatsapp_sessions to authenticated', v_columns);
end;
$$;
