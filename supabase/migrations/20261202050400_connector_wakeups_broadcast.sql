-- Connector wake-ups only for changes a connector must act on, on both paths.
--
-- With SUPABASE_URL set the connector listened to postgres_changes on every change of
-- whatsapp_sessions. Every lease renewal updates lease_until and last_heartbeat_at of each held
-- row, so each renewal woke every connector, which renewed or swept again: a feedback loop whose
-- load grew with the fleet. Now one function decides what wakes a connector and sends it both
-- ways: NOTIFY wa_gateway_wake (the LISTEN path, payloads as before) and a broadcast from the
-- database, `realtime.send(...)`, to the private topic 'wa-gateway:connector' (Supabase's
-- Realtime; the plain-Postgres bootstrap provides a compatible `realtime.send`). It fires for:
--   - a new session, or a change of its desired state, pending command or link request (the
--     trigger fires only when one of these columns changes, so a renewal never runs it);
--   - a new outbound message;
--   - a new number check.
-- The broadcast payload is {"agent_id": <uuid>, "kind": "session" | "message" | "number_check"}.
-- Only the connector (service role) may hear the topic: no policy lets anyone else select it.

create function private.wake_connectors(p_agent uuid, p_kind text)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform pg_notify('wa_gateway_wake', p_agent::text || case when p_kind = 'session' then '' else ':' || p_kind end);
  perform realtime.send(jsonb_build_object('agent_id', p_agent, 'kind', p_kind), 'wake', 'wa-gateway:connector', true);
end;
$$;
comment on function private.wake_connectors(uuid, text) is 'Wakes connectors about one agent: NOTIFY wa_gateway_wake and a private Realtime broadcast on topic wa-gateway:connector (event wake).';

create or replace function private.notify_session_wake()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform private.wake_connectors(new.agent_id, 'session');
  return null;
end;
$$;
comment on function private.notify_session_wake() is 'Trigger: wakes connectors when a session is created or its desired state, command or link request changes (never on lease or heartbeat writes).';

create or replace function private.notify_message_wake()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform private.wake_connectors(new.agent_id, 'message');
  return null;
end;
$$;
comment on function private.notify_message_wake() is 'Trigger: wakes connectors when an outbound message is queued.';

create function private.notify_number_check_wake()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform private.wake_connectors(new.agent_id, 'number_check');
  return null;
end;
$$;
comment on function private.notify_number_check_wake() is 'Trigger: wakes connectors when a number check is queued.';

-- The column list and the WHEN clause keep lease renewals (lease_until, last_heartbeat_at) and
-- status reports from running the trigger at all.
drop trigger whatsapp_sessions_notify_wake on public.whatsapp_sessions;
create trigger whatsapp_sessions_notify_wake_on_insert after insert on public.whatsapp_sessions
  for each row execute function private.notify_session_wake();
create trigger whatsapp_sessions_notify_wake_on_change
  after update of desired_state, pending_command, link_requested_at on public.whatsapp_sessions
  for each row
  when (new.desired_state is distinct from old.desired_state
        or new.pending_command is distinct from old.pending_command
        or new.link_requested_at is distinct from old.link_requested_at)
  execute function private.notify_session_wake();

create trigger number_checks_notify_wake after insert on public.number_checks
  for each row execute function private.notify_number_check_wake();

-- Private channel authorisation (Supabase Realtime runs the join's select under the caller's
-- role): the service role may read the connector topic. It bypasses RLS anyway; the policy says
-- so explicitly, and no policy grants the topic to anon or authenticated.
create policy connector_reads_wakeups on realtime.messages for select to service_role
  using ((select realtime.topic()) = 'wa-gateway:connector' and extension = 'broadcast');

revoke all on function private.wake_connectors(uuid, text), private.notify_number_check_wake() from public, anon, authenticated;
