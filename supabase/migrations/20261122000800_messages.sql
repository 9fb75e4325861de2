-- Messages (DESIGN invariant 3: no message lost, none sent twice by us).
--
-- Outbound state machine, forward only:
--   queued -> sending -> sent -> delivered -> read        (failed from queued, sending or sent)
-- An accepted send is a committed row with its WhatsApp message id already assigned, so a retry
-- after a crash reuses it. A connector claims due rows of the sessions it owns with
-- FOR UPDATE SKIP LOCKED and a visibility timeout (locked_until); a crash leaves the row
-- 'sending' with an expired lock, and the next claim takes it again. Completions are batched
-- and only touch rows the caller still holds. Receipts advance status monotonically.

create table public.messages (
  id uuid primary key default extensions.gen_random_uuid(),
  agent_id uuid not null references public.agents (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  wa_message_id text not null,
  recipient text not null check (recipient ~ '^[0-9]{6,15}$' or recipient ~ '^[0-9A-Za-z.:_-]+@[a-z.]+$'),
  type text not null check (type in ('text', 'image', 'video', 'audio', 'voice', 'document', 'location',
    'contact', 'reaction', 'poll', 'edit', 'delete')),
  content jsonb not null,
  idempotency_key text check (char_length(idempotency_key) between 1 and 255),
  request_hash text,
  status text not null default 'queued' check (status in ('queued', 'sending', 'sent', 'delivered', 'read', 'failed')),
  attempts integer not null default 0,
  max_attempts integer not null default 5 check (max_attempts > 0),
  next_attempt_at timestamptz not null default now(),
  locked_by uuid,
  locked_until timestamptz,
  error_code text,
  error_message text,
  created_at timestamptz not null default now(),
  sending_at timestamptz,
  sent_at timestamptz,
  delivered_at timestamptz,
  read_at timestamptz,
  failed_at timestamptz,
  updated_at timestamptz not null default now(),
  unique (agent_id, wa_message_id),
  unique (agent_id, idempotency_key)
);
comment on table public.messages is 'Outbound queue and history: one row per accepted send, with its WhatsApp id assigned at insert and a forward-only status.';
create index messages_due_idx on public.messages (next_attempt_at) where status in ('queued', 'sending');
create index messages_agent_created_idx on public.messages (agent_id, created_at desc, id desc);
create index messages_owner_idx on public.messages (owner_id);
create trigger messages_touch_updated_at before update on public.messages
  for each row execute function private.touch_updated_at();

create table public.inbound_messages (
  id uuid primary key default extensions.gen_random_uuid(),
  agent_id uuid not null references public.agents (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  wa_message_id text not null,
  chat_jid text not null,
  sender_phone text,
  sender_lid text,
  from_me boolean not null default false,
  type text not null,
  content jsonb not null default '{}'::jsonb,
  quoted_wa_message_id text,
  sent_at timestamptz,
  created_at timestamptz not null default now(),
  unique (agent_id, wa_message_id)
);
comment on table public.inbound_messages is 'Messages received by an agent (and its own messages sent from the phone), stored once per WhatsApp id.';
create index inbound_messages_agent_created_idx on public.inbound_messages (agent_id, created_at desc, id desc);
create index inbound_messages_owner_idx on public.inbound_messages (owner_id);

create table public.daily_stats (
  agent_id uuid not null references public.agents (id) on delete cascade,
  day date not null,
  owner_id uuid not null references auth.users (id) on delete cascade,
  queued integer not null default 0,
  sent integer not null default 0,
  delivered integer not null default 0,
  read integer not null default 0,
  failed integer not null default 0,
  received integer not null default 0,
  api_calls integer not null default 0,
  primary key (agent_id, day)
);
comment on table public.daily_stats is 'Per agent and UTC day: messages queued, sent, delivered, read, failed, received, and API calls.';
create index daily_stats_owner_idx on public.daily_stats (owner_id);

alter table public.messages enable row level security;
alter table public.inbound_messages enable row level security;
alter table public.daily_stats enable row level security;

create policy "Users can read the messages of their own agents"
  on public.messages for select to authenticated using (owner_id = (select auth.uid()));
create policy "Users can read the inbound messages of their own agents"
  on public.inbound_messages for select to authenticated using (owner_id = (select auth.uid()));
create policy "Users can read the statistics of their own agents"
  on public.daily_stats for select to authenticated using (owner_id = (select auth.uid()));

create function private.bump_stats(p_agent uuid, p_owner uuid, p_column text, p_by integer default 1)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_column not in ('queued', 'sent', 'delivered', 'read', 'failed', 'received', 'api_calls') then
    raise exception 'unknown statistic %', p_column;
  end if;
  -- Static SQL (one cached plan) rather than a dynamic statement per call: this runs on every send.
  insert into public.daily_stats as d (agent_id, day, owner_id, queued, sent, delivered, read, failed, received, api_calls)
  values (p_agent, (now() at time zone 'utc')::date, p_owner,
          case when p_column = 'queued' then p_by else 0 end, case when p_column = 'sent' then p_by else 0 end,
          case when p_column = 'delivered' then p_by else 0 end, case when p_column = 'read' then p_by else 0 end,
          case when p_column = 'failed' then p_by else 0 end, case when p_column = 'received' then p_by else 0 end,
          case when p_column = 'api_calls' then p_by else 0 end)
  on conflict (agent_id, day) do update set
    queued = d.queued + excluded.queued, sent = d.sent + excluded.sent, delivered = d.delivered + excluded.delivered,
    read = d.read + excluded.read, failed = d.failed + excluded.failed, received = d.received + excluded.received,
    api_calls = d.api_calls + excluded.api_calls;
end;
$$;
comment on function private.bump_stats(uuid, uuid, text, integer) is 'Adds to one counter of an agent''s statistics for today (UTC).';

create function private.message_status_rank(p_status text)
returns integer
language sql
immutable
set search_path = ''
as $$
  select case p_status when 'queued' then 0 when 'sending' then 1 when 'sent' then 2
                       when 'delivered' then 3 when 'read' then 4 when 'failed' then 5 end
$$;
comment on function private.message_status_rank(text) is 'Order of outbound statuses; a status may only move to a higher rank (failed only from queued, sending or sent).';

create function gateway.count_api_call(p_owner uuid, p_agent uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform private.bump_stats(p_agent, p_owner, 'api_calls', 1);
end;
$$;
comment on function gateway.count_api_call(uuid, uuid) is 'Counts one API call against an agent''s statistics for today.';

-- Accepts one send. Checks ownership, a disabled agent, the idempotency key (a repeat with the
-- same request hash returns the first row with replayed = true; a different hash raises
-- idempotency_conflict) and the plan's per-minute send limit, then inserts the queued row.
create function gateway.enqueue_message(
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
begin
  v_agent := gateway.owned_agent(p_owner, p_agent);
  if v_agent.disabled_at is not null then
    perform gateway.fail('conflict', 'agent is disabled');
  end if;
  if p_recipient is null or p_type is null or jsonb_typeof(p_content) is distinct from 'object' then
    perform gateway.fail('invalid_argument', 'recipient, type and a content object are required');
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
comment on function gateway.enqueue_message(uuid, uuid, text, text, jsonb, text, text) is 'Accepts a send: ownership, disabled agent, idempotency and the plan''s per-minute limit checked; returns the queued row (or the first one for a replay).';

create function gateway.claim_messages(p_connector uuid, p_limit integer default 50, p_visibility_seconds integer default 60, p_agents uuid[] default null)
returns table (
  id uuid, agent_id uuid, lease_epoch bigint, wa_message_id text, recipient text, type text,
  content jsonb, attempts integer, max_attempts integer, created_at timestamptz
)
language plpgsql
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 0 or p_visibility_seconds is null or p_visibility_seconds < 1 then
    perform gateway.fail('invalid_argument', 'limit >= 0 and a positive visibility timeout are required');
  end if;
  return query
  with due as (
    select m.id, s.lease_epoch
    from public.messages m
    join public.whatsapp_sessions s on s.agent_id = m.agent_id
    where s.owner_connector_id = p_connector and s.lease_until > now()
      and (p_agents is null or m.agent_id = any (p_agents))
      and ((m.status = 'queued' and m.next_attempt_at <= now())
           or (m.status = 'sending' and m.locked_until <= now()))
    order by m.next_attempt_at, m.created_at
    limit p_limit
    for update of m skip locked
  )
  update public.messages m
  set status = 'sending', locked_by = p_connector,
      locked_until = now() + make_interval(secs => p_visibility_seconds),
      attempts = m.attempts + 1, sending_at = coalesce(m.sending_at, now())
  from due
  where m.id = due.id
  returning m.id, m.agent_id, due.lease_epoch, m.wa_message_id, m.recipient, m.type, m.content,
            m.attempts, m.max_attempts, m.created_at;
end;
$$;
comment on function gateway.claim_messages(uuid, integer, integer, uuid[]) is 'Claims due outbound messages of sessions the connector leases (FOR UPDATE SKIP LOCKED, visibility timeout); expired locks come back.';

-- p_results: [{ "id": uuid, "outcome": "sent" | "retry" | "failed", "error_code": text?,
--               "error_message": text?, "retry_in_seconds": number?, "strip_media": bool? }]
-- Only rows still held by p_connector (status sending, locked_by = p_connector) are touched.
create function gateway.complete_messages(p_connector uuid, p_results jsonb)
returns table (id uuid, status text)
language plpgsql
set search_path = ''
as $$
declare
  r record;
  v_agents uuid[] := '{}';
  v_owners uuid[] := '{}';
  v_statuses text[] := '{}';
begin
  if jsonb_typeof(p_results) is distinct from 'array' then
    perform gateway.fail('invalid_argument', 'results must be a JSON array');
  end if;
  for r in
    with input as (
      select (x ->> 'id')::uuid as id, x ->> 'outcome' as outcome, left(x ->> 'error_code', 100) as error_code,
             left(x ->> 'error_message', 500) as error_message,
             coalesce((x ->> 'retry_in_seconds')::double precision, 5) as retry_in,
             coalesce((x ->> 'strip_media')::boolean, false) as strip_media
      from jsonb_array_elements(p_results) x
    )
    update public.messages m set
      status = case
        when i.outcome = 'sent' then 'sent'
        when i.outcome = 'failed' or m.attempts >= m.max_attempts then 'failed'
        else 'queued' end,
      sent_at = case when i.outcome = 'sent' then now() else m.sent_at end,
      failed_at = case when i.outcome = 'failed' or (i.outcome = 'retry' and m.attempts >= m.max_attempts) then now() else m.failed_at end,
      error_code = case when i.outcome = 'sent' then null
                        when i.outcome = 'retry' and m.attempts >= m.max_attempts then coalesce(i.error_code, 'retries_exhausted')
                        else i.error_code end,
      error_message = case when i.outcome = 'sent' then null else i.error_message end,
      next_attempt_at = case when i.outcome = 'retry' then now() + make_interval(secs => i.retry_in) else m.next_attempt_at end,
      content = case when i.strip_media and m.content ? 'media' and (m.content -> 'media') ? 'data'
                     then jsonb_set(m.content, '{media}', (m.content -> 'media') - 'data' || '{"data_removed": true}')
                     else m.content end,
      locked_by = null,
      locked_until = null
    from input i
    where m.id = i.id and m.locked_by = p_connector and m.status = 'sending'
      and i.outcome in ('sent', 'retry', 'failed')
    returning m.id, m.agent_id, m.owner_id, m.wa_message_id, m.status, m.error_code, m.error_message
  loop
    if r.status in ('sent', 'failed') then
      v_agents := v_agents || r.agent_id;
      v_owners := v_owners || r.owner_id;
      v_statuses := v_statuses || r.status;
      perform gateway.emit_event(r.owner_id, r.agent_id, 'message.status',
        case when r.status = 'failed' then 'warning' else 'info' end,
        jsonb_build_object('message_id', r.id, 'wa_message_id', r.wa_message_id, 'status', r.status,
                           'error_code', r.error_code, 'error_message', r.error_message));
    end if;
    id := r.id; status := r.status;
    return next;
  end loop;
  -- One statement in agent order: concurrent completions whose batches span the same agents
  -- then lock daily_stats rows in the same order instead of deadlocking.
  insert into public.daily_stats as d (agent_id, day, owner_id, sent, failed)
  select x.agent_id, (now() at time zone 'utc')::date, x.owner_id,
         count(*) filter (where x.status = 'sent'), count(*) filter (where x.status = 'failed')
  from unnest(v_agents, v_owners, v_statuses) as x(agent_id, owner_id, status)
  group by x.agent_id, x.owner_id
  order by x.agent_id
  on conflict (agent_id, day) do update set sent = d.sent + excluded.sent, failed = d.failed + excluded.failed;
end;
$$;
comment on function gateway.complete_messages(uuid, jsonb) is 'Batched outcome of claimed sends (sent, retry with backoff, failed); only rows the caller still holds; raises message.status events.';

-- Receipts from WhatsApp. p_updates: [{ "wa_message_id": text, "status": "sent" | "delivered" |
-- "read" | "failed", "error_code": text?, "error_message": text? }]. Only forward moves apply.
create function gateway.advance_message_status(p_agent uuid, p_connector uuid, p_epoch bigint, p_updates jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  r record;
  v_count integer := 0;
begin
  if jsonb_typeof(p_updates) is distinct from 'array' then
    perform gateway.fail('invalid_argument', 'updates must be a JSON array');
  end if;
  if exists (select 1 from jsonb_array_elements(p_updates) x
             where x ->> 'status' not in ('sent', 'delivered', 'read', 'failed') or x ->> 'status' is null) then
    perform gateway.fail('invalid_argument', 'status must be sent, delivered, read or failed');
  end if;
  perform gateway.assert_lease(p_agent, p_connector, p_epoch);
  for r in
    with input as (
      select distinct on (x ->> 'wa_message_id') x ->> 'wa_message_id' as wa_message_id, x ->> 'status' as status,
             left(x ->> 'error_code', 100) as error_code, left(x ->> 'error_message', 500) as error_message
      from jsonb_array_elements(p_updates) x
      order by x ->> 'wa_message_id', private.message_status_rank(x ->> 'status') desc
    ), prev as (
      select m.id, m.status as old_status from public.messages m join input i on i.wa_message_id = m.wa_message_id
      where m.agent_id = p_agent for update of m
    )
    update public.messages m set
      status = i.status,
      sent_at = case when i.status in ('sent', 'delivered', 'read') then coalesce(m.sent_at, now()) else m.sent_at end,
      delivered_at = case when i.status in ('delivered', 'read') then coalesce(m.delivered_at, now()) else m.delivered_at end,
      read_at = case when i.status = 'read' then coalesce(m.read_at, now()) else m.read_at end,
      failed_at = case when i.status = 'failed' then now() else m.failed_at end,
      error_code = case when i.status = 'failed' then coalesce(i.error_code, 'whatsapp_error') else m.error_code end,
      error_message = case when i.status = 'failed' then i.error_message else m.error_message end
    from input i, prev
    where m.agent_id = p_agent and m.wa_message_id = i.wa_message_id and prev.id = m.id
      and case when i.status = 'failed' then m.status in ('queued', 'sending', 'sent')
               else m.status <> 'failed' and private.message_status_rank(i.status) > private.message_status_rank(m.status) end
    returning m.id, m.owner_id, m.wa_message_id, m.status, prev.old_status, m.error_code
  loop
    v_count := v_count + 1;
    -- A receipt can jump ranks (sending -> read); count each milestone passed once.
    if r.status in ('sent', 'delivered', 'read') and private.message_status_rank(r.old_status) < 2 then
      perform private.bump_stats(p_agent, r.owner_id, 'sent', 1);
    end if;
    if r.status in ('delivered', 'read') and private.message_status_rank(r.old_status) < 3 then
      perform private.bump_stats(p_agent, r.owner_id, 'delivered', 1);
    end if;
    if r.status = 'read' then
      perform private.bump_stats(p_agent, r.owner_id, 'read', 1);
    end if;
    if r.status = 'failed' then
      perform private.bump_stats(p_agent, r.owner_id, 'failed', 1);
    end if;
    perform gateway.emit_event(r.owner_id, p_agent, 'message.status',
      case when r.status = 'failed' then 'warning' else 'info' end,
      jsonb_build_object('message_id', r.id, 'wa_message_id', r.wa_message_id, 'status', r.status,
                         'previous_status', r.old_status, 'error_code', r.error_code));
  end loop;
  return v_count;
end;
$$;
comment on function gateway.advance_message_status(uuid, uuid, bigint, jsonb) is 'Fenced, batched, forward-only status updates from WhatsApp receipts; raises message.status events and counts statistics.';

-- p_messages: [{ "wa_message_id", "chat_jid", "sender_phone"?, "sender_lid"?, "from_me"?, "type",
--               "content"?, "quoted_wa_message_id"?, "sent_at"? }]. Stored once per WhatsApp id.
create function gateway.record_inbound(p_agent uuid, p_connector uuid, p_epoch bigint, p_messages jsonb)
returns table (id uuid, wa_message_id text)
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
  r record;
begin
  if jsonb_typeof(p_messages) is distinct from 'array' then
    perform gateway.fail('invalid_argument', 'messages must be a JSON array');
  end if;
  v_session := gateway.assert_lease(p_agent, p_connector, p_epoch);
  for r in
    insert into public.inbound_messages as im (agent_id, owner_id, wa_message_id, chat_jid, sender_phone, sender_lid,
      from_me, type, content, quoted_wa_message_id, sent_at)
    select p_agent, v_session.owner_id, x ->> 'wa_message_id', x ->> 'chat_jid', x ->> 'sender_phone', x ->> 'sender_lid',
           coalesce((x ->> 'from_me')::boolean, false), coalesce(x ->> 'type', 'unknown'),
           coalesce(x -> 'content', '{}'::jsonb), x ->> 'quoted_wa_message_id', (x ->> 'sent_at')::timestamptz
    from jsonb_array_elements(p_messages) x
    where x ->> 'wa_message_id' is not null and x ->> 'chat_jid' is not null
    on conflict on constraint inbound_messages_agent_id_wa_message_id_key do nothing
    returning im.id, im.wa_message_id, im.from_me, im.type, im.chat_jid, im.sender_phone, im.sender_lid, im.content,
              im.quoted_wa_message_id, im.sent_at
  loop
    if not r.from_me then
      perform private.bump_stats(p_agent, v_session.owner_id, 'received', 1);
    end if;
    perform gateway.emit_event(v_session.owner_id, p_agent,
      case when r.from_me then 'message.sent_from_phone' else 'message.received' end, 'info',
      jsonb_build_object('id', r.id, 'wa_message_id', r.wa_message_id, 'type', r.type, 'chat_jid', r.chat_jid,
                         'sender_phone', r.sender_phone, 'sender_lid', r.sender_lid, 'content', r.content,
                         'quoted_wa_message_id', r.quoted_wa_message_id, 'sent_at', r.sent_at));
    id := r.id; wa_message_id := r.wa_message_id;
    return next;
  end loop;
end;
$$;
comment on function gateway.record_inbound(uuid, uuid, bigint, jsonb) is 'Fenced: stores inbound messages once per WhatsApp id and raises message.received events (with webhooks) for the new ones only.';
