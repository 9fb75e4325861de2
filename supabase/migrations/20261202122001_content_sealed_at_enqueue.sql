-- Sealed content at enqueue (issue 13): the edge function seals an encrypted tenant's content with
-- associated data naming the row, so it chooses the row's id (p_id) before the insert. A replayed
-- Idempotency-Key answers with the first row; the second sealing is simply thrown away.
-- enqueue_message refuses plaintext for an encrypted tenant.

drop function gateway.api_send(uuid, uuid, text, text, jsonb, text, text);
drop function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text);

create function gateway.enqueue_message(p_owner uuid, p_agent uuid, p_recipient text, p_type text, p_content jsonb, p_idempotency_key text default null, p_request_hash text default null, p_id uuid default null) RETURNS TABLE(id uuid, wa_message_id text, status text, created_at timestamp with time zone, replayed boolean, rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
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
    perform gateway.fail('conflict', 'this account keeps message content encrypted; the content was not sealed');
  end if;

  if p_idempotency_key is not null then
    select * into v_existing from public.messages m where m.agent_id = p_agent and m.idempotency_key = p_idempotency_key;
    if v_existing.id is not null then
      if v_existing.request_hash is distinct from p_request_hash then
        perform gateway.fail('idempotency_conflict', 'this Idempotency-Key was used with a different request');
      end if;
      return query select v_existing.id, v_existing.wa_message_id, v_existing.status, v_existing.created_at, true,
        null::integer, null::integer, null::integer;
      return;
    end if;
  end if;

  select p.messages_per_minute into v_limit
  from public.accounts a join public.plans p on p.id = a.plan_id where a.user_id = p_owner;
  v_limit := coalesce(v_limit, 30);
  select * into v_bucket from gateway.take_token('send:' || p_agent::text, v_limit, v_limit / 60.0, 1);
  if not v_bucket.allowed then
    perform gateway.fail('rate_limited', 'send limit of the plan reached',
      json_build_object('limit', v_limit, 'remaining', v_bucket.remaining, 'reset', v_bucket.reset_seconds,
                        'retry_after', v_bucket.retry_after_seconds)::text);
  end if;

  begin
    insert into public.messages as m (id, agent_id, owner_id, wa_message_id, recipient, type, content, idempotency_key, request_hash)
    values (coalesce(p_id, extensions.gen_random_uuid()), p_agent, p_owner, '3EB0' || upper(encode(extensions.gen_random_bytes(9), 'hex')),
            p_recipient, p_type, p_content, p_idempotency_key, p_request_hash)
    on conflict (agent_id, idempotency_key) do nothing
    returning * into v_row;
  exception
    when check_violation then
      perform gateway.fail('invalid_argument', 'recipient or message type is malformed');
  end;

  if v_row.id is null then
    -- A concurrent request with the same key won the insert; answer as its replay.
    select * into v_existing from public.messages m where m.agent_id = p_agent and m.idempotency_key = p_idempotency_key;
    if v_existing.request_hash is distinct from p_request_hash then
      perform gateway.fail('idempotency_conflict', 'this Idempotency-Key was used with a different request');
    end if;
    return query select v_existing.id, v_existing.wa_message_id, v_existing.status, v_existing.created_at, true,
      v_limit, v_bucket.remaining, v_bucket.reset_seconds;
    return;
  end if;

  perform private.bump_stats(p_agent, p_owner, 'queued', 1);
  return query select v_row.id, v_row.wa_message_id, v_row.status, v_row.created_at, false,
    v_limit, v_bucket.remaining, v_bucket.reset_seconds;
end;
$$;
comment on function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text, uuid) is 'Accepts a send: ownership, disabled agent, content (no media bytes, at most 64 KiB, media references of this owner, sealed when the owner''s content policy is encrypted), idempotency and the plan''s per-minute limit checked; p_id is the new row''s id (sealed content is bound to it); returns the queued row (or the first one for a replay).';
revoke all on function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text, uuid) from public, anon, authenticated, gateway_api;
grant execute on function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text, uuid) to service_role;

create function gateway.api_send(p_owner uuid, p_agent uuid, p_recipient text, p_type text, p_content jsonb, p_idempotency_key text default null, p_request_hash text default null, p_id uuid default null)
returns table (id uuid, wa_message_id text, status text, created_at timestamptz, replayed boolean, rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
language plpgsql
set search_path = ''
as $$
begin
  return query select * from gateway.enqueue_message(p_owner, p_agent, p_recipient, p_type, p_content,
    p_idempotency_key, p_request_hash, p_id);
  perform gateway.count_api_call(p_owner, p_agent);
end;
$$;
comment on function gateway.api_send(uuid, uuid, text, text, jsonb, text, text, uuid) is 'Control plane: gateway.enqueue_message plus the API call counted.';
select private.expose_to_api('gateway.api_send(uuid, uuid, text, text, jsonb, text, text, uuid)'::regprocedure);
