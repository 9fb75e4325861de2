-- Schemas and the error vocabulary every gateway function speaks.
--
-- public  : exposed through the Data API; every table has RLS; owners read their own rows.
-- private : secrets and internals (creds, Signal keys, webhook secrets, API keys, buckets,
--           connectors); never granted to anon or authenticated, so the Data API cannot reach it.
-- gateway : the functions that carry the invariants; executed by the edge functions and the
--           connector over a direct connection, never through the Data API.
--
-- Errors raised by gateway functions use these SQLSTATEs, and the message starts with the code
-- name followed by a colon, so callers can map either:
--   WG001 unknown_agent        the agent id does not exist
--   WG002 not_owner            the agent exists but belongs to someone else
--   WG003 plan_limit           the caller's plan does not allow this (e.g. agents allowed)
--   WG004 stale_lease          a connector write whose lease epoch is no longer current
--   WG005 invalid_argument     an argument is malformed or out of range
--   WG006 idempotency_conflict an Idempotency-Key reused with a different request
--   WG007 rate_limited         a token bucket is empty (DETAIL carries limit/remaining/reset)
--   WG008 conflict             the resource's state forbids it (sends in flight, disabled agent)
--   WG009 not_found            another resource (message, endpoint, key) is unknown or foreign

create schema if not exists private;
comment on schema private is 'Secrets and internals of wa-gateway. Not exposed through the Data API; no grants to anon or authenticated.';
revoke all on schema private from public, anon, authenticated;
grant usage on schema private to service_role;

create schema if not exists gateway;
comment on schema gateway is 'SQL functions of wa-gateway that carry its invariants (leases, fencing, queues, rate limits). Callable by service_role only.';
revoke all on schema gateway from public, anon, authenticated;
grant usage on schema gateway to service_role;

-- Functions created later in these schemas are not executable by anybody but their owner and
-- service_role (PostgreSQL grants EXECUTE to PUBLIC by default).
alter default privileges in schema gateway revoke execute on functions from public;
alter default privileges in schema gateway grant execute on functions to service_role;
alter default privileges in schema private revoke execute on functions from public;
alter default privileges in schema private grant execute on functions to service_role;
alter default privileges in schema private grant all on tables to service_role;
alter default privileges in schema private grant all on sequences to service_role;

create function gateway.fail(p_code text, p_message text, p_detail text default null)
returns void
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_state text := case p_code
    when 'unknown_agent' then 'WG001'
    when 'not_owner' then 'WG002'
    when 'plan_limit' then 'WG003'
    when 'stale_lease' then 'WG004'
    when 'invalid_argument' then 'WG005'
    when 'idempotency_conflict' then 'WG006'
    when 'rate_limited' then 'WG007'
    when 'conflict' then 'WG008'
    when 'not_found' then 'WG009'
  end;
begin
  if v_state is null then
    raise exception 'unknown error code %', p_code;
  end if;
  raise exception using errcode = v_state, message = p_code || ': ' || p_message, detail = coalesce(p_detail, '');
end;
$$;
comment on function gateway.fail(text, text, text) is 'Raises one of the documented gateway errors (WG001..WG009) with the code name as message prefix.';
