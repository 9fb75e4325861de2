-- Seed 000's alerts by email: an outbox of mails beside the webhook outbox. Which alert types are
-- mailed and to whom is the connectors' configuration (ALERT_EMAIL_*), stored here by
-- gateway.configure_alert_emails when a connector with ALERT_SMTP_URL starts, so that the mails
-- of an alert are queued by a trigger in the very transaction that writes the alert event (an
-- alert that rolls back mails nobody; one that commits is mailed even if every connector is down
-- at that moment). Any connector with SMTP configured works the queue: claims use FOR UPDATE SKIP
-- LOCKED and a visibility timeout, completions check the claimer still holds the row, so two
-- connectors never send the same row and a crashed one's rows come back.

create table private.alert_email_settings (
  id boolean primary key default true check (id),
  event_types text[] not null,
  recipients text[] not null,
  owners boolean not null,
  updated_by uuid,
  updated_at timestamptz not null default now()
);
comment on table private.alert_email_settings is 'One row: which alert types are mailed, to which operators, and whether the agent''s owner too (written by the last connector started with ALERT_SMTP_URL). No row: alerts are not mailed.';
revoke all on private.alert_email_settings from public, anon, authenticated;
grant select, insert, update, delete on private.alert_email_settings to service_role;

create table private.alert_emails (
  id uuid primary key default extensions.gen_random_uuid(),
  event_id uuid not null references public.events (id) on delete cascade,
  recipient text not null,
  status text not null default 'pending' check (status in ('pending', 'sending', 'sent', 'dead')),
  attempts integer not null default 0,
  max_attempts integer not null default 12,
  next_attempt_at timestamptz not null default now(),
  locked_by uuid,
  locked_until timestamptz,
  last_attempt_at timestamptz,
  sent_at timestamptz,
  last_error text,
  created_at timestamptz not null default now(),
  unique (event_id, recipient)
);
comment on table private.alert_emails is 'One mail per alert event and recipient (the alert-email outbox); deleted with its event by retention.';
create index alert_emails_due on private.alert_emails (next_attempt_at) where status in ('pending', 'sending');
revoke all on private.alert_emails from public, anon, authenticated;
grant select, insert, update, delete on private.alert_emails to service_role;

-- SECURITY DEFINER: alert events are written by connectors and by API functions alike, and the
-- owner's address is in auth.users, which neither caller's role may read.
create function private.queue_alert_emails()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v private.alert_email_settings;
begin
  select * into v from private.alert_email_settings s where s.id;
  if not found or not (new.type = any (v.event_types)) then
    return null;
  end if;
  insert into private.alert_emails (event_id, recipient)
  select new.id, r.address
  from (
    select unnest(v.recipients) as address
    union
    select u.email from auth.users u
    where v.owners and u.id = new.owner_id and coalesce(u.email, '') <> ''
  ) r
  on conflict (event_id, recipient) do nothing;
  return null;
end;
$$;
comment on function private.queue_alert_emails() is 'Trigger on public.events: queues one mail per configured recipient for an alert type that is mailed (private.alert_email_settings), in the event''s transaction.';
revoke all on function private.queue_alert_emails() from public, anon, authenticated;

create trigger queue_alert_emails
  after insert on public.events
  for each row when (new.type like 'alert.%')
  execute function private.queue_alert_emails();

create function gateway.configure_alert_emails(p_connector uuid, p_event_types text[], p_recipients text[], p_owners boolean)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_event_types is null or cardinality(p_event_types) = 0
     or exists (select 1 from unnest(p_event_types) t where t is null or t not like 'alert.%' or not (t = any (private.event_types()))) then
    perform gateway.fail('invalid_argument', 'event types must be known alert types');
  end if;
  if p_owners is null or (not p_owners and coalesce(cardinality(p_recipients), 0) = 0) then
    perform gateway.fail('invalid_argument', 'mail needs recipients or the agents'' owners');
  end if;
  insert into private.alert_email_settings as s (id, event_types, recipients, owners, updated_by, updated_at)
  values (true, p_event_types, coalesce(p_recipients, '{}'), p_owners, p_connector, now())
  on conflict (id) do update
  set event_types = excluded.event_types, recipients = excluded.recipients, owners = excluded.owners,
      updated_by = excluded.updated_by, updated_at = excluded.updated_at
  where (s.event_types, s.recipients, s.owners) is distinct from (excluded.event_types, excluded.recipients, excluded.owners);
end;
$$;
comment on function gateway.configure_alert_emails(uuid, text[], text[], boolean) is 'Connector (ALERT_SMTP_URL set): which alert types are mailed from now on, to which operators, and whether to the agent''s owner too.';

create function gateway.claim_alert_emails(p_connector uuid, p_limit integer default 10, p_visibility_seconds integer default 60)
returns table (id uuid, recipient text, attempts integer, max_attempts integer, event_id uuid, event_type text, severity text,
               event_created_at timestamptz, payload jsonb, agent_id uuid, agent_name text, phone_number text)
language plpgsql
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 1 or p_visibility_seconds is null or p_visibility_seconds < 1 then
    return;
  end if;
  return query
  with picked as (
    select m.id, m.attempts >= m.max_attempts as dead
    from private.alert_emails m
    where m.status in ('pending', 'sending') and m.next_attempt_at <= now()
      and (m.status = 'pending' or m.locked_until <= now())
    order by m.next_attempt_at, m.id
    limit p_limit
    for update skip locked
  ), buried as (
    update private.alert_emails m
    set status = 'dead', locked_by = null, locked_until = null,
        last_error = coalesce(m.last_error, 'no outcome recorded') || ' (attempts exhausted)'
    from picked
    where m.id = picked.id and picked.dead
  ), claimed as (
    update private.alert_emails m
    set status = 'sending', locked_by = p_connector,
        locked_until = now() + make_interval(secs => p_visibility_seconds),
        attempts = m.attempts + 1, last_attempt_at = now()
    from picked
    where m.id = picked.id and not picked.dead
    returning m.id, m.recipient, m.attempts, m.max_attempts, m.event_id
  )
  select c.id, c.recipient, c.attempts, c.max_attempts, ev.id, ev.type, ev.severity, ev.created_at, ev.payload,
         ev.agent_id, a.name, s.phone_number
  from claimed c
  join public.events ev on ev.id = c.event_id
  left join public.agents a on a.id = ev.agent_id
  left join public.whatsapp_sessions s on s.agent_id = ev.agent_id;
end;
$$;
comment on function gateway.claim_alert_emails(uuid, integer, integer) is 'Connector: claims due alert mails with their event and agent (FOR UPDATE SKIP LOCKED, visibility timeout); rows out of attempts are dead-lettered.';

create function gateway.complete_alert_emails(p_connector uuid, p_results jsonb)
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
    select (x ->> 'id')::uuid as id, x ->> 'outcome' as outcome, left(x ->> 'error', 500) as error,
           (x ->> 'retry_at')::timestamptz as retry_at
    from jsonb_array_elements(p_results) x
  )
  update private.alert_emails m
  set status = case
        when r.outcome = 'sent' then 'sent'
        when r.outcome = 'dead' or m.attempts >= m.max_attempts then 'dead'
        else 'pending' end,
      sent_at = case when r.outcome = 'sent' then now() else m.sent_at end,
      next_attempt_at = case when r.outcome = 'retry' then coalesce(r.retry_at, now()) else m.next_attempt_at end,
      last_error = r.error,
      locked_by = null,
      locked_until = null
  from r
  where m.id = r.id and m.locked_by = p_connector and m.status = 'sending'
    and r.outcome in ('sent', 'retry', 'dead');
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function gateway.complete_alert_emails(uuid, jsonb) is 'Connector: writes outcomes [{id, outcome: sent|retry|dead, error?, retry_at?}] of the alert mails it still holds; returns how many it wrote.';

revoke all on function gateway.configure_alert_emails(uuid, text[], text[], boolean) from public, anon, authenticated, gateway_api;
revoke all on function gateway.claim_alert_emails(uuid, integer, integer) from public, anon, authenticated, gateway_api;
revoke all on function gateway.complete_alert_emails(uuid, jsonb) from public, anon, authenticated, gateway_api;
grant execute on function gateway.configure_alert_emails(uuid, text[], text[], boolean) to service_role;
grant execute on function gateway.claim_alert_emails(uuid, integer, integer) to service_role;
grant execute on function gateway.complete_alert_emails(uuid, jsonb) to service_role;
