-- Baileys auth state in Postgres (DESIGN invariant 2: nothing on local disk). The application
-- encrypts with AES-256-GCM before writing; these tables hold ciphertext and the version of the
-- key that made it, never plaintext. Every write is fenced by the session lease.

create table private.session_credentials (
  agent_id uuid primary key references public.agents (id) on delete cascade,
  ciphertext bytea not null,
  key_version integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table private.session_credentials is 'Encrypted Baileys creds of a session (AES-256-GCM by the connector; associated data binds the agent).';
create trigger session_credentials_touch_updated_at before update on private.session_credentials
  for each row execute function private.touch_updated_at();

create table private.signal_keys (
  agent_id uuid not null references public.agents (id) on delete cascade,
  key_type text not null check (key_type in (
    'pre-key', 'session', 'sender-key', 'sender-key-memory', 'app-state-sync-key',
    'app-state-sync-version', 'lid-mapping', 'device-list', 'tctoken', 'identity-key')),
  key_id text not null check (char_length(key_id) between 1 and 512),
  ciphertext bytea not null,
  key_version integer not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (agent_id, key_type, key_id)
);
comment on table private.signal_keys is 'Encrypted Signal keys per (session, key type, key id); associated data binds all three so rows cannot be swapped.';
create index signal_keys_age_idx on private.signal_keys (agent_id, key_type, updated_at);

create function gateway.load_creds(p_agent uuid, p_connector uuid, p_epoch bigint)
returns table (ciphertext bytea, key_version integer)
language plpgsql
set search_path = ''
as $$
begin
  perform gateway.assert_lease(p_agent, p_connector, p_epoch);
  return query select c.ciphertext, c.key_version from private.session_credentials c where c.agent_id = p_agent;
end;
$$;
comment on function gateway.load_creds(uuid, uuid, bigint) is 'Fenced read of a session''s encrypted creds (no row: never linked or wiped).';

create function gateway.save_creds(p_agent uuid, p_connector uuid, p_epoch bigint, p_ciphertext bytea, p_key_version integer)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_ciphertext is null or length(p_ciphertext) < 29 or p_key_version is null then
    perform gateway.fail('invalid_argument', 'ciphertext (nonce, data, tag) and key version are required');
  end if;
  perform gateway.assert_lease(p_agent, p_connector, p_epoch);
  insert into private.session_credentials (agent_id, ciphertext, key_version)
  values (p_agent, p_ciphertext, p_key_version)
  on conflict (agent_id) do update set ciphertext = excluded.ciphertext, key_version = excluded.key_version;
end;
$$;
comment on function gateway.save_creds(uuid, uuid, bigint, bytea, integer) is 'Fenced write of a session''s encrypted creds.';

create function gateway.get_signal_keys(p_agent uuid, p_connector uuid, p_epoch bigint, p_key_type text, p_key_ids text[])
returns table (key_id text, ciphertext bytea, key_version integer)
language plpgsql
set search_path = ''
as $$
begin
  perform gateway.assert_lease(p_agent, p_connector, p_epoch);
  return query
  select k.key_id, k.ciphertext, k.key_version from private.signal_keys k
  where k.agent_id = p_agent and k.key_type = p_key_type and k.key_id = any (p_key_ids);
end;
$$;
comment on function gateway.get_signal_keys(uuid, uuid, bigint, text, text[]) is 'Fenced read of some Signal keys of one type; missing ids are simply absent.';

-- One Baileys keys.set: upserts and deletes (null or empty ciphertext) of many keys of several types, in
-- the caller's single transaction, refused as a whole when the lease is stale.
create function gateway.write_signal_keys(
  p_agent uuid, p_connector uuid, p_epoch bigint,
  p_key_types text[], p_key_ids text[], p_ciphertexts bytea[], p_key_versions integer[]
)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_n integer := coalesce(array_length(p_key_types, 1), 0);
  v_deleted integer;
  v_upserted integer;
begin
  if v_n <> coalesce(array_length(p_key_ids, 1), 0) or v_n <> coalesce(array_length(p_ciphertexts, 1), 0)
     or v_n <> coalesce(array_length(p_key_versions, 1), 0) then
    perform gateway.fail('invalid_argument', 'key types, ids, ciphertexts and versions must have the same length');
  end if;
  perform gateway.assert_lease(p_agent, p_connector, p_epoch);

  delete from private.signal_keys k
  using unnest(p_key_types, p_key_ids, p_ciphertexts) as d(key_type, key_id, ciphertext)
  where (d.ciphertext is null or length(d.ciphertext) = 0) and k.agent_id = p_agent and k.key_type = d.key_type and k.key_id = d.key_id;
  get diagnostics v_deleted = row_count;

  insert into private.signal_keys as k (agent_id, key_type, key_id, ciphertext, key_version)
  select distinct on (u.key_type, u.key_id) p_agent, u.key_type, u.key_id, u.ciphertext, u.key_version
  from unnest(p_key_types, p_key_ids, p_ciphertexts, p_key_versions) with ordinality
    as u(key_type, key_id, ciphertext, key_version, ord)
  where length(u.ciphertext) > 0
  order by u.key_type, u.key_id, u.ord desc
  on conflict (agent_id, key_type, key_id) do update
    set ciphertext = excluded.ciphertext, key_version = excluded.key_version, updated_at = now();
  get diagnostics v_upserted = row_count;
  return v_deleted + v_upserted;
exception
  when check_violation then
    perform gateway.fail('invalid_argument', 'unknown key type or malformed key id');
end;
$$;
comment on function gateway.write_signal_keys(uuid, uuid, bigint, text[], text[], bytea[], integer[]) is 'Fenced batch write of Signal keys: a null or empty ciphertext deletes; the last write of a duplicated key wins.';

create function gateway.wipe_auth_state(p_agent uuid, p_connector uuid, p_epoch bigint)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform gateway.assert_lease(p_agent, p_connector, p_epoch);
  delete from private.signal_keys where agent_id = p_agent;
  delete from private.session_credentials where agent_id = p_agent;
end;
$$;
comment on function gateway.wipe_auth_state(uuid, uuid, bigint) is 'Fenced: deletes creds and every Signal key of a session (logout, device removed).';

create function gateway.signal_key_counts(p_agent uuid default null)
returns table (agent_id uuid, key_type text, key_count bigint)
language sql
stable
set search_path = ''
as $$
  select k.agent_id, k.key_type, count(*) from private.signal_keys k
  where p_agent is null or k.agent_id = p_agent
  group by k.agent_id, k.key_type
$$;
comment on function gateway.signal_key_counts(uuid) is 'Signal key rows per session and type, for metrics and the hygiene thresholds.';

-- The auth-safety seed's hygiene, made exact: never while the session is connected or leased,
-- never creds or app-state keys, pre-keys only beyond the newest p_keep_pre_keys, and only
-- rows untouched for p_min_age.
create function gateway.prune_signal_keys(p_agent uuid, p_min_age interval default interval '14 days', p_keep_pre_keys integer default 30)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
  v_deleted integer;
begin
  if p_min_age < interval '14 days' or p_keep_pre_keys < 30 then
    perform gateway.fail('invalid_argument', 'hygiene keeps keys younger than 14 days and at least 30 pre-keys');
  end if;
  select * into v_session from public.whatsapp_sessions where agent_id = p_agent for update;
  if v_session.agent_id is null then
    perform gateway.fail('unknown_agent', 'no session for this agent');
  end if;
  if v_session.status in ('connected', 'connecting', 'reconnecting')
     or (v_session.owner_connector_id is not null and v_session.lease_until > now()) then
    perform gateway.fail('conflict', 'key hygiene never runs on a connected or owned session');
  end if;
  with doomed as (
    select k.key_type, k.key_id from private.signal_keys k
    where k.agent_id = p_agent and k.updated_at < now() - p_min_age
      and k.key_type in ('session', 'sender-key', 'sender-key-memory')
    union all
    select p.key_type, p.key_id from (
      select k.key_type, k.key_id, k.updated_at,
             row_number() over (order by k.updated_at desc, k.key_id desc) as rn
      from private.signal_keys k where k.agent_id = p_agent and k.key_type = 'pre-key'
    ) p
    where p.rn > p_keep_pre_keys and p.updated_at < now() - p_min_age
  )
  delete from private.signal_keys k using doomed
  where k.agent_id = p_agent and k.key_type = doomed.key_type and k.key_id = doomed.key_id;
  get diagnostics v_deleted = row_count;
  return v_deleted;
end;
$$;
comment on function gateway.prune_signal_keys(uuid, interval, integer) is 'Key hygiene per the auth-safety seed: only disconnected, unowned sessions; never creds or app-state keys; keeps >= 30 pre-keys and everything younger than 14 days.';
