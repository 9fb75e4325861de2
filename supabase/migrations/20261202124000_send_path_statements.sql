-- The send path in fewer statements (issue 12 item 7). Measured per send before this migration
-- (auto_explain with nested statements, backend CPU from /proc on one connection): gateway.api_send
-- ran gateway.enqueue_message and then gateway.count_api_call, so every API send upserted its
-- agent's daily_stats row twice (queued, then api_calls) through two more plpgsql frames, and the
-- insert sat in a BEGIN ... EXCEPTION block, a subtransaction per send, only to turn a
-- check_violation of recipient or type into invalid_argument.
--
-- Redefined here (for whoever merges another change to these functions):
--   gateway.enqueue_message: one more argument after 20261202122001's p_id, p_count_api_call
--     boolean default false (the eight-argument form is replaced; every existing call still
--     resolves); recipient, type and
--     idempotency key are checked before the insert with the predicates of the table's checks
--     (the constraints stay as the backstop), so no subtransaction; the
--     daily_stats upsert is written here and counts the API call in the same row update.
--     Ownership (gateway.owned_agent), the disabled check, content checks (sealed content of an
--     encrypted tenant, 20261202122001), idempotency, the plan
--     bucket (gateway.take_token) and the insert (wa_message_id assigned there, the wake-up
--     trigger) are unchanged.
--   gateway.api_send: gateway.enqueue_message(..., p_id, true); a replay still counts one API call.
-- The plan's limit is read from public.organisations (the tenant), not the compatibility view.
-- The statistics stay exact: a send that fails rolls back its counts, as before.

drop function gateway.api_send(uuid, uuid, text, text, jsonb, text, text, uuid);
drop function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text, uuid);

create function gateway.enqueue_message(
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
  v_agent public.agents;
  v_existing public.messages;
  v_row public.messages;
  v_limit integer;
  v_bucket record;
  v_key text;
  v_sealed boolean;
begin
  v_agent := gateway.owned_agent(p_owner, p_agent);
  if v_agent.disabled_at is not null then
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
  if not v_sealed and private.content_policy_of(p_owner) = 'encrypted' then
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
      return query select v_existing.id, v_existing.wa_message_id, v_existing.status, v_existing.created_at, true,
        null::integer, null::integer, null::integer;
      return;
    end if;
  end if;

  select p.messages_per_minute into v_limit
  from public.organisations o join public.plans p on p.id = o.plan_id where o.id = p_owner;
  v_limit := coalesce(v_limit, 30);
  select * into v_bucket from gateway.take_token('send:' || p_agent::text, v_limit, v_limit / 60.0, 1);
  if not v_bucket.allowed then
    perform gateway.fail('rate_limited', 'send limit of the plan reached',
      json_build_object('limit', v_limit, 'remaining', v_bucket.remaining, 'reset', v_bucket.reset_seconds,
                        'retry_after', v_bucket.retry_after_seconds)::text);
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
    return query select v_existing.id, v_existing.wa_message_id, v_existing.status, v_existing.created_at, true,
      v_limit, v_bucket.remaining, v_bucket.reset_seconds;
    return;
  end if;

  -- private.bump_stats for two columns in one row update: queued, and the API call when counted.
  insert into public.daily_stats as d (agent_id, day, owner_id, queued, api_calls)
  values (p_agent, (now() at time zone 'utc')::date, p_owner, 1, case when p_count_api_call then 1 else 0 end)
  on conflict (agent_id, day) do update set queued = d.queued + 1, api_calls = d.api_calls + excluded.api_calls;
  return query select v_row.id, v_row.wa_message_id, v_row.status, v_row.created_at, false,
    v_limit, v_bucket.remaining, v_bucket.reset_seconds;
end;
$$;
comment on function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text, uuid, boolean) is 'Accepts a send: ownership, disabled agent, recipient and type, content (no media bytes, at most 64 KiB, media references of this owner, sealed when the owner''s content policy is encrypted), idempotency and the plan''s per-minute limit checked; p_id is the new row''s id (sealed content is bound to it); returns the queued row (or the first one for a replay). p_count_api_call also counts an API call in the same daily_stats update.';
revoke all on function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text, uuid, boolean) from public, anon, authenticated, gateway_api;
grant execute on function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text, uuid, boolean) to service_role;

create function gateway.api_send(
  p_owner uuid, p_agent uuid, p_recipient text, p_type text, p_content jsonb,
  p_idempotency_key text default null, p_request_hash text default null, p_id uuid default null
)
returns table (
  id uuid, wa_message_id text, status text, created_at timestamptz, replayed boolean,
  rate_limit integer, rate_remaining integer, rate_reset_seconds integer
)
language plpgsql
security definer
set search_path = ''
as $$
begin
  return query select * from gateway.enqueue_message(p_owner, p_agent, p_recipient, p_type, p_content,
    p_idempotency_key, p_request_hash, p_id, true);
end;
$$;
comment on function gateway.api_send(uuid, uuid, text, text, jsonb, text, text, uuid) is 'Control plane: gateway.enqueue_message with the API call counted in the same daily_stats update (a replay counts one call too).';
select private.expose_to_api('gateway.api_send(uuid, uuid, text, text, jsonb, text, text, uuid)'::regprocedure);
