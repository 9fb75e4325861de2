-- Events and the webhook outbox. An event (message received, status changed, session status,
-- alert) is the audit trail; emitting it writes one delivery row per subscribed endpoint in the
-- same transaction as the change that caused it, so a committed change is never without its
-- webhook and a rolled-back one never has one. Any connector may work the outbox.

create table public.events (
  id uuid primary key default extensions.gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  agent_id uuid references public.agents (id) on delete cascade,
  type text not null check (type ~ '^[a-z_]+\.[a-z_.]+$'),
  severity text not null default 'info' check (severity in ('info', 'warning', 'critical')),
  payload jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);
comment on table public.events is 'Audit trail and alert source: session status changes, lease takeovers, alerts, message events. Also the source of webhook deliveries.';
create index events_agent_created_idx on public.events (agent_id, created_at desc);
create index events_owner_created_idx on public.events (owner_id, created_at desc);
create index events_alerts_idx on public.events (created_at desc) where severity <> 'info';

create table public.webhook_endpoints (
  id uuid primary key default extensions.gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  agent_id uuid references public.agents (id) on delete cascade,
  url text not null check (url ~ '^https?://' and char_length(url) <= 2048),
  event_types text[] not null default '{*}',
  description text,
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.webhook_endpoints is 'Where a tenant wants events POSTed; agent_id null means all of the owner''s agents; event_types ''*'' means all.';
create index webhook_endpoints_owner_idx on public.webhook_endpoints (owner_id);
create index webhook_endpoints_agent_idx on public.webhook_endpoints (agent_id);
create trigger webhook_endpoints_touch_updated_at before update on public.webhook_endpoints
  for each row execute function private.touch_updated_at();

create table private.webhook_secrets (
  endpoint_id uuid primary key references public.webhook_endpoints (id) on delete cascade,
  ciphertext bytea not null,
  key_version integer not null,
  created_at timestamptz not null default now()
);
comment on table private.webhook_secrets is 'Signing secret of each webhook endpoint, AES-256-GCM ciphertext made by the application; SQL never sees the plaintext.';

create table public.webhook_deliveries (
  id uuid primary key default extensions.gen_random_uuid(),
  endpoint_id uuid not null references public.webhook_endpoints (id) on delete cascade,
  event_id uuid not null references public.events (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  status text not null default 'pending' check (status in ('pending', 'delivering', 'delivered', 'dead')),
  attempts integer not null default 0,
  max_attempts integer not null default 8 check (max_attempts > 0),
  next_attempt_at timestamptz not null default now(),
  locked_by uuid,
  locked_until timestamptz,
  last_status_code integer,
  last_error text,
  last_attempt_at timestamptz,
  delivered_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table public.webhook_deliveries is 'The outbox: one row per (event, endpoint); claimed with SKIP LOCKED by any connector, retried with backoff, dead after max_attempts.';
create index webhook_deliveries_due_idx on public.webhook_deliveries (next_attempt_at)
  where status in ('pending', 'delivering');
create index webhook_deliveries_endpoint_idx on public.webhook_deliveries (endpoint_id, created_at desc);
create index webhook_deliveries_event_idx on public.webhook_deliveries (event_id);
create index webhook_deliveries_owner_idx on public.webhook_deliveries (owner_id);

alter table public.events enable row level security;
alter table public.webhook_endpoints enable row level security;
alter table public.webhook_deliveries enable row level security;

create policy "Users can read the events of their own agents"
  on public.events for select to authenticated using (owner_id = (select auth.uid()));
create policy "Users can read their own webhook endpoints"
  on public.webhook_endpoints for select to authenticated using (owner_id = (select auth.uid()));
create policy "Users can read the deliveries of their own webhooks"
  on public.webhook_deliveries for select to authenticated using (owner_id = (select auth.uid()));

create function gateway.emit_event(
  p_owner uuid, p_agent uuid, p_type text, p_severity text default 'info', p_payload jsonb default '{}'::jsonb
)
returns uuid
language plpgsql
set search_path = ''
as $$
declare
  v_event_id uuid;
begin
  insert into public.events (owner_id, agent_id, type, severity, payload)
  values (p_owner, p_agent, p_type, p_severity, coalesce(p_payload, '{}'::jsonb))
  returning id into v_event_id;

  insert into public.webhook_deliveries (endpoint_id, event_id, owner_id)
  select e.id, v_event_id, p_owner
  from public.webhook_endpoints e
  where e.owner_id = p_owner
    and e.enabled
    and (e.agent_id is null or e.agent_id = p_agent)
    and ('*' = any (e.event_types) or p_type = any (e.event_types)
         or split_part(p_type, '.', 1) || '.*' = any (e.event_types));
  return v_event_id;
end;
$$;
comment on function gateway.emit_event(uuid, uuid, text, text, jsonb) is 'Writes an event and its webhook deliveries in the caller''s transaction (the outbox).';

create function gateway.claim_deliveries(p_connector uuid, p_limit integer default 50, p_visibility_seconds integer default 30)
returns table (
  delivery_id uuid, endpoint_id uuid, url text, secret_ciphertext bytea, secret_key_version integer,
  event_id uuid, event_type text, agent_id uuid, payload jsonb, event_created_at timestamptz,
  attempts integer, max_attempts integer
)
language sql
set search_path = ''
as $$
  with due as (
    select d.id
    from public.webhook_deliveries d
    where d.status in ('pending', 'delivering')
      and d.next_attempt_at <= now()
      and (d.status = 'pending' or d.locked_until <= now())
    order by d.next_attempt_at
    limit greatest(p_limit, 0)
    for update of d skip locked
  ), claimed as (
    update public.webhook_deliveries d
    set status = 'delivering', locked_by = p_connector,
        locked_until = now() + make_interval(secs => p_visibility_seconds),
        attempts = d.attempts + 1, last_attempt_at = now()
    from due
    where d.id = due.id
    returning d.id, d.endpoint_id, d.event_id, d.attempts, d.max_attempts
  )
  select c.id, c.endpoint_id, w.url, s.ciphertext, s.key_version,
         ev.id, ev.type, ev.agent_id, ev.payload, ev.created_at, c.attempts, c.max_attempts
  from claimed c
  join public.webhook_endpoints w on w.id = c.endpoint_id
  join public.events ev on ev.id = c.event_id
  left join private.webhook_secrets s on s.endpoint_id = c.endpoint_id
$$;
comment on function gateway.claim_deliveries(uuid, integer, integer) is 'Claims due webhook deliveries (FOR UPDATE SKIP LOCKED) with a visibility timeout; a crashed dispatcher''s rows come back when it expires.';

-- p_results: [{ "id": uuid, "outcome": "delivered" | "retry" | "dead", "status_code": int?,
--               "error": text?, "retry_at": timestamptz? }]
-- Only rows still locked by p_connector are touched; returns how many were.
create function gateway.complete_deliveries(p_connector uuid, p_results jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  if jsonb_typeof(p_results) is distinct from 'array' then
    perform gateway.fail('invalid_argument', 'results must be a JSON array');
  end if;
  with r as (
    select (x ->> 'id')::uuid as id, x ->> 'outcome' as outcome,
           (x ->> 'status_code')::integer as status_code, left(x ->> 'error', 500) as error,
           (x ->> 'retry_at')::timestamptz as retry_at
    from jsonb_array_elements(p_results) x
  )
  update public.webhook_deliveries d
  set status = case
        when r.outcome = 'delivered' then 'delivered'
        when r.outcome = 'dead' or d.attempts >= d.max_attempts then 'dead'
        else 'pending' end,
      delivered_at = case when r.outcome = 'delivered' then now() else d.delivered_at end,
      next_attempt_at = case when r.outcome = 'retry' then coalesce(r.retry_at, now()) else d.next_attempt_at end,
      last_status_code = r.status_code,
      last_error = r.error,
      locked_by = null,
      locked_until = null
  from r
  where d.id = r.id and d.locked_by = p_connector and d.status = 'delivering'
    and r.outcome in ('delivered', 'retry', 'dead');
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function gateway.complete_deliveries(uuid, jsonb) is 'Batched completion of webhook deliveries; checks the caller still holds each row.';

create function gateway.redeliver(p_owner uuid, p_delivery uuid)
returns public.webhook_deliveries
language plpgsql
set search_path = ''
as $$
declare
  v_row public.webhook_deliveries;
begin
  update public.webhook_deliveries
  set status = 'pending', attempts = 0, next_attempt_at = now(), locked_by = null, locked_until = null
  where id = p_delivery and owner_id = p_owner and status in ('delivered', 'dead', 'pending')
  returning * into v_row;
  if v_row.id is null then
    if exists (select 1 from public.webhook_deliveries where id = p_delivery and owner_id = p_owner) then
      perform gateway.fail('conflict', 'delivery is being attempted right now');
    end if;
    perform gateway.fail('not_found', 'no such delivery');
  end if;
  return v_row;
end;
$$;
comment on function gateway.redeliver(uuid, uuid) is 'Puts a delivered or dead delivery back in the outbox for another round of attempts.';
