-- Webhook secret rotation with an overlap window. Standard Webhooks lets a delivery carry several
-- signatures (space-separated in webhook-signature), so a rotation keeps the replaced secret for a
-- while and the dispatcher signs with both: a receiver can switch to the new secret at any moment
-- of the overlap, and nothing is lost whether it still holds the old one or already the new one.
--
--   * private.webhook_secrets keeps the replaced secret (sealed by the application like the
--     current one, bound to the same endpoint) and when its overlap ends; rotated_at says when.
--   * gateway.claim_deliveries also returns the previous secret, only while its overlap lasts:
--     after that, deliveries carry the new secret's signature alone.
--   * gateway.api_rotate_webhook_secret (the API's route) swaps the secrets, records a
--     webhook.secret_rotated event (the audit trail; it is delivered like any event, signed with
--     both secrets), and takes a token from a per-owner bucket. Rotating again during an overlap
--     keeps only the secret being replaced: the older one stops at once.

alter table private.webhook_secrets
  add column previous_ciphertext bytea,
  add column previous_key_version integer,
  add column previous_expires_at timestamptz,
  add column rotated_at timestamptz,
  add constraint webhook_secrets_previous_whole check (
    (previous_ciphertext is null) = (previous_key_version is null)
    and (previous_ciphertext is null) = (previous_expires_at is null));
comment on column private.webhook_secrets.previous_ciphertext is 'The secret the last rotation replaced; deliveries are signed with it too until previous_expires_at.';

drop function gateway.claim_deliveries(uuid, integer, integer, integer);

create function gateway.claim_deliveries(
  p_connector uuid, p_limit integer default 50, p_visibility_seconds integer default 30, p_per_endpoint integer default 8
)
returns table (
  delivery_id uuid, endpoint_id uuid, url text, secret_ciphertext bytea, secret_key_version integer,
  event_id uuid, event_type text, agent_id uuid, payload jsonb, event_created_at timestamptz,
  attempts integer, max_attempts integer, previous_ciphertext bytea, previous_key_version integer
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
         ev.id, ev.type, ev.agent_id, ev.payload, ev.created_at, c.attempts, c.max_attempts,
         case when s.previous_expires_at > now() then s.previous_ciphertext end,
         case when s.previous_expires_at > now() then s.previous_key_version end
  from claimed c
  join public.webhook_endpoints w on w.id = c.endpoint_id
  join public.events ev on ev.id = c.event_id
  left join private.webhook_secrets s on s.endpoint_id = c.endpoint_id;
end;
$$;
comment on function gateway.claim_deliveries(uuid, integer, integer, integer) is 'Claims due webhook deliveries fairly: enabled endpoints only, at most p_per_endpoint in flight per endpoint across the fleet, endpoints in turn (FOR UPDATE SKIP LOCKED, visibility timeout); rows out of attempts are dead-lettered. Returns the previous signing secret too while a rotation''s overlap lasts.';
revoke all on function gateway.claim_deliveries(uuid, integer, integer, integer) from public, anon, authenticated;

create function gateway.api_rotate_webhook_secret(
  p_owner uuid, p_endpoint uuid, p_ciphertext bytea, p_key_version integer,
  p_overlap_seconds integer default 86400, p_capacity integer default 10, p_window_seconds integer default 3600
)
returns table (previous_expires_at timestamptz, rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
language plpgsql
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
  v_expires timestamptz;
  v_rate record;
begin
  select * into v_endpoint from public.webhook_endpoints w where w.id = p_endpoint and w.owner_id = p_owner for update;
  if v_endpoint.id is null then
    perform gateway.fail('not_found', 'no such webhook endpoint');
  end if;
  if p_overlap_seconds is null or p_overlap_seconds < 0 or p_overlap_seconds > 604800 then
    perform gateway.fail('invalid_argument', 'overlap must be between 0 and 604800 seconds (7 days)');
  end if;
  if p_ciphertext is null or p_key_version is null then
    perform gateway.fail('invalid_argument', 'the new secret is missing');
  end if;
  v_expires := case when p_overlap_seconds > 0 then now() + make_interval(secs => p_overlap_seconds) end;
  update private.webhook_secrets s
  set previous_ciphertext = case when v_expires is null then null else s.ciphertext end,
      previous_key_version = case when v_expires is null then null else s.key_version end,
      previous_expires_at = v_expires,
      ciphertext = p_ciphertext, key_version = p_key_version, rotated_at = now()
  where s.endpoint_id = p_endpoint;
  if not found then
    v_expires := null;
    insert into private.webhook_secrets (endpoint_id, ciphertext, key_version, rotated_at) values (p_endpoint, p_ciphertext, p_key_version, now());
  end if;
  perform gateway.emit_event(p_owner, v_endpoint.agent_id, 'webhook.secret_rotated', 'info',
    jsonb_build_object('endpoint_id', p_endpoint, 'overlap_seconds', p_overlap_seconds, 'previous_secret_expires_at', v_expires));
  select * into v_rate from private.take_or_fail('webhookrotate:' || p_owner::text, p_capacity, p_window_seconds, 1, 'webhook secret rotation');
  return query select v_expires, v_rate.rate_limit, v_rate.rate_remaining, v_rate.rate_reset_seconds;
end;
$$;
comment on function gateway.api_rotate_webhook_secret(uuid, uuid, bytea, integer, integer, integer, integer) is 'Control plane: replaces an owner''s webhook signing secret, keeping the old one for an overlap (0 to 7 days) during which deliveries carry both signatures; audited as a webhook.secret_rotated event; limited per owner (default 10 per hour).';
select private.expose_to_api('gateway.api_rotate_webhook_secret(uuid, uuid, bytea, integer, integer, integer, integer)'::regprocedure);
