-- The fleet's share counts, for a connector, only the sessions it can open and the peers that can
-- open them too (issue 12, item 3). During a key rollout a connector may hold a keyring without
-- the version some sessions' creds are sealed under (gateway.claim_sessions already skips those
-- for it). Counted as a peer anyway, it halved the share of the connector that can open them, so
-- that one took only its half and the rest waited for a socket nobody would give them.
--
-- The rule, changed from 20261202135000_session_share.sql in two places:
--   wanting    sessions that want a socket and that the caller can open (no creds yet, or creds
--              sealed under one of p_key_versions; null: any, as before).
--   live       the caller, and the live connectors (as before) that can open every key version
--              among those sessions (their registered key_versions contain them; a connector
--              registered without key versions counts, as before). A peer that can open only
--              some of them is not counted: the caller's share is then larger than even, which
--              costs balance during a rollout, never a session without a socket.
-- waiting counts the same sessions the caller can open.

alter table private.connectors add column key_versions integer[];
comment on column private.connectors.key_versions is 'The key versions of the connector''s keyring (CONNECTOR_ENCRYPTION_KEYS): the creds it can open. gateway.session_share counts a peer only for sessions whose versions it holds. Null: not recorded (counted for every session).';

drop function gateway.register_connector(uuid, text, integer, text, integer, integer);
create function gateway.register_connector(p_id uuid, p_hostname text, p_pid integer, p_version text, p_capacity integer default 500, p_lease_seconds integer default null, p_key_versions integer[] default null)
returns private.connectors
language plpgsql
set search_path = ''
as $$
declare
  v_row private.connectors;
begin
  if p_id is null or coalesce(p_hostname, '') = '' or p_pid is null or p_capacity < 0 or p_lease_seconds < 1
     or array_position(p_key_versions, null) is not null then
    perform gateway.fail('invalid_argument', 'connector id, hostname, pid, a non-negative capacity, a positive lease (or none) and key versions without nulls (or none) are required');
  end if;
  insert into private.connectors (id, hostname, pid, version, capacity, lease_seconds, key_versions)
  values (p_id, p_hostname, p_pid, coalesce(p_version, 'unknown'), p_capacity, p_lease_seconds, p_key_versions)
  on conflict (id) do update
    set hostname = excluded.hostname, pid = excluded.pid, version = excluded.version, capacity = excluded.capacity,
        lease_seconds = excluded.lease_seconds, key_versions = excluded.key_versions, last_heartbeat_at = now(), stopped_at = null
  returning * into v_row;
  return v_row;
end;
$$;
comment on function gateway.register_connector(uuid, text, integer, text, integer, integer, integer[]) is 'Registers (or re-registers) a connector process with its capacity, lease length and the key versions it can open (which gateway.session_share uses to tell whether it is live, and for which sessions it counts).';
revoke all on function gateway.register_connector(uuid, text, integer, text, integer, integer, integer[]) from public, anon, authenticated;
grant execute on function gateway.register_connector(uuid, text, integer, text, integer, integer, integer[]) to service_role;

drop function gateway.session_share(uuid, integer, integer);
create function gateway.session_share(p_connector uuid, p_held integer, p_live_seconds integer, p_key_versions integer[] default null)
returns table (live_connectors integer, wanting integer, share integer, target integer, waiting integer, claim_limit integer)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_capacity integer;
  v_caps integer[];
  v_live integer;
  v_versions integer[];
  v_below bigint := 0;
begin
  if p_connector is null or p_held is null or p_held < 0 or p_live_seconds is null or p_live_seconds < 1 then
    perform gateway.fail('invalid_argument', 'a connector, held >= 0 and a positive liveness window are required');
  end if;
  select c.capacity into v_capacity from private.connectors c where c.id = p_connector;
  if not found then
    perform gateway.fail('invalid_argument', 'unknown connector (register it first)');
  end if;

  select count(*), count(*) filter (where s.owner_connector_id is not null and s.lease_until <= now()),
         coalesce(array_agg(distinct k.key_version) filter (where k.key_version is not null), '{}')
    into wanting, waiting, v_versions
  from public.whatsapp_sessions s
  join public.agents a on a.id = s.agent_id
  left join private.session_credentials k on k.agent_id = s.agent_id
  where s.desired_state = 'connected' and a.disabled_at is null
    and (p_key_versions is null or k.agent_id is null or k.key_version = any (p_key_versions));

  select array_agg(c.capacity order by c.capacity) into v_caps
  from private.connectors c
  where c.id = p_connector
     or (c.stopped_at is null and c.last_heartbeat_at > now() - make_interval(secs => coalesce(c.lease_seconds, p_live_seconds))
         and (c.key_versions is null or c.key_versions @> v_versions));
  v_live := cardinality(v_caps);

  -- Water-filling over the capacities in ascending order: the first j at which the j-th
  -- smallest capacity, given to it and every larger connector, covers what the smaller ones
  -- leave, bounds the share.
  share := v_caps[v_live];
  for j in 1 .. v_live loop
    if v_below + (v_live - j + 1)::bigint * v_caps[j] >= wanting then
      share := ceil((wanting - v_below)::numeric / (v_live - j + 1))::integer;
      exit;
    end if;
    v_below := v_below + v_caps[j];
  end loop;

  live_connectors := v_live;
  target := least(v_capacity, share);
  claim_limit := greatest(0, least(v_capacity - p_held, greatest(target - p_held, ceil(waiting::numeric / v_live)::integer)));
  return next;
end;
$$;
comment on function gateway.session_share(uuid, integer, integer, integer[]) is 'The fleet''s even share for one connector holding p_held sessions, over the sessions it can open (creds sealed under one of p_key_versions, or none yet; null: all): live connectors that can open them too (not stopped, heartbeat within their lease, p_live_seconds for one registered without; key versions containing theirs), sessions wanting a socket, the water-filled share over the live connectors'' capacities, this connector''s target (its capacity at most), sessions waiting with nobody serving them, and how many it may claim now (up to its target; waiting sessions up to its capacity, split across the live connectors).';

revoke all on function gateway.session_share(uuid, integer, integer, integer[]) from public, anon, authenticated;
grant execute on function gateway.session_share(uuid, integer, integer, integer[]) to service_role;

-- A connector whose key of some version fails to open creds sealed under that version (a wrong
-- key under the right version number: the session ends `unreadable` with an alert) is no peer
-- for that version's sessions either: it would hand them back each time. It stops counting for
-- them; its claims are unchanged (a corrupt row must not stop every connector from claiming the
-- version), so at worst the fleet is uneven for that version, never without a socket.
create function gateway.connector_cannot_open(p_connector uuid, p_agent uuid)
returns void
language sql
set search_path = ''
as $$
  update private.connectors c
  set key_versions = array_remove(c.key_versions, k.key_version)
  from private.session_credentials k
  where c.id = p_connector and k.agent_id = p_agent;
$$;
comment on function gateway.connector_cannot_open(uuid, uuid) is 'Records that this connector''s key of the version p_agent''s creds are sealed under did not open them: gateway.session_share no longer counts it as a peer for sessions of that version (its claims are unchanged).';
revoke all on function gateway.connector_cannot_open(uuid, uuid) from public, anon, authenticated;
grant execute on function gateway.connector_cannot_open(uuid, uuid) to service_role;
