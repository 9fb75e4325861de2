-- Fair webhook outbox. The first claim_deliveries took due rows oldest first across every
-- tenant, so one flooded or slow endpoint (10 s timeouts) filled every dispatcher slot of the
-- fleet and delayed everyone else's webhooks. Now a claim goes endpoint by endpoint:
--   * at most p_per_endpoint deliveries of one endpoint are in flight across the whole fleet;
--   * endpoints take turns: every endpoint picked in a claim gets its oldest due row before any
--     gets a second one, and endpoints are picked by how long their oldest due row has waited;
--   * a disabled endpoint gets nothing (its rows wait, and go out once it is enabled again);
--   * a row that already used its max_attempts (its last attempt's claim expired, e.g. the
--     dispatcher crashed) is dead-lettered instead of being tried once more.
--
-- The cap holds across concurrent claims because the claim first locks the endpoints it serves
-- (FOR UPDATE SKIP LOCKED on webhook_endpoints) in one statement and counts their deliveries in
-- flight in a second statement: a second dispatcher either skips a locked endpoint or locks it
-- after the first one committed, and then its own fresh snapshot sees those claims. (Counting
-- in the locking statement itself would use a snapshot taken before the lock was granted.)

-- Per endpoint: the due rows in order, and the rows in flight (small: at most the cap each).
create index webhook_deliveries_endpoint_due_idx on public.webhook_deliveries (endpoint_id, next_attempt_at)
  where status in ('pending', 'delivering');
create index webhook_deliveries_endpoint_in_flight_idx on public.webhook_deliveries (endpoint_id, locked_until)
  where status = 'delivering';

drop function gateway.claim_deliveries(uuid, integer, integer);

create function gateway.claim_deliveries(
  p_connector uuid, p_limit integer default 50, p_visibility_seconds integer default 30, p_per_endpoint integer default 8
)
returns table (
  delivery_id uuid, endpoint_id uuid, url text, secret_ciphertext bytea, secret_key_version integer,
  event_id uuid, event_type text, agent_id uuid, payload jsonb, event_created_at timestamptz,
  attempts integer, max_attempts integer
)
language plpgsql
set search_path = ''
as $$
declare
  v_endpoints uuid[];
begin
  if p_limit is null or p_limit < 1 or p_per_endpoint is null or p_per_endpoint < 1 then
    return;
  end if;

  -- 1. The endpoints this claim serves: enabled, with a due row, not (as far as this snapshot
  --    knows) at their cap, longest-waiting first; locked until this transaction ends.
  select array_agg(e.id) into v_endpoints
  from (
    select w.id
    from public.webhook_endpoints w
    cross join lateral (
      select d.next_attempt_at
      from public.webhook_deliveries d
      where d.endpoint_id = w.id and d.status in ('pending', 'delivering') and d.next_attempt_at <= now()
        and (d.status = 'pending' or d.locked_until <= now())
      order by d.next_attempt_at
      limit 1
    ) oldest
    where w.enabled
      and (select count(*) from public.webhook_deliveries f
           where f.endpoint_id = w.id and f.status = 'delivering' and f.locked_until > now()) < p_per_endpoint
    order by oldest.next_attempt_at
    limit p_limit
    for update of w skip locked
  ) e;
  if v_endpoints is null then
    return;
  end if;

  -- 2. A fresh snapshot: up to (cap - in flight) due rows per endpoint, interleaved round-robin.
  return query
  with served as (
    select s.id, s.ord,
           p_per_endpoint - (select count(*) from public.webhook_deliveries f
                             where f.endpoint_id = s.id and f.status = 'delivering' and f.locked_until > now()) as room
    from unnest(v_endpoints) with ordinality as s (id, ord)
  ), due as (
    select r.id, r.dead, row_number() over (partition by s.id order by r.next_attempt_at, r.id) as turn, s.ord
    from served s
    cross join lateral (
      select d.id, d.next_attempt_at, d.attempts >= d.max_attempts as dead
      from public.webhook_deliveries d
      where d.endpoint_id = s.id and d.status in ('pending', 'delivering') and d.next_attempt_at <= now()
        and (d.status = 'pending' or d.locked_until <= now())
      order by d.next_attempt_at
      limit greatest(s.room, 0)
      for update of d skip locked
    ) r
  ), picked as (
    select due.id, due.dead from due order by due.turn, due.ord limit p_limit
  ), buried as (
    update public.webhook_deliveries d
    set status = 'dead', locked_by = null, locked_until = null,
        last_error = coalesce(d.last_error, 'no outcome recorded') || ' (attempts exhausted)'
    from picked
    where d.id = picked.id and picked.dead
  ), claimed as (
    update public.webhook_deliveries d
    set status = 'delivering', locked_by = p_connector,
        locked_until = now() + make_interval(secs => p_visibility_seconds),
        attempts = d.attempts + 1, last_attempt_at = now()
    from picked
    where d.id = picked.id and not picked.dead
    returning d.id, d.endpoint_id, d.event_id, d.attempts, d.max_attempts
  )
  select c.id, c.endpoint_id, w.url, s.ciphertext, s.key_version,
         ev.id, ev.type, ev.agent_id, ev.payload, ev.created_at, c.attempts, c.max_attempts
  from claimed c
  join public.webhook_endpoints w on w.id = c.endpoint_id
  join public.events ev on ev.id = c.event_id
  left join private.webhook_secrets s on s.endpoint_id = c.endpoint_id;
end;
$$;
comment on function gateway.claim_deliveries(uuid, integer, integer, integer) is 'Claims due webhook deliveries fairly: enabled endpoints only, at most p_per_endpoint in flight per endpoint across the fleet, endpoints in turn (FOR UPDATE SKIP LOCKED, visibility timeout); rows out of attempts are dead-lettered.';
revoke all on function gateway.claim_deliveries(uuid, integer, integer, integer) from public, anon, authenticated;
