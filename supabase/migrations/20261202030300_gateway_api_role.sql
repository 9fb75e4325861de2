-- The edge function's own database role (review finding 5): the internet-facing API connects as
-- `gateway_api`, not as the database owner. It may execute the control-plane functions it calls
-- and read the public tables its routes read (the routes filter by owner themselves); it cannot
-- read private.* (creds, Signal keys, webhook secrets, API key hashes), call connector functions
-- (claim_sessions, assert_lease, save_creds, ...) or write any table directly.
--
-- The functions it calls run as SECURITY DEFINER (their owner), so the role needs no privilege on
-- the private tables they touch; every one pins search_path = '' and qualifies every name, and
-- takes the caller's identity (p_owner) from the API, which authenticates it.
--
-- In plain Postgres (tests, npm start) the role can log in without a password where the server
-- trusts local connections. In Supabase set its password once, as the operator:
--   alter role gateway_api with password '<random>';
-- and give the edge function DB_POOLER_URL=postgresql://gateway_api.<ref>:<password>@<pooler>:6543/postgres.
--
-- A new control-plane function the API calls is exposed with one line in its own migration:
--   select private.expose_to_api('gateway.new_function(uuid, text)');
-- (a later `create or replace` of an exposed function resets SECURITY DEFINER: call it again).

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'gateway_api') then
    create role gateway_api login noinherit;
  end if;
end;
$$;
comment on role gateway_api is 'wa-gateway edge function (control-plane API): executes the API''s gateway functions and reads public tables; nothing in private, no connector functions.';

grant usage on schema gateway to gateway_api;
grant usage on schema public to gateway_api;

create function private.expose_to_api(p_function regprocedure)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if (select n.nspname from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace where p.oid = p_function) <> 'gateway' then
    raise exception 'only gateway functions are exposed to the API, not %', p_function;
  end if;
  execute format('alter function %s security definer', p_function);
  execute format('revoke all on function %s from public, anon, authenticated', p_function);
  execute format('grant execute on function %s to gateway_api, service_role', p_function);
end;
$$;
comment on function private.expose_to_api(regprocedure) is 'Makes a gateway control-plane function callable by the edge function''s role gateway_api (SECURITY DEFINER, EXECUTE granted). Migrations only.';
revoke all on function private.expose_to_api(regprocedure) from public, anon, authenticated, service_role;

-- Every function the API calls (edge-functions/**), and nothing else.
select private.expose_to_api(f::regprocedure) from unnest(array[
  -- authentication and the failed-auth limit
  'gateway.api_key_for_prefix(text, bytea)',
  'gateway.take_token(text, integer, double precision, integer)',
  -- agents and sessions
  'gateway.create_agent(uuid, text)',
  'gateway.delete_agent(uuid, uuid)',
  'gateway.api_call(uuid, uuid)',
  'gateway.api_request_link(uuid, uuid, text, text, integer, integer)',
  'gateway.api_session_command(uuid, uuid, text, boolean)',
  'gateway.session_sending_status(uuid, uuid)',
  -- messages and number checks
  'gateway.api_send(uuid, uuid, text, text, jsonb, text, text)',
  'gateway.create_number_check(uuid, uuid, text[], integer, integer)',
  -- API keys
  'gateway.create_api_key(uuid, uuid, text, text, bytea, text[], timestamptz, integer, integer, integer)',
  'gateway.list_api_keys(uuid)',
  'gateway.revoke_api_key(uuid, uuid)',
  -- webhooks
  'gateway.create_webhook_endpoint(uuid, uuid, uuid, text, text[], text, bytea, integer, integer)',
  'gateway.update_webhook_endpoint(uuid, uuid, jsonb)',
  'gateway.delete_webhook_endpoint(uuid, uuid)',
  'gateway.test_webhook_endpoint(uuid, uuid)',
  'gateway.list_webhook_deliveries(uuid, uuid, integer, timestamptz, uuid)',
  'gateway.redeliver(uuid, uuid)'
]) as f;

-- The routes' own reads (owner filters are in the queries): SELECT, and an RLS policy that lets
-- this role see rows (RLS stays on for everybody else).
do $$
declare
  v_table text;
begin
  for v_table in
    select c.relname from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r'
  loop
    execute format('grant select on public.%I to gateway_api', v_table);
    execute format('create policy gateway_api_reads on public.%I for select to gateway_api using (true)', v_table);
  end loop;
end;
$$;
