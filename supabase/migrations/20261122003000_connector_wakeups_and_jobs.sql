-- The connector's wake-up channel and its scheduled jobs.
--
-- Wake-ups: NOTIFY wa_gateway_wake with the agent id as payload whenever something a connector
-- must act on changes: a session's desired state, pending command or link request, and a new
-- outbound message. A notification is only a latency hint (connectors also sweep on a timer), so
-- it is sent after the fact and carries no state. The payload is `<agent_id>` for sessions and
-- `<agent_id>:message` for new messages.

create function private.notify_session_wake()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if tg_op = 'INSERT'
     or new.desired_state is distinct from old.desired_state
     or new.pending_command is distinct from old.pending_command
     or new.link_requested_at is distinct from old.link_requested_at then
    perform pg_notify('wa_gateway_wake', new.agent_id::text);
  end if;
  return null;
end;
$$;
comment on function private.notify_session_wake() is 'Trigger: NOTIFY wa_gateway_wake <agent_id> when a session''s desired state, command or link request changes.';

create trigger whatsapp_sessions_notify_wake after insert or update on public.whatsapp_sessions
  for each row execute function private.notify_session_wake();

create function private.notify_message_wake()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform pg_notify('wa_gateway_wake', new.agent_id::text || ':message');
  return null;
end;
$$;
comment on function private.notify_message_wake() is 'Trigger: NOTIFY wa_gateway_wake <agent_id>:message when an outbound message is queued.';

create trigger messages_notify_wake after insert on public.messages
  for each row execute function private.notify_message_wake();

-- Raises an alert event unless the same alert was raised for the agent since p_since (dedupe).
create function private.alert_once(p_owner uuid, p_agent uuid, p_type text, p_severity text, p_payload jsonb, p_since timestamptz)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if exists (select 1 from public.events e where e.agent_id = p_agent and e.type = p_type and e.created_at >= p_since) then
    return false;
  end if;
  perform gateway.emit_event(p_owner, p_agent, p_type, p_severity, p_payload);
  return true;
end;
$$;
comment on function private.alert_once(uuid, uuid, text, text, jsonb, timestamptz) is 'Raises an alert event unless the same alert was raised for the agent since p_since (deduplication).';

-- Expired-lease sweep (any connector, one at a time):
--   - a session nobody will claim again (desired disconnected) whose owner died keeps a stale
--     status like 'connected': clear the dead lease and show 'disconnected';
--   - connectors silent for 2 lease periods or more are marked stopped;
--   - alerts: heartbeat missing > 5 minutes on a session that wants a socket, and a linked
--     session disconnected for more than 5 minutes (once per outage).
create function gateway.sweep_expired_leases(p_stale interval default interval '5 minutes')
returns table (released integer, alerts integer)
language plpgsql
set search_path = ''
as $$
declare
  v_released integer;
  v_alerts integer := 0;
  r record;
begin
  with dead as (
    update public.whatsapp_sessions s
    set owner_connector_id = null, owner_hostname = null, owner_pid = null, lease_until = null,
        status = case when s.status in ('connected', 'connecting', 'reconnecting', 'qr', 'pairing_code') then 'disconnected' else s.status end,
        status_reason = case when s.status in ('connected', 'connecting', 'reconnecting', 'qr', 'pairing_code') then 'owner connector stopped' else s.status_reason end,
        status_changed_at = case when s.status in ('connected', 'connecting', 'reconnecting', 'qr', 'pairing_code') then now() else s.status_changed_at end,
        qr_code = null, pairing_code = null
    where s.desired_state = 'disconnected' and s.owner_connector_id is not null and s.lease_until <= now()
    returning 1
  )
  select count(*) into v_released from dead;

  update private.connectors c set stopped_at = now()
  where c.stopped_at is null and c.last_heartbeat_at < now() - interval '2 minutes';

  for r in
    select s.agent_id, s.owner_id, s.last_heartbeat_at from public.whatsapp_sessions s
    join public.agents a on a.id = s.agent_id
    where s.desired_state = 'connected' and a.disabled_at is null
      and s.last_heartbeat_at is not null and s.last_heartbeat_at < now() - p_stale
  loop
    if private.alert_once(r.owner_id, r.agent_id, 'alert.heartbeat_failing', 'critical',
         jsonb_build_object('last_heartbeat_at', r.last_heartbeat_at), now() - interval '1 hour') then
      v_alerts := v_alerts + 1;
    end if;
  end loop;

  for r in
    select s.agent_id, s.owner_id, s.status, s.status_changed_at from public.whatsapp_sessions s
    where s.desired_state = 'connected' and s.last_connected_at is not null
      and s.status in ('disconnected', 'connecting', 'reconnecting') and s.status_changed_at < now() - p_stale
  loop
    if private.alert_once(r.owner_id, r.agent_id, 'alert.disconnected_long', 'warning',
         jsonb_build_object('status', r.status, 'since', r.status_changed_at), r.status_changed_at) then
      v_alerts := v_alerts + 1;
    end if;
  end loop;

  released := v_released;
  alerts := v_alerts;
  return next;
end;
$$;
comment on function gateway.sweep_expired_leases(interval) is 'Job: clears dead leases of sessions nobody will claim, marks silent connectors stopped, raises heartbeat and long-disconnect alerts (deduplicated).';

-- Inactive sessions (the seeds' 7 days): linked sessions with no message in or out and no
-- connection for p_days raise alert.session_inactive, at most once per p_days.
create function gateway.flag_inactive_sessions(p_days integer default 7)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer := 0;
  r record;
  v_since timestamptz := now() - make_interval(days => p_days);
begin
  if p_days is null or p_days < 1 then
    perform gateway.fail('invalid_argument', 'days must be positive');
  end if;
  for r in
    select s.agent_id, s.owner_id,
           greatest(s.last_connected_at,
                    (select max(m.created_at) from public.messages m where m.agent_id = s.agent_id),
                    (select max(i.created_at) from public.inbound_messages i where i.agent_id = s.agent_id)) as last_activity
    from public.whatsapp_sessions s
    where s.linked_jid is not null or s.last_connected_at is not null
  loop
    if r.last_activity is null or r.last_activity < v_since then
      if private.alert_once(r.owner_id, r.agent_id, 'alert.session_inactive', 'warning',
           jsonb_build_object('last_activity', r.last_activity, 'days', p_days), v_since) then
        v_count := v_count + 1;
      end if;
    end if;
  end loop;
  return v_count;
end;
$$;
comment on function gateway.flag_inactive_sessions(integer) is 'Job: alerts on linked sessions without activity for p_days (deduplicated per period).';

-- Retention: events older than p_event_days whose webhooks are all settled, and outbound messages
-- that reached delivered/read (and inbound messages) older than p_message_days.
create function gateway.apply_retention(p_event_days integer default 30, p_message_days integer default 30)
returns table (events integer, messages integer, inbound integer)
language plpgsql
set search_path = ''
as $$
begin
  if p_event_days < 1 or p_message_days < 1 then
    perform gateway.fail('invalid_argument', 'retention periods must be at least one day');
  end if;
  delete from public.events e
  where e.created_at < now() - make_interval(days => p_event_days)
    and not exists (select 1 from public.webhook_deliveries d where d.event_id = e.id and d.status in ('pending', 'delivering'));
  get diagnostics events = row_count;
  delete from public.messages m
  where m.status in ('delivered', 'read') and m.updated_at < now() - make_interval(days => p_message_days);
  get diagnostics messages = row_count;
  delete from public.inbound_messages i where i.created_at < now() - make_interval(days => p_message_days);
  get diagnostics inbound = row_count;
  return next;
end;
$$;
comment on function gateway.apply_retention(integer, integer) is 'Job: deletes settled events and delivered/read or inbound messages past their retention.';

revoke all on function private.notify_session_wake(), private.notify_message_wake(),
  private.alert_once(uuid, uuid, text, text, jsonb, timestamptz) from public, anon, authenticated;
revoke all on function gateway.sweep_expired_leases(interval), gateway.flag_inactive_sessions(integer),
  gateway.apply_retention(integer, integer) from public, anon, authenticated;
grant execute on function gateway.sweep_expired_leases(interval), gateway.flag_inactive_sessions(integer),
  gateway.apply_retention(integer, integer) to service_role;
