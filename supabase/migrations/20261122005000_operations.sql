-- What an operator reads and does from the SQL editor (which runs as postgres). The views live in
-- the unexposed `ops` schema, so the Data API never serves them; the functions are executable by
-- service_role only, like every gateway function.

create schema if not exists ops;
comment on schema ops is 'Operator views and functions for wa-gateway, used from the SQL editor. Not exposed; service_role only.';
revoke all on schema ops from public, anon, authenticated;
grant usage on schema ops to service_role;

create view ops.sessions with (security_invoker = true) as
select s.agent_id, a.name as agent_name, a.owner_id, a.disabled_at, s.desired_state, s.status, s.status_reason,
       s.owner_connector_id, s.owner_hostname, s.owner_pid, s.lease_epoch,
       s.lease_until, (s.lease_until > now()) as lease_live,
       extract(epoch from now() - s.last_heartbeat_at)::integer as heartbeat_age_seconds,
       s.last_connected_at, s.last_disconnect_code, s.last_disconnect_reason, s.reconnect_attempts,
       q.queued, q.in_flight, q.oldest_queued_at,
       extract(epoch from now() - q.oldest_queued_at)::integer as oldest_queued_age_seconds
from public.whatsapp_sessions s
join public.agents a on a.id = s.agent_id
left join lateral (
  select count(*) filter (where m.status = 'queued') as queued, count(*) filter (where m.status = 'sending') as in_flight,
         min(m.created_at) filter (where m.status = 'queued') as oldest_queued_at
  from public.messages m where m.agent_id = s.agent_id and m.status in ('queued', 'sending')
) q on true;
comment on view ops.sessions is 'Every session with its owner connector, heartbeat age, status, last error, queue depth and oldest queued message.';

create view ops.connectors with (security_invoker = true) as
select c.id, c.hostname, c.pid, c.version, c.capacity, c.started_at, c.stopped_at,
       extract(epoch from now() - c.last_heartbeat_at)::integer as heartbeat_age_seconds,
       (c.stopped_at is null and c.last_heartbeat_at > now() - interval '2 minutes') as alive,
       count(s.agent_id) filter (where s.lease_until > now()) as sessions_held,
       count(s.agent_id) filter (where s.lease_until > now() and s.status = 'connected') as sessions_connected
from private.connectors c
left join public.whatsapp_sessions s on s.owner_connector_id = c.id
group by c.id;
comment on view ops.connectors is 'Connector processes, whether they look alive, and how many sessions each holds and has connected.';

create view ops.recent_alerts with (security_invoker = true) as
select e.created_at, e.severity, e.type, e.agent_id, a.name as agent_name, e.owner_id, e.payload
from public.events e
left join public.agents a on a.id = e.agent_id
where e.severity <> 'info' and e.created_at > now() - interval '7 days'
order by e.created_at desc;
comment on view ops.recent_alerts is 'Warnings and critical events of the last 7 days, newest first.';

create view ops.webhook_failures with (security_invoker = true) as
select d.id as delivery_id, d.status, d.attempts, d.max_attempts, d.last_status_code, d.last_error,
       d.last_attempt_at, d.next_attempt_at, w.url, w.owner_id, e.type as event_type, e.agent_id
from public.webhook_deliveries d
join public.webhook_endpoints w on w.id = d.endpoint_id
join public.events e on e.id = d.event_id
where d.status = 'dead' or (d.status in ('pending', 'delivering') and d.attempts > 0)
order by d.last_attempt_at desc nulls last;
comment on view ops.webhook_failures is 'Dead deliveries and those being retried, with the last status code and error.';

revoke all on all tables in schema ops from public, anon, authenticated;
grant select on all tables in schema ops to service_role;

create function ops.force_release_session(p_agent uuid)
returns public.whatsapp_sessions
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
begin
  -- Clearing the owner does not bump the epoch: the next claim does, which fences the old owner.
  update public.whatsapp_sessions
  set owner_connector_id = null, owner_hostname = null, owner_pid = null, lease_until = null
  where agent_id = p_agent
  returning * into v_session;
  if v_session.agent_id is null then
    perform gateway.fail('unknown_agent', 'no session for this agent');
  end if;
  perform gateway.emit_event(v_session.owner_id, p_agent, 'alert.lease_force_released', 'warning',
    jsonb_build_object('by', current_user));
  return v_session;
end;
$$;
comment on function ops.force_release_session(uuid) is 'Operator: clears a session''s lease so any connector claims it next (the old owner is fenced by the new epoch).';

create function ops.requeue_failed_messages(p_agent uuid, p_since timestamptz default now() - interval '1 day')
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  if not exists (select 1 from public.agents where id = p_agent) then
    perform gateway.fail('unknown_agent', 'no agent with this id');
  end if;
  -- Same row, same WhatsApp id: a message that failed before reaching WhatsApp goes out once.
  update public.messages
  set status = 'queued', attempts = 0, next_attempt_at = now(), error_code = null, error_message = null,
      failed_at = null, locked_by = null, locked_until = null
  where agent_id = p_agent and status = 'failed' and failed_at >= p_since;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function ops.requeue_failed_messages(uuid, timestamptz) is 'Operator: puts an agent''s failed messages (since a time) back in the queue with their original WhatsApp ids.';

create function ops.disable_agent(p_agent uuid, p_reason text)
returns public.agents
language plpgsql
set search_path = ''
as $$
declare
  v_agent public.agents;
begin
  if coalesce(trim(p_reason), '') = '' then
    perform gateway.fail('invalid_argument', 'a reason is required');
  end if;
  update public.agents set disabled_at = now(), disabled_reason = p_reason where id = p_agent returning * into v_agent;
  if v_agent.id is null then
    perform gateway.fail('unknown_agent', 'no agent with this id');
  end if;
  -- The connector sees desired_state on its next renewal and ends the socket; no new claims.
  update public.whatsapp_sessions set desired_state = 'disconnected' where agent_id = p_agent;
  perform gateway.emit_event(v_agent.owner_id, p_agent, 'alert.agent_disabled', 'warning',
    jsonb_build_object('reason', p_reason));
  return v_agent;
end;
$$;
comment on function ops.disable_agent(uuid, text) is 'Operator: disables an agent (no sends, no claims) and asks its connector to end the socket.';

create function ops.enable_agent(p_agent uuid)
returns public.agents
language plpgsql
set search_path = ''
as $$
declare
  v_agent public.agents;
begin
  update public.agents set disabled_at = null, disabled_reason = null where id = p_agent returning * into v_agent;
  if v_agent.id is null then
    perform gateway.fail('unknown_agent', 'no agent with this id');
  end if;
  return v_agent;
end;
$$;
comment on function ops.enable_agent(uuid) is 'Operator: lifts a disable; the owner links or reconnects the session again.';

revoke all on all functions in schema ops from public, anon, authenticated;
grant execute on all functions in schema ops to service_role;
