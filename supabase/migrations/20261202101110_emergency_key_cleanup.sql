-- The seed's emergency procedure (above 180 keys: stop the session, clean up, restart, verify) as
-- one operator function with a dry run.
--
-- SQL cannot wait for a connector to end a socket, so the procedure is a state machine kept in
-- private.emergency_key_cleanups, advanced by whoever comes next: the operator calling the same
-- function again, or the lease-sweep job (every minute, gateway.advance_emergency_key_cleanups).
--
--   stopping    desired_state set to 'disconnected'; the owning connector ends the socket on its
--               next renewal and releases the lease. Nothing is deleted while the session is
--               connected or owned.
--   restarting  the session was down: its prunable keys were backed up and deleted (reason
--               'emergency', one cleanup_id) in one transaction, and the desired state it had
--               before was put back, so a connector claims and connects it again.
--   verified    the session connected again after the cleanup (or it was not meant to run, so
--               there was nothing to restart); the key counts then are recorded.
--   failed      after the cleanup the session ended logged out, failed, in conflict or without a
--               QR scan: a critical alert; the backup can be restored (ops.restore_signal_keys).
--   cancelled   the operator cancelled while it was still stopping; the desired state is back.
-- The cleanup keeps the seed's rules: nothing younger than 14 days, never pre-keys, creds or
-- app-state keys.

create table private.emergency_key_cleanups (
  id uuid primary key default gen_random_uuid(),
  agent_id uuid not null references public.agents (id) on delete cascade,
  state text not null check (state in ('stopping', 'restarting', 'verified', 'failed', 'cancelled')),
  requested_by text not null default current_user,
  requested_at timestamptz not null default now(),
  min_age interval not null,
  restore_desired_state text not null check (restore_desired_state in ('connected', 'disconnected')),
  keys_before jsonb not null,
  cleanup_id uuid,
  deleted integer,
  cleaned_at timestamptz,
  keys_after_cleanup jsonb,
  verified_at timestamptz,
  verification jsonb,
  updated_at timestamptz not null default now()
);
comment on table private.emergency_key_cleanups is 'The emergency key cleanup procedure per session (stop, clean up with backup, restart, verify) and where it stands.';
create unique index emergency_key_cleanups_one_open on private.emergency_key_cleanups (agent_id) where state in ('stopping', 'restarting');
revoke all on private.emergency_key_cleanups from public, anon, authenticated;
grant select, insert, update on private.emergency_key_cleanups to service_role;

create function private.signal_key_type_counts(p_agent uuid, p_min_age interval default null)
returns jsonb
language sql
stable
set search_path = ''
as $$
  -- With p_min_age: only the rows a cleanup with that age would delete.
  select coalesce(jsonb_object_agg(t.key_type, t.n), '{}'::jsonb)
  from (
    select k.key_type, count(*) as n from private.signal_keys k
    where k.agent_id = p_agent and (p_min_age is null or private.signal_key_prunable(k.key_type, k.updated_at, p_min_age))
    group by k.key_type
  ) t
$$;
comment on function private.signal_key_type_counts(uuid, interval) is 'Signal key rows of one session per type (with p_min_age: those a cleanup would delete).';

create function private.advance_emergency_key_cleanup(p_id uuid)
returns private.emergency_key_cleanups
language plpgsql
set search_path = ''
as $$
declare
  v private.emergency_key_cleanups;
  s public.whatsapp_sessions;
begin
  select * into v from private.emergency_key_cleanups c where c.id = p_id for update;
  select * into s from public.whatsapp_sessions ws where ws.agent_id = v.agent_id for update;
  if v.state = 'stopping' then
    if s.status in ('connected', 'connecting', 'reconnecting', 'qr', 'pairing_code')
       or (s.owner_connector_id is not null and s.lease_until > now()) then
      -- Still up: keep asking (a link or restart request in between would have turned it on).
      if s.desired_state <> 'disconnected' then
        update public.whatsapp_sessions set desired_state = 'disconnected' where agent_id = v.agent_id;
      end if;
      return v;
    end if;
    select b.cleanup_id, b.deleted into v.cleanup_id, v.deleted
    from private.prune_signal_keys_backed_up(v.agent_id, v.min_age, 'emergency') b;
    v.cleaned_at := now();
    v.keys_after_cleanup := private.signal_key_type_counts(v.agent_id);
    if v.restore_desired_state = 'connected' then
      update public.whatsapp_sessions set desired_state = 'connected' where agent_id = v.agent_id;
      v.state := 'restarting';
    else
      v.state := 'verified';
      v.verified_at := now();
      v.verification := jsonb_build_object('restarted', false, 'status', s.status, 'keys', v.keys_after_cleanup);
    end if;
  elsif v.state = 'restarting' then
    if s.status = 'connected' and s.status_changed_at >= v.cleaned_at then
      v.state := 'verified';
    elsif s.status in ('logged_out', 'failed', 'conflict', 'qr_timeout') and s.status_changed_at >= v.cleaned_at then
      v.state := 'failed';
      perform gateway.emit_event(s.owner_id, s.agent_id, 'alert.key_cleanup_failed', 'critical',
        jsonb_build_object('status', s.status, 'cleanup_id', v.cleanup_id, 'deleted', v.deleted));
    else
      return v;
    end if;
    v.verified_at := now();
    v.verification := jsonb_build_object('restarted', true, 'status', s.status, 'status_reason', s.status_reason,
      'last_connected_at', s.last_connected_at, 'keys', private.signal_key_type_counts(v.agent_id));
  else
    return v;
  end if;
  v.updated_at := now();
  update private.emergency_key_cleanups c set
    state = v.state, cleanup_id = v.cleanup_id, deleted = v.deleted, cleaned_at = v.cleaned_at,
    keys_after_cleanup = v.keys_after_cleanup, verified_at = v.verified_at, verification = v.verification, updated_at = v.updated_at
  where c.id = v.id;
  return v;
end;
$$;
comment on function private.advance_emergency_key_cleanup(uuid) is 'Moves one emergency key cleanup on as far as the session''s state allows now.';

create function gateway.advance_emergency_key_cleanups()
returns integer
language plpgsql
set search_path = ''
as $$
declare
  r record;
  v_moved integer := 0;
  v_after private.emergency_key_cleanups;
begin
  for r in select c.id, c.state from private.emergency_key_cleanups c where c.state in ('stopping', 'restarting') order by c.requested_at loop
    v_after := private.advance_emergency_key_cleanup(r.id);
    if v_after.state <> r.state then v_moved := v_moved + 1; end if;
  end loop;
  return v_moved;
end;
$$;
comment on function gateway.advance_emergency_key_cleanups() is 'Job (lease sweep): advances every open emergency key cleanup; returns how many changed state.';

create function ops.emergency_key_cleanup(p_agent uuid, p_dry_run boolean default true, p_min_age interval default interval '14 days')
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  s public.whatsapp_sessions;
  v private.emergency_key_cleanups;
  v_owned boolean;
begin
  if p_min_age is null or p_min_age < interval '14 days' then
    perform gateway.fail('invalid_argument', 'cleanup keeps keys younger than 14 days');
  end if;
  select * into s from public.whatsapp_sessions ws where ws.agent_id = p_agent;
  if s.agent_id is null then
    perform gateway.fail('unknown_agent', 'no session for this agent');
  end if;
  select * into v from private.emergency_key_cleanups c where c.agent_id = p_agent and c.state in ('stopping', 'restarting');
  v_owned := s.owner_connector_id is not null and s.lease_until > now();
  if coalesce(p_dry_run, true) then
    return jsonb_build_object(
      'dry_run', true,
      'session', jsonb_build_object('status', s.status, 'desired_state', s.desired_state, 'owned', v_owned),
      'keys', private.signal_key_type_counts(p_agent),
      'would_delete', private.signal_key_type_counts(p_agent, coalesce(v.min_age, p_min_age)),
      'open_procedure', case when v.id is null then null else to_jsonb(v) end,
      'next_step', case
        when v.id is not null then 'a procedure is open; call with p_dry_run => false to advance it'
        when s.status in ('connected', 'connecting', 'reconnecting', 'qr', 'pairing_code') or v_owned
          then 'a real run asks the connector to stop the session, then cleans up, restarts and verifies'
        else 'a real run cleans up now, restarts if the session was meant to run, and verifies' end);
  end if;
  if v.id is null then
    insert into private.emergency_key_cleanups (agent_id, state, min_age, restore_desired_state, keys_before)
    values (p_agent, 'stopping', p_min_age, s.desired_state, private.signal_key_type_counts(p_agent))
    returning * into v;
    update public.whatsapp_sessions set desired_state = 'disconnected' where agent_id = p_agent and desired_state <> 'disconnected';
  end if;
  v := private.advance_emergency_key_cleanup(v.id);
  return to_jsonb(v) || jsonb_build_object('dry_run', false, 'next_step', case v.state
    when 'stopping' then 'waiting for the connector to stop the session; the lease sweep (every minute) or another call continues'
    when 'restarting' then 'cleaned up; waiting for the session to connect again; the lease sweep or another call verifies'
    when 'verified' then 'done'
    else 'failed: see verification; ops.restore_signal_keys(cleanup_id) puts the keys back' end);
end;
$$;
comment on function ops.emergency_key_cleanup(uuid, boolean, interval) is 'Operator: the seed''s emergency key procedure (stop, clean up with backup, restart, verify). Dry run by default (changes nothing); a real run starts or advances the procedure.';

create function ops.cancel_emergency_key_cleanup(p_agent uuid)
returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v private.emergency_key_cleanups;
begin
  update private.emergency_key_cleanups c set state = 'cancelled', updated_at = now()
  where c.agent_id = p_agent and c.state = 'stopping'
  returning * into v;
  if v.id is null then
    perform gateway.fail('conflict', 'no emergency cleanup of this session is still stopping (a cleaned one cannot be cancelled; restore it instead)');
  end if;
  update public.whatsapp_sessions set desired_state = v.restore_desired_state where agent_id = p_agent;
  return to_jsonb(v);
end;
$$;
comment on function ops.cancel_emergency_key_cleanup(uuid) is 'Operator: cancels an emergency key cleanup that has not cleaned up yet and puts the desired state back.';

create view ops.emergency_key_cleanups with (security_invoker = true) as
select c.*, a.name as agent_name from private.emergency_key_cleanups c join public.agents a on a.id = c.agent_id
order by c.requested_at desc;
comment on view ops.emergency_key_cleanups is 'Emergency key cleanups, newest first, with where each stands.';

revoke all on ops.emergency_key_cleanups from public, anon, authenticated;
grant select on ops.emergency_key_cleanups to service_role;
revoke all on function private.signal_key_type_counts(uuid, interval) from public, anon, authenticated;
revoke all on function private.advance_emergency_key_cleanup(uuid) from public, anon, authenticated;
revoke all on function gateway.advance_emergency_key_cleanups() from public, anon, authenticated;
revoke all on function ops.emergency_key_cleanup(uuid, boolean, interval) from public, anon, authenticated;
revoke all on function ops.cancel_emergency_key_cleanup(uuid) from public, anon, authenticated;
grant execute on function private.signal_key_type_counts(uuid, interval) to service_role;
grant execute on function private.advance_emergency_key_cleanup(uuid) to service_role;
grant execute on function gateway.advance_emergency_key_cleanups() to service_role;
grant execute on function ops.emergency_key_cleanup(uuid, boolean, interval) to service_role;
grant execute on function ops.cancel_emergency_key_cleanup(uuid) to service_role;
