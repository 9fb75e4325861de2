-- Every Signal key cleanup keeps a backup, and operators get the seed's --force.
--
-- The auth-safety seed (002) asks for a backup before any cleanup. Each cleanup now copies the
-- rows it is about to delete into private.signal_key_backups (ciphertext as it was, still sealed
-- by the application with associated data naming the session, key type and key id, so a restored
-- row opens only in its own place) and then deletes exactly those rows, in one transaction: the
-- copy is written first and the delete joins on it. The retention job purges backups after
-- KEY_BACKUP_RETENTION_DAYS. The automatic hygiene keeps its guards; ops.prune_signal_keys is the
-- operator's version, whose `force` overrides only the connected/owned guard, never the 14-day
-- age rule nor the key types (pre-keys, creds and app-state keys are never pruned).

create table private.signal_key_backups (
  id bigint generated always as identity primary key,
  cleanup_id uuid not null,
  agent_id uuid not null references public.agents (id) on delete cascade,
  key_type text not null,
  key_id text not null,
  ciphertext bytea not null,
  key_version integer not null,
  key_created_at timestamptz not null,
  key_updated_at timestamptz not null,
  reason text not null check (reason in ('hygiene', 'operator', 'forced', 'emergency')),
  backed_up_at timestamptz not null default now()
);
comment on table private.signal_key_backups is 'Signal key rows a cleanup deleted, as they were (still encrypted), one cleanup_id per run; purged by the retention job.';
create index signal_key_backups_cleanup on private.signal_key_backups (cleanup_id);
create index signal_key_backups_agent on private.signal_key_backups (agent_id, backed_up_at);
create index signal_key_backups_age on private.signal_key_backups (backed_up_at);
revoke all on private.signal_key_backups from public, anon, authenticated;
grant select, insert, delete on private.signal_key_backups to service_role;

create function private.signal_key_prunable(p_type text, p_updated_at timestamptz, p_min_age interval)
returns boolean
language sql
stable
set search_path = ''
as $$
  -- Only the types that grow with use; never pre-keys (unconsumed ones are still handed out by
  -- WhatsApp's server), creds or app-state keys.
  select p_type in ('session', 'sender-key', 'sender-key-memory') and p_updated_at < now() - p_min_age
$$;
comment on function private.signal_key_prunable(text, timestamptz, interval) is 'Which Signal key rows a cleanup may delete: session and sender-key rows untouched for p_min_age.';

create function private.prune_signal_keys_backed_up(p_agent uuid, p_min_age interval, p_reason text)
returns table (cleanup_id uuid, deleted integer)
language plpgsql
set search_path = ''
as $$
declare
  v_cleanup uuid := gen_random_uuid();
  v_backed_up integer;
  v_deleted integer;
begin
  if p_min_age is null or p_min_age < interval '14 days' then
    perform gateway.fail('invalid_argument', 'cleanup keeps keys younger than 14 days');
  end if;
  -- The copy first, locking the rows so no write changes them between copy and delete.
  insert into private.signal_key_backups (cleanup_id, agent_id, key_type, key_id, ciphertext, key_version, key_created_at, key_updated_at, reason)
  select v_cleanup, k.agent_id, k.key_type, k.key_id, k.ciphertext, k.key_version, k.created_at, k.updated_at, p_reason
  from private.signal_keys k
  where k.agent_id = p_agent and private.signal_key_prunable(k.key_type, k.updated_at, p_min_age)
  for update of k;
  get diagnostics v_backed_up = row_count;
  delete from private.signal_keys k
  using private.signal_key_backups b
  where b.cleanup_id = v_cleanup and k.agent_id = b.agent_id and k.key_type = b.key_type and k.key_id = b.key_id;
  get diagnostics v_deleted = row_count;
  if v_deleted <> v_backed_up then
    raise exception 'signal key cleanup deleted % rows but backed up %', v_deleted, v_backed_up;
  end if;
  cleanup_id := v_cleanup;
  deleted := v_deleted;
  return next;
end;
$$;
comment on function private.prune_signal_keys_backed_up(uuid, interval, text) is 'The one place Signal keys are cleaned up: backs up the prunable rows, then deletes exactly those, in the caller''s transaction.';

create or replace function gateway.prune_signal_keys(p_agent uuid, p_min_age interval default interval '14 days')
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
begin
  if p_min_age is null or p_min_age < interval '14 days' then
    perform gateway.fail('invalid_argument', 'hygiene keeps keys younger than 14 days');
  end if;
  select * into v_session from public.whatsapp_sessions where agent_id = p_agent for update;
  if v_session.agent_id is null then
    perform gateway.fail('unknown_agent', 'no session for this agent');
  end if;
  if v_session.status in ('connected', 'connecting', 'reconnecting')
     or (v_session.owner_connector_id is not null and v_session.lease_until > now()) then
    perform gateway.fail('conflict', 'key hygiene never runs on a connected or owned session');
  end if;
  return (select b.deleted from private.prune_signal_keys_backed_up(p_agent, p_min_age, 'hygiene') b);
end;
$$;
comment on function gateway.prune_signal_keys(uuid, interval) is 'Key hygiene per the auth-safety seed: only disconnected, unowned sessions; only session and sender-key rows untouched for 14 days or more, backed up first (private.signal_key_backups); never pre-keys, creds or app-state keys.';

create function ops.prune_signal_keys(p_agent uuid, p_force boolean default false, p_min_age interval default interval '14 days')
returns table (cleanup_id uuid, deleted integer, forced boolean)
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
  v_live boolean;
begin
  select * into v_session from public.whatsapp_sessions s where s.agent_id = p_agent for update;
  if v_session.agent_id is null then
    perform gateway.fail('unknown_agent', 'no session for this agent');
  end if;
  v_live := v_session.status in ('connected', 'connecting', 'reconnecting')
    or (v_session.owner_connector_id is not null and v_session.lease_until > now());
  if v_live and not coalesce(p_force, false) then
    perform gateway.fail('conflict', 'the session is connected or owned; cleaning up under a live socket breaks its encryption (pass p_force => true to override)');
  end if;
  select b.cleanup_id, b.deleted into cleanup_id, deleted
  from private.prune_signal_keys_backed_up(p_agent, p_min_age, case when v_live then 'forced' else 'operator' end) b;
  forced := v_live;
  return next;
end;
$$;
comment on function ops.prune_signal_keys(uuid, boolean, interval) is 'Operator: key cleanup of one session with backup. Refused while the session is connected or owned unless p_force; never younger than 14 days, never pre-keys, creds or app-state keys.';

create function ops.restore_signal_keys(p_cleanup_id uuid)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_agent uuid;
  v_session public.whatsapp_sessions;
  v_restored integer;
begin
  select b.agent_id into v_agent from private.signal_key_backups b where b.cleanup_id = p_cleanup_id limit 1;
  if v_agent is null then
    perform gateway.fail('not_found', 'no backup with this cleanup id (purged or never made)');
  end if;
  select * into v_session from public.whatsapp_sessions s where s.agent_id = v_agent for update;
  if v_session.status in ('connected', 'connecting', 'reconnecting')
     or (v_session.owner_connector_id is not null and v_session.lease_until > now()) then
    perform gateway.fail('conflict', 'restore only while the session is disconnected and unowned');
  end if;
  -- A key written since the cleanup is newer than its backup: keep it.
  insert into private.signal_keys (agent_id, key_type, key_id, ciphertext, key_version, created_at, updated_at)
  select b.agent_id, b.key_type, b.key_id, b.ciphertext, b.key_version, b.key_created_at, b.key_updated_at
  from private.signal_key_backups b where b.cleanup_id = p_cleanup_id
  on conflict do nothing;
  get diagnostics v_restored = row_count;
  return v_restored;
end;
$$;
comment on function ops.restore_signal_keys(uuid) is 'Operator: puts back the keys one cleanup deleted (only while the session is disconnected and unowned; keys written since are kept).';

create function gateway.purge_signal_key_backups(p_days integer)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  if p_days is null or p_days < 1 then
    perform gateway.fail('invalid_argument', 'backups are kept at least one day');
  end if;
  delete from private.signal_key_backups b where b.backed_up_at < now() - make_interval(days => p_days);
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function gateway.purge_signal_key_backups(integer) is 'Job (retention): deletes Signal key backups older than p_days.';

revoke all on function private.signal_key_prunable(text, timestamptz, interval) from public, anon, authenticated;
revoke all on function private.prune_signal_keys_backed_up(uuid, interval, text) from public, anon, authenticated;
revoke all on function ops.prune_signal_keys(uuid, boolean, interval) from public, anon, authenticated;
revoke all on function ops.restore_signal_keys(uuid) from public, anon, authenticated;
revoke all on function gateway.purge_signal_key_backups(integer) from public, anon, authenticated;
grant execute on function ops.prune_signal_keys(uuid, boolean, interval) to service_role;
grant execute on function ops.restore_signal_keys(uuid) to service_role;
grant execute on function gateway.purge_signal_key_backups(integer) to service_role;
grant execute on function private.signal_key_prunable(text, timestamptz, interval) to service_role;
grant execute on function private.prune_signal_keys_backed_up(uuid, interval, text) to service_role;
