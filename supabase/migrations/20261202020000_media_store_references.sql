-- Media bytes leave the queue (DESIGN invariant 6). An upload is stored in the media store
-- (Supabase Storage's private bucket, or a folder for local runs) under a content-addressed key
-- `<owner>/<sha256>`; the message row keeps only a reference (key, sha256, size, mimetype), so
-- claims carry no bytes and nothing with media bytes reaches the supabase_realtime publication.
--
-- private.media_objects registers every key before its bytes are stored. The media retention
-- job deletes an object once no queued or sending message refers to it and it was not
-- registered again within a grace period; it holds the registry row locked while it deletes
-- the object, so a concurrent upload of the same bytes waits and then stores them again.

create table private.media_objects (
  key text primary key check (key ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/[0-9a-f]{64}$'),
  owner_id uuid not null,
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint not null check (size >= 0),
  registered_at timestamptz not null default now()
);
comment on table private.media_objects is 'Objects in the media store (uploads of base64 media), registered before their bytes are stored; deleted with the object once no pending send needs it.';
create index media_objects_registered_idx on private.media_objects (registered_at);

create index messages_pending_media_key_idx on public.messages ((content -> 'media' ->> 'key'))
  where status in ('queued', 'sending') and content -> 'media' ? 'key';

create function gateway.register_media(p_owner uuid, p_key text, p_sha256 text, p_size bigint)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_owner is null or p_sha256 is null or p_sha256 !~ '^[0-9a-f]{64}$' or p_key is distinct from p_owner::text || '/' || p_sha256
     or p_size is null or p_size < 0 then
    perform gateway.fail('invalid_argument', 'a media key is <owner>/<sha256 hex> with a size');
  end if;
  insert into private.media_objects as o (key, owner_id, sha256, size) values (p_key, p_owner, p_sha256, p_size)
  on conflict (key) do update set registered_at = now();
end;
$$;
comment on function gateway.register_media(uuid, text, text, bigint) is 'Registers a media object before its bytes are stored (or refreshes it), so retention knows it and spares it for the grace period.';

-- The retention job, in one transaction: claim unused objects (rows locked), delete them from the
-- store, then forget them. A failed store delete rolls back and the next run tries again.
create function gateway.claim_unused_media(p_grace_seconds integer default 3600, p_limit integer default 100)
returns table (key text)
language plpgsql
set search_path = ''
as $$
begin
  if p_grace_seconds is null or p_grace_seconds < 0 or p_limit is null or p_limit < 1 then
    perform gateway.fail('invalid_argument', 'a grace period >= 0 and a positive limit are required');
  end if;
  return query
  select o.key from private.media_objects o
  where o.registered_at < now() - make_interval(secs => p_grace_seconds)
    and not exists (
      select 1 from public.messages m
      where m.status in ('queued', 'sending') and m.content -> 'media' ? 'key' and (m.content -> 'media' ->> 'key') = o.key)
  order by o.registered_at
  limit p_limit
  for update of o skip locked;
end;
$$;
comment on function gateway.claim_unused_media(integer, integer) is 'Media retention: locks registered objects that no queued or sending message needs and that were not registered within the grace period.';

create function gateway.forget_media(p_keys text[])
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  delete from private.media_objects o where o.key = any (coalesce(p_keys, '{}'));
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function gateway.forget_media(text[]) is 'Media retention: drops registry rows of objects deleted from the store (call in the transaction that claimed them).';

-- The private bucket, where Supabase Storage exists (plain Postgres has no storage schema; local
-- runs use the folder store). Its size limit is the API's default media limit (10 MiB).
do $$
begin
  if to_regclass('storage.buckets') is not null then
    execute $q$insert into storage.buckets (id, name, public, file_size_limit)
                values ('wa-gateway-media', 'wa-gateway-media', false, 10485760) on conflict (id) do nothing$q$;
  end if;
end;
$$;

create or replace function gateway.enqueue_message(
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
declare
  v_agent public.agents;
  v_existing public.messages;
  v_row public.messages;
  v_limit integer;
  v_bucket record;
  v_key text;
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
  if octet_length(p_content::text) > 65536 then
    perform gateway.fail('invalid_argument', 'message content is larger than 64 KiB');
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
    insert into public.messages as m (agent_id, owner_id, wa_message_id, recipient, type, content, idempotency_key, request_hash)
    values (p_agent, p_owner, '3EB0' || upper(encode(extensions.gen_random_bytes(9), 'hex')),
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
comment on function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text) is 'Accepts a send: ownership, disabled agent, content (no media bytes, at most 64 KiB, media references of this owner), idempotency and the plan''s per-minute limit checked; returns the queued row (or the first one for a replay).';

revoke all on table private.media_objects from public, anon, authenticated;
grant all on table private.media_objects to service_role;
revoke all on function gateway.register_media(uuid, text, text, bigint), gateway.claim_unused_media(integer, integer),
  gateway.forget_media(text[]) from public, anon, authenticated;
grant execute on function gateway.register_media(uuid, text, text, bigint), gateway.claim_unused_media(integer, integer),
  gateway.forget_media(text[]) to service_role;
