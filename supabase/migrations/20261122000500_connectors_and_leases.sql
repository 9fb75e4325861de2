-- Connectors and session leases (DESIGN invariant 1: one owner per session).
--
-- A connector registers, then owns sessions only through the lease on whatsapp_sessions:
--   claim    one statement; succeeds when the lease is free, expired, or already the caller's.
--            A new owner gets lease_epoch + 1 (the fencing token).
--   renew    one statement for all of a connector's sessions; reports which were lost.
--   release  graceful shutdown: the lease is cleared so another connector takes over at once.
--   fence    every connector write names (agent, connector, epoch) and is refused with
--            stale_lease unless that is the current, unexpired lease.

create table private.connectors (
  id uuid primary key,
  hostname text not null,
  pid integer not null,
  version text not null,
  capacity integer not null default 500,
  started_at timestamptz not null default now(),
  last_heartbeat_at timestamptz not null default now(),
  stopped_at timestamptz
);
comment on table private.connectors is 'Connector processes: identity, capacity and heartbeat. Operators read it from the SQL editor.';

create function gateway.register_connector(p_id uuid, p_hostname text, p_pid integer, p_version text, p_capacity integer default 500)
returns private.connectors
language plpgsql
set search_path = ''
as $$
declare
  v_row private.connectors;
begin
  if p_id is null or coalesce(p_hostname, '') = '' or p_pid is null or p_capacity < 0 then
    perform gateway.fail('invalid_argument', 'connector id, hostname, pid and a non-negative capacity are required');
  end if;
  insert into private.connectors (id, hostname, pid, version, capacity)
  values (p_id, p_hostname, p_pid, coalesce(p_version, 'unknown'), p_capacity)
  on conflict (id) do update
    set hostname = excluded.hostname, pid = excluded.pid, version = excluded.version,
        capacity = excluded.capacity, last_heartbeat_at = now(), stopped_at = null
  returning * into v_row;
  return v_row;
end;
$$;
comment on function gateway.register_connector(uuid, text, integer, text, integer) is 'Registers (or re-registers) a connector process.';

create function private.record_takeover(p_owner uuid, p_agent uuid, p_from uuid, p_to uuid, p_epoch bigint)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_from is not null then
    perform gateway.emit_event(p_owner, p_agent, 'session.lease_takeover', 'warning',
      jsonb_build_object('from_connector', p_from, 'to_connector', p_to, 'lease_epoch', p_epoch));
  end if;
end;
$$;
comment on function private.record_takeover(uuid, uuid, uuid, uuid, bigint) is 'Raises a session.lease_takeover event when a claim took an expired lease from another connector.';

create function gateway.claim_session(p_connector uuid, p_agent uuid, p_lease_seconds integer default 30)
returns table (agent_id uuid, lease_epoch bigint, taken_over_from uuid)
language plpgsql
set search_path = ''
as $$
declare
  r record;
begin
  if p_lease_seconds is null or p_lease_seconds < 1 then
    perform gateway.fail('invalid_argument', 'lease seconds must be positive');
  end if;
  -- The claim is this one statement; the takeover events follow it in the same transaction.
  for r in
    with prev as (
      select s.agent_id, s.owner_connector_id as old_owner, s.lease_until as old_until
      from public.whatsapp_sessions s
      where s.agent_id = p_agent
      for update
    )
    update public.whatsapp_sessions s
    set owner_connector_id = p_connector, owner_hostname = c.hostname, owner_pid = c.pid,
        lease_epoch = case when prev.old_owner = p_connector and prev.old_until > now()
                           then s.lease_epoch else s.lease_epoch + 1 end,
        lease_until = now() + make_interval(secs => p_lease_seconds),
        last_heartbeat_at = now()
    from prev, private.connectors c, public.agents a
    where s.agent_id = prev.agent_id and c.id = p_connector and a.id = s.agent_id
      and s.desired_state = 'connected' and a.disabled_at is null
      and (prev.old_owner is null or prev.old_until <= now() or prev.old_owner = p_connector)
    returning s.agent_id, s.owner_id, s.lease_epoch,
      case when prev.old_owner is not null and prev.old_owner <> p_connector then prev.old_owner end as taken_from
  loop
    perform private.record_takeover(r.owner_id, r.agent_id, r.taken_from, p_connector, r.lease_epoch);
    agent_id := r.agent_id; lease_epoch := r.lease_epoch; taken_over_from := r.taken_from;
    return next;
  end loop;
end;
$$;
comment on function gateway.claim_session(uuid, uuid, integer) is 'Atomically claims one session for a connector: free, expired or already its own. Returns nothing when someone else holds a live lease.';

create function gateway.claim_sessions(p_connector uuid, p_limit integer, p_lease_seconds integer default 30)
returns table (agent_id uuid, lease_epoch bigint, taken_over_from uuid)
language plpgsql
set search_path = ''
as $$
declare
  r record;
begin
  if p_lease_seconds is null or p_lease_seconds < 1 or p_limit is null or p_limit < 0 then
    perform gateway.fail('invalid_argument', 'limit must be >= 0 and lease seconds positive');
  end if;
  for r in
    with candidates as (
      select s.agent_id, s.owner_connector_id as old_owner
      from public.whatsapp_sessions s
      join public.agents a on a.id = s.agent_id
      where s.desired_state = 'connected' and a.disabled_at is null
        and (s.owner_connector_id is null or s.lease_until <= now())
      order by s.lease_until nulls first, s.agent_id
      limit p_limit
      for update of s skip locked
    )
    update public.whatsapp_sessions s
    set owner_connector_id = p_connector, owner_hostname = c.hostname, owner_pid = c.pid,
        lease_epoch = s.lease_epoch + 1,
        lease_until = now() + make_interval(secs => p_lease_seconds),
        last_heartbeat_at = now()
    from candidates, private.connectors c
    where s.agent_id = candidates.agent_id and c.id = p_connector
    returning s.agent_id, s.owner_id, s.lease_epoch,
      case when candidates.old_owner is not null and candidates.old_owner <> p_connector then candidates.old_owner end as taken_from
  loop
    perform private.record_takeover(r.owner_id, r.agent_id, r.taken_from, p_connector, r.lease_epoch);
    agent_id := r.agent_id; lease_epoch := r.lease_epoch; taken_over_from := r.taken_from;
    return next;
  end loop;
end;
$$;
comment on function gateway.claim_sessions(uuid, integer, integer) is 'The reconciler''s claim: up to p_limit sessions that want a socket and whose lease is free or expired, in one statement with SKIP LOCKED.';

create function gateway.renew_leases(p_connector uuid, p_agents uuid[], p_epochs bigint[], p_lease_seconds integer default 30)
returns table (agent_id uuid, lease_epoch bigint, renewed boolean, desired_state text, pending_command text, command_force boolean)
language plpgsql
set search_path = ''
as $$
begin
  if coalesce(array_length(p_agents, 1), 0) <> coalesce(array_length(p_epochs, 1), 0) then
    perform gateway.fail('invalid_argument', 'agents and epochs must have the same length');
  end if;
  return query
  with held as (
    select h.agent_id, h.epoch from unnest(p_agents, p_epochs) as h(agent_id, epoch)
  ), beat as (
    update private.connectors set last_heartbeat_at = now() where id = p_connector returning id
  ), renewed as (
    update public.whatsapp_sessions s
    set lease_until = now() + make_interval(secs => p_lease_seconds), last_heartbeat_at = now()
    from held
    where s.agent_id = held.agent_id and s.owner_connector_id = p_connector and s.lease_epoch = held.epoch
    returning s.agent_id, s.lease_epoch, s.desired_state, s.pending_command, s.command_force
  )
  select held.agent_id, coalesce(r.lease_epoch, held.epoch), r.agent_id is not null,
         r.desired_state, r.pending_command, coalesce(r.command_force, false)
  from held left join renewed r on r.agent_id = held.agent_id
  where (select count(*) from beat) >= 0;
end;
$$;
comment on function gateway.renew_leases(uuid, uuid[], bigint[], integer) is 'Heartbeat: renews every lease the connector holds at the given epochs in one statement; rows with renewed = false are lost and their sockets must end now. Also returns desired state and pending commands.';

create function gateway.release_sessions(p_connector uuid, p_agents uuid[] default null)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  update public.whatsapp_sessions
  set owner_connector_id = null, owner_hostname = null, owner_pid = null, lease_until = null
  where owner_connector_id = p_connector and (p_agents is null or agent_id = any (p_agents));
  get diagnostics v_count = row_count;
  if p_agents is null then
    update private.connectors set stopped_at = now() where id = p_connector;
  end if;
  return v_count;
end;
$$;
comment on function gateway.release_sessions(uuid, uuid[]) is 'Graceful release of some or all of a connector''s leases; all of them also marks the connector stopped.';

create function gateway.assert_lease(p_agent uuid, p_connector uuid, p_epoch bigint)
returns public.whatsapp_sessions
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
begin
  -- FOR SHARE: a concurrent claim (an UPDATE of this row) waits until the caller's transaction
  -- ends, so the fence holds for the whole transaction, not just this check.
  select * into v_session from public.whatsapp_sessions
  where agent_id = p_agent and owner_connector_id = p_connector and lease_epoch = p_epoch
    and lease_until > now()
  for share;
  if v_session.agent_id is null then
    perform gateway.fail('stale_lease', 'the lease on this session is not held at this epoch');
  end if;
  return v_session;
end;
$$;
comment on function gateway.assert_lease(uuid, uuid, bigint) is 'Fencing check for connector writes: raises stale_lease unless (connector, epoch) holds the live lease; locks the session row for the transaction.';

-- The connector's status report. p_patch may hold: status, status_reason, qr_code, qr_expires_at,
-- pairing_code, phone_number, linked_jid, last_connected_at, last_disconnect_code,
-- last_disconnect_reason, reconnect_attempts, qr_attempts, desired_state, clear_command,
-- clear_link_request. A key present with null clears the column. A status change raises a
-- session.status event (and its webhooks) in the same transaction.
create function gateway.update_session(p_agent uuid, p_connector uuid, p_epoch bigint, p_patch jsonb)
returns public.whatsapp_sessions
language plpgsql
set search_path = ''
as $$
declare
  v_old public.whatsapp_sessions;
  v_new public.whatsapp_sessions;
  v_unknown text;
  v_severity text;
begin
  if jsonb_typeof(p_patch) is distinct from 'object' then
    perform gateway.fail('invalid_argument', 'patch must be a JSON object');
  end if;
  select k into v_unknown from jsonb_object_keys(p_patch) k
  where k not in ('status', 'status_reason', 'qr_code', 'qr_expires_at', 'pairing_code', 'phone_number',
    'linked_jid', 'last_connected_at', 'last_disconnect_code', 'last_disconnect_reason',
    'reconnect_attempts', 'qr_attempts', 'desired_state', 'clear_command', 'clear_link_request')
  limit 1;
  if v_unknown is not null then
    perform gateway.fail('invalid_argument', format('unknown session field %s', v_unknown));
  end if;
  if p_patch ? 'status' and (p_patch ->> 'status') not in ('disconnected', 'connecting', 'qr', 'pairing_code',
      'connected', 'reconnecting', 'logged_out', 'conflict', 'qr_timeout', 'failed') then
    perform gateway.fail('invalid_argument', 'unknown session status');
  end if;
  if p_patch ? 'desired_state' and (p_patch ->> 'desired_state') not in ('connected', 'disconnected') then
    perform gateway.fail('invalid_argument', 'unknown desired state');
  end if;

  v_old := gateway.assert_lease(p_agent, p_connector, p_epoch);

  update public.whatsapp_sessions s set
    status = coalesce(p_patch ->> 'status', s.status),
    status_changed_at = case when p_patch ->> 'status' is distinct from s.status and p_patch ? 'status' then now() else s.status_changed_at end,
    status_reason = case when p_patch ? 'status_reason' then p_patch ->> 'status_reason'
                         when p_patch ? 'status' then null else s.status_reason end,
    qr_code = case when p_patch ? 'qr_code' then p_patch ->> 'qr_code' else s.qr_code end,
    qr_expires_at = case when p_patch ? 'qr_expires_at' then (p_patch ->> 'qr_expires_at')::timestamptz else s.qr_expires_at end,
    pairing_code = case when p_patch ? 'pairing_code' then p_patch ->> 'pairing_code' else s.pairing_code end,
    phone_number = case when p_patch ? 'phone_number' then p_patch ->> 'phone_number' else s.phone_number end,
    linked_jid = case when p_patch ? 'linked_jid' then p_patch ->> 'linked_jid' else s.linked_jid end,
    last_connected_at = case when p_patch ? 'last_connected_at' then (p_patch ->> 'last_connected_at')::timestamptz else s.last_connected_at end,
    last_disconnect_code = case when p_patch ? 'last_disconnect_code' then (p_patch ->> 'last_disconnect_code')::integer else s.last_disconnect_code end,
    last_disconnect_reason = case when p_patch ? 'last_disconnect_reason' then left(p_patch ->> 'last_disconnect_reason', 500) else s.last_disconnect_reason end,
    last_disconnected_at = case when p_patch ? 'last_disconnect_code' then now() else s.last_disconnected_at end,
    reconnect_attempts = coalesce((p_patch ->> 'reconnect_attempts')::integer, s.reconnect_attempts),
    qr_attempts = coalesce((p_patch ->> 'qr_attempts')::integer, s.qr_attempts),
    desired_state = coalesce(p_patch ->> 'desired_state', s.desired_state),
    pending_command = case when (p_patch ->> 'clear_command')::boolean then null else s.pending_command end,
    command_force = case when (p_patch ->> 'clear_command')::boolean then false else s.command_force end,
    link_method = case when (p_patch ->> 'clear_link_request')::boolean then null else s.link_method end,
    link_phone = case when (p_patch ->> 'clear_link_request')::boolean then null else s.link_phone end
  where s.agent_id = p_agent
  returning * into v_new;

  if v_new.status is distinct from v_old.status or (v_new.status = 'qr' and v_new.qr_code is distinct from v_old.qr_code) then
    v_severity := case v_new.status when 'logged_out' then 'critical' when 'conflict' then 'critical'
                                    when 'failed' then 'critical' when 'qr_timeout' then 'warning' else 'info' end;
    perform gateway.emit_event(v_new.owner_id, p_agent, 'session.status', v_severity,
      jsonb_build_object('status', v_new.status, 'previous_status', v_old.status, 'reason', v_new.status_reason,
                         'disconnect_code', v_new.last_disconnect_code));
  end if;
  return v_new;
end;
$$;
comment on function gateway.update_session(uuid, uuid, bigint, jsonb) is 'Fenced status report from the owning connector; raises session.status events on change.';

create function gateway.raise_session_alert(p_agent uuid, p_connector uuid, p_epoch bigint, p_type text, p_severity text, p_payload jsonb)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
begin
  if p_type !~ '^(alert|session)\.[a-z_.]+$' or p_severity not in ('info', 'warning', 'critical') then
    perform gateway.fail('invalid_argument', 'alert type must be alert.* or session.* and severity info, warning or critical');
  end if;
  v_session := gateway.assert_lease(p_agent, p_connector, p_epoch);
  return gateway.emit_event(v_session.owner_id, p_agent, p_type, p_severity, p_payload);
end;
$$;
comment on function gateway.raise_session_alert(uuid, uuid, bigint, text, text, jsonb) is 'Fenced: the owning connector raises a session event or alert (with its webhooks).';
