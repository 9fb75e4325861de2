-- A fleet that stays even (issue 12, item 3): how many sessions one connector should hold while
-- others are live, so that a connector that restarted gets its part back instead of the others
-- keeping everything it released. The claim asks for at most `claim_limit`
-- (connector/sql/leases.ts runs this and gateway.claim_sessions in one statement); a connector
-- above its target hands the excess back, paced (connector/sessions/manager.ts).
--
-- The rule, in plain words:
--   live       registered connectors not stopped whose heartbeat (renew_leases, register_connector)
--              is younger than their lease (registered with them; p_live_seconds, the caller's,
--              for one registered without): a connector whose heartbeat is older than its lease
--              has lost every lease it renewed, so it is gone, or fenced off; and the caller.
--   wanting    sessions that want a socket (desired state connected, agent enabled).
--   share      the least s such that the live connectors, each holding min(its capacity, s),
--              hold every wanting session (water-filling, so a small connector's part is taken
--              by the larger ones); when their capacities together fall short, the largest one.
--   target     min(the caller's capacity, share).
--   waiting    sessions nobody serves because their owner's lease ran out (it died, or
--              stalled past its lease). Free sessions (released by a connector that stopped or
--              handed them back, or new) are not: they are in transit, and the connectors below
--              their share take them. Counting them too made an overloaded fleet churn: a
--              hand-back whose last renewal was late looked abandoned, and connectors already at
--              their share took it, only to hand it back again.
--   claim_limit  min(capacity - held, max(target - held, ceil(waiting / live))): up to the
--              target; failover never waits on it (a dead connector's sessions are waiting
--              sessions, taken up to capacity, split across the live connectors).

-- Each connector's lease length, so the fleet judges its heartbeat by its own lease, not by the
-- caller's (connectors with different leases share one fleet during a configuration change).
alter table private.connectors add column lease_seconds integer check (lease_seconds > 0);
comment on column private.connectors.lease_seconds is 'The connector''s lease length (CONNECTOR_LEASE_SECONDS): its heartbeat older than this means it is not live (gateway.session_share). Null for a connector registered before it was recorded.';

drop function gateway.register_connector(uuid, text, integer, text, integer);
create function gateway.register_connector(p_id uuid, p_hostname text, p_pid integer, p_version text, p_capacity integer default 500, p_lease_seconds integer default null)
returns private.connectors
language plpgsql
set search_path = ''
as $$
declare
  v_row private.connectors;
begin
  if p_id is null or coalesce(p_hostname, '') = '' or p_pid is null or p_capacity < 0 or p_lease_seconds < 1 then
    perform gateway.fail('invalid_argument', 'connector id, hostname, pid, a non-negative capacity and a positive lease (or none) are required');
  end if;
  insert into private.connectors (id, hostname, pid, version, capacity, lease_seconds)
  values (p_id, p_hostname, p_pid, coalesce(p_version, 'unknown'), p_capacity, p_lease_seconds)
  on conflict (id) do update
    set hostname = excluded.hostname, pid = excluded.pid, version = excluded.version,
        capacity = excluded.capacity, lease_seconds = excluded.lease_seconds, last_heartbeat_at = now(), stopped_at = null
  returning * into v_row;
  return v_row;
end;
$$;
comment on function gateway.register_connector(uuid, text, integer, text, integer, integer) is 'Registers (or re-registers) a connector process with its capacity and lease length (which gateway.session_share uses to tell whether it is live).';
revoke all on function gateway.register_connector(uuid, text, integer, text, integer, integer) from public, anon, authenticated;
grant execute on function gateway.register_connector(uuid, text, integer, text, integer, integer) to service_role;

create function gateway.session_share(p_connector uuid, p_held integer, p_live_seconds integer)
returns table (live_connectors integer, wanting integer, share integer, target integer, waiting integer, claim_limit integer)
language plpgsql
stable
set search_path = ''
as $$
declare
  v_capacity integer;
  v_caps integer[];
  v_live integer;
  v_below bigint := 0;
begin
  if p_connector is null or p_held is null or p_held < 0 or p_live_seconds is null or p_live_seconds < 1 then
    perform gateway.fail('invalid_argument', 'a connector, held >= 0 and a positive liveness window are required');
  end if;
  select c.capacity into v_capacity from private.connectors c where c.id = p_connector;
  if not found then
    perform gateway.fail('invalid_argument', 'unknown connector (register it first)');
  end if;
  select array_agg(c.capacity order by c.capacity) into v_caps
  from private.connectors c
  where c.id = p_connector
     or (c.stopped_at is null and c.last_heartbeat_at > now() - make_interval(secs => coalesce(c.lease_seconds, p_live_seconds)));
  v_live := cardinality(v_caps);

  select count(*), count(*) filter (where s.owner_connector_id is not null and s.lease_until <= now())
    into wanting, waiting
  from public.whatsapp_sessions s
  join public.agents a on a.id = s.agent_id
  where s.desired_state = 'connected' and a.disabled_at is null;

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
comment on function gateway.session_share(uuid, integer, integer) is 'The fleet''s even share for one connector holding p_held sessions: live connectors (not stopped, heartbeat within their lease; p_live_seconds for one registered without), sessions wanting a socket, the water-filled share over the live connectors'' capacities, this connector''s target (its capacity at most), sessions waiting with nobody serving them, and how many it may claim now (up to its target; waiting sessions up to its capacity, split across the live connectors).';

revoke all on function gateway.session_share(uuid, integer, integer) from public, anon, authenticated;
grant execute on function gateway.session_share(uuid, integer, integer) to service_role;
