-- gateway.enqueue_message in fewer statements (issue 12 item 7: enqueue >= 0.7 of a bare INSERT).
-- Same signature, same checks in the same order, same errors and results; what changes is how
-- many statements and function frames one send runs (20261202124000's body):
--   - the agent, its owner's plan limit and content policy come from one query (they were
--     gateway.owned_agent's select in its own plpgsql frame, private.content_policy_of, a SQL
--     function with a SET clause and so never inlined, and the plan's select);
--   - the plan's token bucket is gateway.take_token's statement written here, not a call to it (a
--     SECURITY DEFINER plpgsql frame with its own search_path per send); the limit is at least 1
--     (plans_messages_per_minute_check), so take_token's argument checks cannot fail here;
--   - the result is assigned to the OUT columns (return next), not selected by one more query.
-- The order of the checks is unchanged: reading the plan and policy before the argument checks
-- changes no answer (they are reads of rows the checks do not touch).

create or replace function gateway.enqueue_message(
  p_owner uuid, p_agent uuid, p_recipient text, p_type text, p_content jsonb,
  p_idempotency_key text default null, p_request_hash text default null, p_id uuid default null,
  p_count_api_call boolean default false
)
returns table (
  id uuid, wa_message_id text, status text, created_at timestamptz, replayed boolean,
  rate_limit integer, rate_remaining integer, rate_reset_seconds integer
)
language plpgsql
set search_path = ''
as $$
declare
  v_found boolean;
  v_agent_owner uuid;
  v_disabled_at timestamptz;
  v_policy text;
  v_existing public.messages;
  v_row public.messages;
  v_limit integer;
  v_allowed boolean;
  v_remaining integer;
  v_reset integer;
  v_retry integer;
  v_key text;
  v_sealed boolean;
begin
  if p_agent is null then
    perform gateway.fail('invalid_argument', 'agent id is required');
  end if;
  select true, a.owner_id, a.disabled_at, pl.messages_per_minute, coalesce(cp.policy, 'plain')
    into v_found, v_agent_owner, v_disabled_at, v_limit, v_policy
  from public.agents a
  left join public.organisations o on o.id = a.owner_id
  left join public.plans pl on pl.id = o.plan_id
  left join public.content_policies cp on cp.owner_id = a.owner_id
  where a.id = p_agent;
  if v_found is null then
    perform gateway.fail('unknown_agent', 'no agent with this id');
  end if;
  if p_owner is null or v_agent_owner <> p_owner then
    perform gateway.fail('not_owner', 'agent belongs to another user');
  end if;
  if v_disabled_at is not null then
    perform gateway.fail('conflict', 'agent is disabled');
  end if;
  if p_recipient is null or p_type is null or jsonb_typeof(p_content) is distinct from 'object' then
    perform gateway.fail('invalid_argument', 'recipient, type and a content object are required');
  end if;
  -- The predicates of messages_recipient_check, messages_type_check and
  -- messages_idempotency_key_check, asked first: refusing here
  -- costs nothing, catching the constraint's error would cost a subtransaction on every send.
  -- tests/sql/send-path.test.ts keeps the two in step.
  if not (p_recipient ~ '^[0-9]{6,15}$' or p_recipient ~ '^[0-9A-Za-z.:_-]+@[a-z.]+$')
     or p_type not in ('text', 'image', 'video', 'audio', 'voice', 'document', 'location', 'contact', 'reaction', 'poll', 'edit', 'delete') then
    perform gateway.fail('invalid_argument', 'recipient or message type is malformed');
  end if;
  if char_length(p_idempotency_key) not between 1 and 255 then
    perform gateway.fail('invalid_argument', 'idempotency key must be 1 to 255 characters');
  end if;
  -- Media bytes never ride in a queue row (DESIGN invariant 6): they sit in the media store and
  -- the row names them by key; a key must be this owner's and registered, so retention knows it.
  if p_content -> 'media' ? 'data' then
    perform gateway.fail('invalid_argument', 'media bytes go to the media store; the content carries a reference');
  end if;
  if p_content -> 'media' ? 'key' then
    v_key := p_content -> 'media' ->> 'key';
    if v_key is null or split_part(v_key, '/', 1) <> p_owner::text
       or not exists (select 1 from private.media_objects o where o.key = v_key) then
      perform gateway.fail('invalid_argument', 'media reference is not a stored object of this owner');
    end if;
  end if;
  -- A sealed envelope is base64 of the plaintext (4/3) plus nonce and tag: the same 64 KiB of content.
  v_sealed := p_content ? 'sealed';
  if octet_length(p_content::text) > (case when v_sealed then 90112 else 65536 end) then
    perform gateway.fail('invalid_argument', 'message content is larger than 64 KiB');
  end if;
  -- The edge function seals for encrypted tenants. Plaintext arriving for one (a policy changed
  -- between its read and this insert, or a caller without the key) is refused, never stored.
  if not v_sealed and v_policy = 'encrypted' then
    perform gateway.fail('conflict', 'this organisation keeps message content encrypted; the content was not sealed');
  end if;

  if p_idempotency_key is not null then
    select * into v_existing from public.messages m where m.agent_id = p_agent and m.idempotency_key = p_idempotency_key;
    if v_existing.id is not null then
      if v_existing.request_hash is distinct from p_request_hash then
        perform gateway.fail('idempotency_conflict', 'this Idempotency-Key was used with a different request');
      end if;
      if p_count_api_call then
        perform gateway.count_api_call(p_owner, p_agent);
      end if;
      id := v_existing.id; wa_message_id := v_existing.wa_message_id; status := v_existing.status;
      created_at := v_existing.created_at; replayed := true;
      return next;
      return;
    end if;
  end if;

  v_limit := coalesce(v_limit, 30);
  -- gateway.take_token('send:' || p_agent, v_limit, v_limit / 60.0, 1), its statement inline.
  with now_ as (select clock_timestamp() as t)
  insert into private.rate_limit_buckets as b (key, tokens, capacity, refill_per_second, last_allowed, updated_at)
  select 'send:' || p_agent::text, v_limit - 1, v_limit, v_limit / 60.0, true, now_.t from now_
  on conflict (key) do update set
    tokens = least(excluded.capacity::double precision,
                   b.tokens + extract(epoch from excluded.updated_at - b.updated_at) * excluded.refill_per_second)
             - case when least(excluded.capacity::double precision,
                   b.tokens + extract(epoch from excluded.updated_at - b.updated_at) * excluded.refill_per_second) >= 1
                    then 1 else 0 end,
    last_allowed = least(excluded.capacity::double precision,
                   b.tokens + extract(epoch from excluded.updated_at - b.updated_at) * excluded.refill_per_second) >= 1,
    capacity = excluded.capacity,
    refill_per_second = excluded.refill_per_second,
    updated_at = excluded.updated_at
  returning b.last_allowed, floor(b.tokens)::integer, ceil((b.capacity - b.tokens) / b.refill_per_second)::integer,
    case when b.last_allowed then 0 else greatest(1, ceil((1 - b.tokens) / b.refill_per_second))::integer end
  into v_allowed, v_remaining, v_reset, v_retry;
  if not v_allowed then
    perform gateway.fail('rate_limited', 'send limit of the plan reached',
      json_build_object('limit', v_limit, 'remaining', v_remaining, 'reset', v_reset, 'retry_after', v_retry)::text);
  end if;

  insert into public.messages as m (id, agent_id, owner_id, wa_message_id, recipient, type, content, idempotency_key, request_hash)
  values (coalesce(p_id, extensions.gen_random_uuid()), p_agent, p_owner, '3EB0' || upper(encode(extensions.gen_random_bytes(9), 'hex')),
          p_recipient, p_type, p_content, p_idempotency_key, p_request_hash)
  on conflict (agent_id, idempotency_key) do nothing
  returning * into v_row;

  if v_row.id is null then
    -- A concurrent request with the same key won the insert; answer as its replay.
    select * into v_existing from public.messages m where m.agent_id = p_agent and m.idempotency_key = p_idempotency_key;
    if v_existing.request_hash is distinct from p_request_hash then
      perform gateway.fail('idempotency_conflict', 'this Idempotency-Key was used with a different request');
    end if;
    if p_count_api_call then
      perform gateway.count_api_call(p_owner, p_agent);
    end if;
    id := v_existing.id; wa_message_id := v_existing.wa_message_id; status := v_existing.status;
    created_at := v_existing.created_at; replayed := true;
    rate_limit := v_limit; rate_remaining := v_remaining; rate_reset_seconds := v_reset;
    return next;
    return;
  end if;

  -- private.bump_stats for two columns in one row update: queued, and the API call when counted.
  insert into public.daily_stats as d (agent_id, day, owner_id, queued, api_calls)
  values (p_agent, (now() at time zone 'utc')::date, p_owner, 1, case when p_count_api_call then 1 else 0 end)
  on conflict (agent_id, day) do update set queued = d.queued + 1, api_calls = d.api_calls + excluded.api_calls;
  id := v_row.id; wa_message_id := v_row.wa_message_id; status := v_row.status; created_at := v_row.created_at;
  replayed := false; rate_limit := v_limit; rate_remaining := v_remaining; rate_reset_seconds := v_reset;
  return next;
end;
$$;
comment on function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text, uuid, boolean) is 'Accepts a send: ownership, disabled agent, recipient and type, content (no media bytes, at most 64 KiB, media references of this owner, sealed when the owner''s content policy is encrypted), idempotency and the plan''s per-minute limit checked; p_id is the new row''s id (sealed content is bound to it); returns the queued row (or the first one for a replay). p_count_api_call also counts an API call in the same daily_stats update.';
