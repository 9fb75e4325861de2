-- Rate limits on the requests that make the gateway act outside the database:
--   * session commands (restart, disconnect, logout) per agent: each one tears a WhatsApp socket
--     down or up, and a loop of reconnects is the ban risk seed 000 warns about;
--   * webhook tests and redeliveries per owner: each one is a signed POST to a host of the
--     tenant's choosing.
-- Same token buckets and WG007 detail as the link and send limits (private.take_or_fail). The
-- action runs first, so an unknown or foreign id is a 404 whatever the bucket says, and a refused
-- take rolls the action back with it.

drop function gateway.api_session_command(uuid, uuid, text, boolean);

create function gateway.api_session_command(
  p_owner uuid, p_agent uuid, p_command text, p_force boolean default false,
  p_capacity integer default 10, p_window_seconds integer default 3600
)
returns table (session public.whatsapp_sessions, rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
  v_rate record;
begin
  perform gateway.api_call(p_owner, p_agent);
  v_session := gateway.request_session_command(p_owner, p_agent, p_command, p_force);
  select * into v_rate from private.take_or_fail('command:' || p_agent::text, p_capacity, p_window_seconds, 1, 'session command');
  return query select v_session, v_rate.rate_limit, v_rate.rate_remaining, v_rate.rate_reset_seconds;
end;
$$;
comment on function gateway.api_session_command(uuid, uuid, text, boolean, integer, integer) is 'Control plane: disconnect, logout or restart, limited per agent (default 10 per hour), with the API call counted.';

create function gateway.api_test_webhook(p_owner uuid, p_endpoint uuid, p_capacity integer default 30, p_window_seconds integer default 3600)
returns table (event_id uuid, delivery_id uuid, rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
language plpgsql
set search_path = ''
as $$
declare
  v_test record;
  v_rate record;
begin
  select * into v_test from gateway.test_webhook_endpoint(p_owner, p_endpoint);
  select * into v_rate from private.take_or_fail('webhooksend:' || p_owner::text, p_capacity, p_window_seconds, 1, 'webhook test and redelivery');
  return query select v_test.event_id, v_test.delivery_id, v_rate.rate_limit, v_rate.rate_remaining, v_rate.rate_reset_seconds;
end;
$$;
comment on function gateway.api_test_webhook(uuid, uuid, integer, integer) is 'Control plane: a webhook.test event for one endpoint, limited per owner together with redeliveries (default 30 per hour).';

create function gateway.api_redeliver(
  p_owner uuid, p_endpoint uuid, p_delivery uuid, p_capacity integer default 30, p_window_seconds integer default 3600
)
returns table (id uuid, status text, rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
language plpgsql
set search_path = ''
as $$
declare
  v_row public.webhook_deliveries;
  v_rate record;
begin
  if not exists (select 1 from public.webhook_deliveries d
                 where d.id = p_delivery and d.endpoint_id = p_endpoint and d.owner_id = p_owner) then
    perform gateway.fail('not_found', 'no such delivery');
  end if;
  v_row := gateway.redeliver(p_owner, p_delivery);
  select * into v_rate from private.take_or_fail('webhooksend:' || p_owner::text, p_capacity, p_window_seconds, 1, 'webhook test and redelivery');
  return query select v_row.id, v_row.status, v_rate.rate_limit, v_rate.rate_remaining, v_rate.rate_reset_seconds;
end;
$$;
comment on function gateway.api_redeliver(uuid, uuid, uuid, integer, integer) is 'Control plane: redeliver one delivery of an owner''s endpoint, limited per owner together with webhook tests (default 30 per hour).';

revoke all on function gateway.api_session_command(uuid, uuid, text, boolean, integer, integer),
  gateway.api_test_webhook(uuid, uuid, integer, integer),
  gateway.api_redeliver(uuid, uuid, uuid, integer, integer)
  from public, anon, authenticated;
