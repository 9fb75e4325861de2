-- What the HTTP control plane (edge-functions/gateway) calls beyond the foundation's functions.
-- Each function does its ownership check, its rate-limit bucket and its write in one statement,
-- so a request is one round trip and a refused request (foreign id, empty bucket, bad argument)
-- changes nothing: the raise rolls back the bucket take with everything else.
--
-- Rate-limit refusals raise rate_limited (WG007) with a JSON DETAIL
-- {"limit", "remaining", "reset", "retry_after"}, like gateway.enqueue_message.

-- Ownership check plus one API call counted; the row of the agent. Reads join on it so a
-- foreign or unknown id raises WG001/WG002 before anything is returned or counted.
create function gateway.api_call(p_owner uuid, p_agent uuid)
returns public.agents
language plpgsql
set search_path = ''
as $$
declare
  v_agent public.agents;
begin
  v_agent := gateway.owned_agent(p_owner, p_agent);
  perform gateway.count_api_call(p_owner, p_agent);
  return v_agent;
end;
$$;
comment on function gateway.api_call(uuid, uuid) is 'Control plane: ownership check of an agent plus one API call counted in today''s statistics.';

create function private.take_or_fail(p_key text, p_capacity integer, p_window_seconds integer, p_cost integer, p_what text)
returns table (rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
language plpgsql
set search_path = ''
as $$
declare
  v_bucket record;
begin
  if p_capacity is null or p_capacity < 1 or p_window_seconds is null or p_window_seconds < 1 then
    perform gateway.fail('invalid_argument', 'rate limit capacity and window must be positive');
  end if;
  select * into v_bucket from gateway.take_token(p_key, p_capacity, p_capacity::double precision / p_window_seconds, p_cost);
  if not v_bucket.allowed then
    perform gateway.fail('rate_limited', p_what || ' limit reached',
      json_build_object('limit', p_capacity, 'remaining', v_bucket.remaining, 'reset', v_bucket.reset_seconds,
                        'retry_after', v_bucket.retry_after_seconds)::text);
  end if;
  return query select p_capacity, v_bucket.remaining, v_bucket.reset_seconds;
end;
$$;
comment on function private.take_or_fail(text, integer, integer, integer, text) is 'Takes tokens from a bucket (capacity per window) or raises rate_limited with the JSON detail the HTTP layer turns into headers.';

-- Sends: the foundation's enqueue plus the API call, one round trip.
create function gateway.api_send(
  p_owner uuid, p_agent uuid, p_recipient text, p_type text, p_content jsonb,
  p_idempotency_key text default null, p_request_hash text default null
)
returns table (
  id uuid, wa_message_id text, status text, created_at timestamptz, replayed boolean,
  rate_limit integer, rate_remaining integer, rate_reset_seconds integer
)
language plpgsql
set search_path = ''
as $$
begin
  return query select * from gateway.enqueue_message(p_owner, p_agent, p_recipient, p_type, p_content,
    p_idempotency_key, p_request_hash);
  perform gateway.count_api_call(p_owner, p_agent);
end;
$$;
comment on function gateway.api_send(uuid, uuid, text, text, jsonb, text, text) is 'Control plane: gateway.enqueue_message plus the API call counted.';

-- Link attempts: p_capacity per p_window_seconds per agent (the seeds: 5 per 15 minutes).
create function gateway.api_request_link(
  p_owner uuid, p_agent uuid, p_method text, p_phone text default null,
  p_capacity integer default 5, p_window_seconds integer default 900
)
returns table (
  agent_id uuid, status text, desired_state text, link_method text, link_requested_at timestamptz,
  rate_limit integer, rate_remaining integer, rate_reset_seconds integer
)
language plpgsql
set search_path = ''
as $$
declare
  v_rate record;
  v_session public.whatsapp_sessions;
begin
  perform gateway.api_call(p_owner, p_agent);
  select * into v_rate from private.take_or_fail('link:' || p_agent::text, p_capacity, p_window_seconds, 1, 'link attempt');
  v_session := gateway.request_link(p_owner, p_agent, p_method, p_phone);
  return query select v_session.agent_id, v_session.status, v_session.desired_state, v_session.link_method,
    v_session.link_requested_at, v_rate.rate_limit, v_rate.rate_remaining, v_rate.rate_reset_seconds;
end;
$$;
comment on function gateway.api_request_link(uuid, uuid, text, text, integer, integer) is 'Control plane: a link request limited per agent (default 5 per 15 minutes).';

create function gateway.api_session_command(p_owner uuid, p_agent uuid, p_command text, p_force boolean default false)
returns public.whatsapp_sessions
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
begin
  perform gateway.api_call(p_owner, p_agent);
  v_session := gateway.request_session_command(p_owner, p_agent, p_command, p_force);
  return v_session;
end;
$$;
comment on function gateway.api_session_command(uuid, uuid, text, boolean) is 'Control plane: disconnect, logout or restart with the API call counted.';

-- API keys ------------------------------------------------------------------------------------

create function private.valid_api_key_scopes(p_scopes text[])
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_scopes is not null and cardinality(p_scopes) between 1 and 20
     and p_scopes <@ array['*', 'agents:read', 'messages:send', 'messages:read', 'sessions:read',
                           'sessions:write', 'numbers:check', 'webhooks:manage', 'stats:read']
$$;
comment on function private.valid_api_key_scopes(text[]) is 'The scopes an API key may carry (mirrored by the zod contract of the control plane).';

-- The key itself is made by the caller (random, shown once); only its SHA-256 arrives here.
-- Limited per owner (p_capacity per p_window_seconds) and capped at p_max_active live keys.
create function gateway.create_api_key(
  p_owner uuid, p_agent uuid, p_name text, p_prefix text, p_hash bytea, p_scopes text[],
  p_expires_at timestamptz default null, p_capacity integer default 10, p_window_seconds integer default 3600,
  p_max_active integer default 100
)
returns table (
  id uuid, name text, prefix text, agent_id uuid, scopes text[], expires_at timestamptz, created_at timestamptz,
  rate_limit integer, rate_remaining integer, rate_reset_seconds integer
)
language plpgsql
set search_path = ''
as $$
declare
  v_rate record;
  v_key private.api_keys;
begin
  if p_agent is not null then
    perform gateway.owned_agent(p_owner, p_agent);
  end if;
  if p_name is null or char_length(trim(p_name)) not between 1 and 100 then
    perform gateway.fail('invalid_argument', 'name must be 1 to 100 characters');
  end if;
  if not private.valid_api_key_scopes(p_scopes) then
    perform gateway.fail('invalid_argument', 'unknown scope');
  end if;
  if p_expires_at is not null and p_expires_at <= now() then
    perform gateway.fail('invalid_argument', 'expiry must be in the future');
  end if;
  if p_hash is null or length(p_hash) <> 32 or p_prefix is null or p_prefix !~ '^[a-z0-9]{8,32}$' then
    perform gateway.fail('invalid_argument', 'malformed key material');
  end if;
  select * into v_rate from private.take_or_fail('keycreate:' || p_owner::text, p_capacity, p_window_seconds, 1, 'API key creation');
  perform gateway.ensure_account(p_owner);
  perform 1 from public.accounts where user_id = p_owner for update;
  if (select count(*) from private.api_keys k where k.owner_id = p_owner and k.revoked_at is null
        and (k.expires_at is null or k.expires_at > now())) >= p_max_active then
    perform gateway.fail('plan_limit', format('at most %s active API keys', p_max_active),
      json_build_object('max_active_keys', p_max_active)::text);
  end if;
  insert into private.api_keys (owner_id, agent_id, name, prefix, key_hash, scopes, expires_at)
  values (p_owner, p_agent, trim(p_name), p_prefix, p_hash, p_scopes, p_expires_at)
  returning * into v_key;
  return query select v_key.id, v_key.name, v_key.prefix, v_key.agent_id, v_key.scopes, v_key.expires_at,
    v_key.created_at, v_rate.rate_limit, v_rate.rate_remaining, v_rate.rate_reset_seconds;
end;
$$;
comment on function gateway.create_api_key(uuid, uuid, text, text, bytea, text[], timestamptz, integer, integer, integer) is 'Stores a new API key (SHA-256 only), limited per owner; the plaintext never reaches the database.';

-- The key row for a prefix, with its stored hash: the caller compares hashes in constant time.
-- last_used_at is kept (at most once a minute per key, to keep writes off the hot path) only
-- when the presented hash matches a usable key, so guessing a prefix touches nothing.
create function gateway.api_key_for_prefix(p_prefix text, p_hash bytea)
returns table (id uuid, owner_id uuid, agent_id uuid, scopes text[], key_hash bytea, usable boolean)
language plpgsql
set search_path = ''
as $$
declare
  v_key private.api_keys;
  v_usable boolean;
begin
  select * into v_key from private.api_keys k where k.prefix = p_prefix;
  if v_key.id is null then
    return;
  end if;
  v_usable := v_key.revoked_at is null and (v_key.expires_at is null or v_key.expires_at > now());
  if v_usable and v_key.key_hash = p_hash and (v_key.last_used_at is null or v_key.last_used_at < now() - interval '1 minute') then
    update private.api_keys k set last_used_at = now() where k.id = v_key.id;
  end if;
  return query select v_key.id, v_key.owner_id, v_key.agent_id, v_key.scopes, v_key.key_hash, v_usable;
end;
$$;
comment on function gateway.api_key_for_prefix(text, bytea) is 'API key lookup by prefix for authentication; keeps last_used_at when the hash matches a usable key.';

create function gateway.list_api_keys(p_owner uuid)
returns table (
  id uuid, name text, prefix text, agent_id uuid, scopes text[], expires_at timestamptz,
  last_used_at timestamptz, revoked_at timestamptz, created_at timestamptz
)
language sql
stable
set search_path = ''
as $$
  select k.id, k.name, k.prefix, k.agent_id, k.scopes, k.expires_at, k.last_used_at, k.revoked_at, k.created_at
  from private.api_keys k where k.owner_id = p_owner order by k.created_at desc, k.id desc
$$;
comment on function gateway.list_api_keys(uuid) is 'The owner''s API keys without their hashes.';

create function gateway.revoke_api_key(p_owner uuid, p_key uuid)
returns table (id uuid, revoked_at timestamptz)
language plpgsql
set search_path = ''
as $$
declare
  v_key private.api_keys;
begin
  update private.api_keys k set revoked_at = coalesce(k.revoked_at, now())
  where k.id = p_key and k.owner_id = p_owner
  returning * into v_key;
  if v_key.id is null then
    perform gateway.fail('not_found', 'no such API key');
  end if;
  return query select v_key.id, v_key.revoked_at;
end;
$$;
comment on function gateway.revoke_api_key(uuid, uuid) is 'Revokes an API key of the owner (idempotent); not_found for unknown or foreign keys.';

-- Webhook endpoints ------------------------------------------------------------------------------
-- The URL is checked by the caller (https, no private or loopback address) and again by the
-- connector at delivery; the secret arrives sealed (AES-256-GCM, associated data bound to the
-- endpoint id, which is why the caller chooses the id).

create function private.valid_event_types(p_types text[])
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_types is not null and cardinality(p_types) between 1 and 50
     and not exists (select 1 from unnest(p_types) t where t is null or (t <> '*' and t !~ '^[a-z_]+\.([a-z_.]+|\*)$'))
$$;
comment on function private.valid_event_types(text[]) is 'Event type filters of a webhook endpoint: ''*'', ''<group>.*'' or an exact type.';

create function gateway.create_webhook_endpoint(
  p_owner uuid, p_id uuid, p_agent uuid, p_url text, p_event_types text[], p_description text,
  p_ciphertext bytea, p_key_version integer, p_max_endpoints integer default 25
)
returns public.webhook_endpoints
language plpgsql
set search_path = ''
as $$
declare
  v_row public.webhook_endpoints;
begin
  if p_agent is not null then
    perform gateway.owned_agent(p_owner, p_agent);
  end if;
  if p_id is null or p_url is null or p_url !~ '^https?://' or char_length(p_url) > 2048
     or not private.valid_event_types(p_event_types) or char_length(p_description) > 500
     or p_ciphertext is null or p_key_version is null then
    perform gateway.fail('invalid_argument', 'id, an http(s) url, event types and a sealed secret are required');
  end if;
  perform gateway.ensure_account(p_owner);
  perform 1 from public.accounts where user_id = p_owner for update;
  if (select count(*) from public.webhook_endpoints w where w.owner_id = p_owner) >= p_max_endpoints then
    perform gateway.fail('plan_limit', format('at most %s webhook endpoints', p_max_endpoints),
      json_build_object('max_endpoints', p_max_endpoints)::text);
  end if;
  insert into public.webhook_endpoints (id, owner_id, agent_id, url, event_types, description)
  values (p_id, p_owner, p_agent, p_url, p_event_types, p_description)
  returning * into v_row;
  insert into private.webhook_secrets (endpoint_id, ciphertext, key_version) values (p_id, p_ciphertext, p_key_version);
  return v_row;
end;
$$;
comment on function gateway.create_webhook_endpoint(uuid, uuid, uuid, text, text[], text, bytea, integer, integer) is 'Creates a webhook endpoint with its sealed signing secret; agent null means all of the owner''s agents.';

-- p_patch may carry url, event_types, description (null clears it) and enabled.
create function gateway.update_webhook_endpoint(p_owner uuid, p_id uuid, p_patch jsonb)
returns public.webhook_endpoints
language plpgsql
set search_path = ''
as $$
declare
  v_row public.webhook_endpoints;
  v_types text[];
begin
  if jsonb_typeof(p_patch) is distinct from 'object' then
    perform gateway.fail('invalid_argument', 'patch must be an object');
  end if;
  select * into v_row from public.webhook_endpoints w where w.id = p_id and w.owner_id = p_owner for update;
  if v_row.id is null then
    perform gateway.fail('not_found', 'no such webhook endpoint');
  end if;
  if p_patch ? 'event_types' then
    if jsonb_typeof(p_patch -> 'event_types') is distinct from 'array' then
      perform gateway.fail('invalid_argument', 'event_types must be an array');
    end if;
    select array_agg(t) into v_types from jsonb_array_elements_text(p_patch -> 'event_types') t;
    if not private.valid_event_types(v_types) then
      perform gateway.fail('invalid_argument', 'malformed event types');
    end if;
  end if;
  if p_patch ? 'url' and (jsonb_typeof(p_patch -> 'url') is distinct from 'string'
       or p_patch ->> 'url' !~ '^https?://' or char_length(p_patch ->> 'url') > 2048) then
    perform gateway.fail('invalid_argument', 'url must be http(s)');
  end if;
  if p_patch ? 'enabled' and jsonb_typeof(p_patch -> 'enabled') is distinct from 'boolean' then
    perform gateway.fail('invalid_argument', 'enabled must be a boolean');
  end if;
  if char_length(p_patch ->> 'description') > 500 then
    perform gateway.fail('invalid_argument', 'description is too long');
  end if;
  update public.webhook_endpoints w set
    url = case when p_patch ? 'url' then p_patch ->> 'url' else w.url end,
    event_types = case when p_patch ? 'event_types' then v_types else w.event_types end,
    description = case when p_patch ? 'description' then p_patch ->> 'description' else w.description end,
    enabled = case when p_patch ? 'enabled' then (p_patch ->> 'enabled')::boolean else w.enabled end
  where w.id = p_id
  returning * into v_row;
  return v_row;
end;
$$;
comment on function gateway.update_webhook_endpoint(uuid, uuid, jsonb) is 'Partial update of an owner''s webhook endpoint (url, event_types, description, enabled).';

create function gateway.delete_webhook_endpoint(p_owner uuid, p_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  delete from public.webhook_endpoints w where w.id = p_id and w.owner_id = p_owner;
  if not found then
    perform gateway.fail('not_found', 'no such webhook endpoint');
  end if;
end;
$$;
comment on function gateway.delete_webhook_endpoint(uuid, uuid) is 'Deletes an owner''s webhook endpoint with its secret and deliveries.';

-- A webhook.test event delivered to this endpoint only (emit_event would fan out to every
-- matching endpoint of the owner).
create function gateway.test_webhook_endpoint(p_owner uuid, p_id uuid)
returns table (event_id uuid, delivery_id uuid)
language plpgsql
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
  v_event uuid;
  v_delivery uuid;
begin
  select * into v_endpoint from public.webhook_endpoints w where w.id = p_id and w.owner_id = p_owner;
  if v_endpoint.id is null then
    perform gateway.fail('not_found', 'no such webhook endpoint');
  end if;
  if not v_endpoint.enabled then
    perform gateway.fail('conflict', 'webhook endpoint is disabled');
  end if;
  insert into public.events (owner_id, agent_id, type, payload)
  values (p_owner, v_endpoint.agent_id, 'webhook.test', jsonb_build_object('endpoint_id', p_id, 'test', true))
  returning id into v_event;
  insert into public.webhook_deliveries (endpoint_id, event_id, owner_id) values (p_id, v_event, p_owner)
  returning id into v_delivery;
  return query select v_event, v_delivery;
end;
$$;
comment on function gateway.test_webhook_endpoint(uuid, uuid) is 'Queues a webhook.test event for one endpoint of the owner.';

-- Deliveries of one endpoint, newest first, keyset-paginated on (created_at, id).
create function gateway.list_webhook_deliveries(
  p_owner uuid, p_endpoint uuid, p_limit integer default 50,
  p_before_created_at timestamptz default null, p_before_id uuid default null
)
returns table (
  id uuid, event_id uuid, event_type text, status text, attempts integer, max_attempts integer,
  next_attempt_at timestamptz, last_status_code integer, last_error text, last_attempt_at timestamptz,
  delivered_at timestamptz, created_at timestamptz
)
language plpgsql
stable
set search_path = ''
as $$
begin
  if not exists (select 1 from public.webhook_endpoints w where w.id = p_endpoint and w.owner_id = p_owner) then
    perform gateway.fail('not_found', 'no such webhook endpoint');
  end if;
  return query
  select d.id, d.event_id, e.type, d.status, d.attempts, d.max_attempts, d.next_attempt_at, d.last_status_code,
         d.last_error, d.last_attempt_at, d.delivered_at, d.created_at
  from public.webhook_deliveries d join public.events e on e.id = d.event_id
  where d.endpoint_id = p_endpoint
    and (p_before_created_at is null or (d.created_at, d.id) < (p_before_created_at, p_before_id))
  order by d.created_at desc, d.id desc
  limit least(greatest(coalesce(p_limit, 50), 1), 200);
end;
$$;
comment on function gateway.list_webhook_deliveries(uuid, uuid, integer, timestamptz, uuid) is 'Deliveries of an owner''s endpoint, newest first, keyset-paginated.';

-- Number checks ----------------------------------------------------------------------------------
-- The connector that owns the session answers a job by setting status 'done' and
-- result = [{"number": "<digits>", "exists": bool, "jid": "<jid>" | null}] (or 'failed' + error).

create function gateway.create_number_check(
  p_owner uuid, p_agent uuid, p_numbers text[], p_capacity integer default 200, p_window_seconds integer default 60
)
returns table (id uuid, status text, created_at timestamptz, rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
language plpgsql
set search_path = ''
as $$
declare
  v_agent public.agents;
  v_rate record;
  v_row public.number_checks;
begin
  v_agent := gateway.api_call(p_owner, p_agent);
  if p_numbers is null or cardinality(p_numbers) not between 1 and 50
     or exists (select 1 from unnest(p_numbers) n where n is null or n !~ '^[0-9]{6,15}$') then
    perform gateway.fail('invalid_argument', '1 to 50 numbers in E.164 digits are required');
  end if;
  if v_agent.disabled_at is not null then
    perform gateway.fail('conflict', 'agent is disabled');
  end if;
  -- One token per number: the limit protects the WhatsApp account, which sees numbers, not calls.
  select * into v_rate from private.take_or_fail('numbers:' || p_agent::text, p_capacity, p_window_seconds,
    cardinality(p_numbers), 'number check');
  insert into public.number_checks (agent_id, owner_id, numbers) values (p_agent, p_owner, p_numbers)
  returning * into v_row;
  perform pg_notify('wa_gateway_wake', p_agent::text || ':number_check');
  return query select v_row.id, v_row.status, v_row.created_at, v_rate.rate_limit, v_rate.rate_remaining, v_rate.rate_reset_seconds;
end;
$$;
comment on function gateway.create_number_check(uuid, uuid, text[], integer, integer) is 'Queues a bulk number check (1 to 50 numbers) for the connector, limited per agent by numbers per window.';

revoke all on function gateway.api_call(uuid, uuid), gateway.api_send(uuid, uuid, text, text, jsonb, text, text),
  gateway.api_request_link(uuid, uuid, text, text, integer, integer), gateway.api_session_command(uuid, uuid, text, boolean),
  gateway.create_api_key(uuid, uuid, text, text, bytea, text[], timestamptz, integer, integer, integer),
  gateway.api_key_for_prefix(text, bytea), gateway.list_api_keys(uuid), gateway.revoke_api_key(uuid, uuid),
  gateway.create_webhook_endpoint(uuid, uuid, uuid, text, text[], text, bytea, integer, integer),
  gateway.update_webhook_endpoint(uuid, uuid, jsonb), gateway.delete_webhook_endpoint(uuid, uuid),
  gateway.test_webhook_endpoint(uuid, uuid), gateway.list_webhook_deliveries(uuid, uuid, integer, timestamptz, uuid),
  gateway.create_number_check(uuid, uuid, text[], integer, integer)
  from public, anon, authenticated;
revoke all on function private.take_or_fail(text, integer, integer, integer, text), private.valid_api_key_scopes(text[]),
  private.valid_event_types(text[]) from public, anon, authenticated;
