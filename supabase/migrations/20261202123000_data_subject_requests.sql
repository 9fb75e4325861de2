-- Data subject requests (GDPR arts. 15, 17; issue 13): what the gateway stores about one contact
-- of a tenant — a phone number or a WhatsApp LID — exported as one document, or erased in one
-- transaction. Statistics (public.daily_stats) are counts without a contact and stay as they are.
--
-- Who the contact is: a phone number (E.164 digits) is the JID <digits>@s.whatsapp.net; a LID is
-- <id>@lid. The other form is added when the tenant's inbound messages paired them (a message
-- carrying both sender_phone and sender_lid): WhatsApp v7 addresses contacts by LID, so one person
-- appears under both. Baileys' own LID mapping (private.signal_keys, type lid-mapping) is sealed
-- with the connectors' key, which this role never holds, so only its key ids are matched.
--
-- What concerns the contact, per table (the tenant's agents, or one of them):
--   public.messages           outbound rows whose recipient is the number or one of the JIDs;
--   public.inbound_messages   rows of their 1:1 chat (chat_jid, both directions) and group
--                             messages they sent (sender_phone / sender_lid); other members' group
--                             messages that merely mention them are not theirs and are kept;
--   public.number_checks      checks that asked for the number (erase drops the number and its
--                             answer from a check of several numbers, the whole row otherwise);
--   public.events             message events of those rows and any event whose payload names
--                             them (chat_jid, sender_phone, sender_lid), e.g. alert.inbound_unstorable;
--   public.webhook_deliveries the deliveries of those events (deleted with them, by cascade);
--   private.media_objects     objects of their outbound messages that no other message refers to;
--   private.signal_keys       the Signal session and identity key of each of their devices, their
--                             device list and their LID mapping rows. Export lists how many exist,
--                             never key material. Erase deletes them: a new session is built the
--                             next time either side writes (the cost is one pre-key fetch).
--                             tctoken rows are kept: WhatsApp may refuse a send without the
--                             contact's trust token (error 463) and it carries no content.
-- Each request is recorded in private.data_requests: who asked, when, which contact as a hash
-- (sha256 of owner id and contact, never the number itself), and what was found as counts.

create table private.data_requests (
  id uuid primary key default extensions.gen_random_uuid(),
  owner_id uuid not null references public.organisations (id) on delete cascade,
  requested_by uuid not null,
  kind text not null check (kind in ('export', 'erase')),
  contact_hash text not null check (contact_hash ~ '^[0-9a-f]{64}$'),
  agent_id uuid,
  counts jsonb not null,
  created_at timestamptz not null default now()
);
comment on table private.data_requests is 'Data subject requests (export, erase) of a tenant: who asked, when, a hash of the contact (never the number) and what was exported or erased, as counts.';
comment on column private.data_requests.contact_hash is 'sha256 hex of "<owner id>:<contact>" (contact = E.164 digits or <id>@lid as asked): answers "was this contact erased?" for someone who knows the number, names nobody to anyone else.';
comment on column private.data_requests.agent_id is 'The one agent the request was limited to; null: every agent of the tenant.';
create index data_requests_owner_created_idx on private.data_requests (owner_id, created_at desc);
alter table private.data_requests enable row level security;
create policy "Owners and admins can read their organisation's data requests" on private.data_requests
  for select to authenticated using ((select private.has_role(owner_id, 'admin')));

-- Each request is in the audit log too, in its own transaction (the hash, never the contact).
create function private.audit_data_requests()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.record_audit(case new.kind when 'export' then 'data_subject.exported' else 'data_subject.erased' end,
    new.owner_id, new.agent_id, new.id, jsonb_build_object('contact_hash', new.contact_hash, 'counts', new.counts));
  return null;
end;
$$;
comment on function private.audit_data_requests() is 'Audit trigger of private.data_requests: an export or an erase, with the contact''s hash and the counts.';
revoke all on function private.audit_data_requests() from public, anon, authenticated;
create trigger audit_data_requests after insert on private.data_requests for each row execute function private.audit_data_requests();
revoke all on private.data_requests from public, anon, authenticated;
grant select, insert on private.data_requests to service_role;

-- The contact's identities, from what the caller typed (already normalised by the API).
create function private.data_subject(p_owner uuid, p_agents uuid[], p_contact text)
returns table (phones text[], lids text[], jids text[], signal_users text[])
language plpgsql
stable
set search_path = ''
as $$
declare
  v_phones text[] := '{}';
  v_lids text[] := '{}';
begin
  if p_contact ~ '^[1-9][0-9]{6,14}$' then
    v_phones := array[p_contact];
    select coalesce(array_agg(distinct im.sender_lid), '{}') into v_lids
    from public.inbound_messages im
    where im.owner_id = p_owner and im.agent_id = any (p_agents) and im.sender_phone = p_contact and im.sender_lid is not null;
  elsif p_contact ~ '^[0-9]{1,24}@lid$' then
    v_lids := array[p_contact];
    select coalesce(array_agg(distinct im.sender_phone), '{}') into v_phones
    from public.inbound_messages im
    where im.owner_id = p_owner and im.agent_id = any (p_agents) and im.sender_lid = p_contact and im.sender_phone is not null;
  else
    perform gateway.fail('invalid_argument', 'a contact is a phone number in E.164 digits or a WhatsApp LID (<id>@lid)');
  end if;
  phones := v_phones;
  lids := v_lids;
  jids := array(select p || '@s.whatsapp.net' from unnest(v_phones) p) || v_lids;
  -- Baileys' Signal addresses: <phone>.<device> and <lid>_1.<device> (jidToSignalProtocolAddress).
  signal_users := v_phones || array(select split_part(l, '@', 1) || '_1' from unnest(v_lids) l);
  return next;
end;
$$;
comment on function private.data_subject(uuid, uuid[], text) is 'Data subject requests: the phone numbers, LIDs, JIDs and Signal address users of one contact (the other form added when the tenant''s inbound messages paired them); invalid_argument for anything else.';

-- The agents a request covers: one owned agent (unknown_agent / not_owner otherwise) or all.
create function private.data_request_agents(p_owner uuid, p_agent uuid)
returns uuid[]
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_owner is null then
    perform gateway.fail('invalid_argument', 'owner is required');
  end if;
  if p_agent is not null then
    return array[(gateway.owned_agent(p_owner, p_agent)).id];
  end if;
  return coalesce((select array_agg(a.id) from public.agents a where a.owner_id = p_owner), '{}');
end;
$$;
comment on function private.data_request_agents(uuid, uuid) is 'Data subject requests: the one agent asked for (ownership checked) or every agent of the owner.';

create function private.data_request_hash(p_owner uuid, p_contact text)
returns text
language sql
immutable
set search_path = ''
as $$
  select encode(pg_catalog.sha256(convert_to(p_owner::text || ':' || p_contact, 'UTF8')), 'hex')
$$;
comment on function private.data_request_hash(uuid, text) is 'Data subject requests: the hash recorded instead of the contact.';

-- Keys of private.signal_keys that name the contact (see the header).
create function private.data_subject_signal_key(p_type text, p_key_id text, p_phones text[], p_lids text[], p_signal_users text[])
returns boolean
language sql
immutable
set search_path = ''
as $$
  select case p_type
    when 'session' then p_key_id like '%.%' and split_part(p_key_id, '.', 1) = any (p_signal_users)
    when 'identity-key' then p_key_id like '%.%' and split_part(p_key_id, '.', 1) = any (p_signal_users)
    when 'device-list' then p_key_id = any (p_phones) or p_key_id = any (array(select split_part(l, '@', 1) from unnest(p_lids) l))
    when 'lid-mapping' then p_key_id = any (p_phones) or p_key_id = any (array(select split_part(l, '@', 1) || '_reverse' from unnest(p_lids) l))
    else false
  end
$$;
comment on function private.data_subject_signal_key(text, text, text[], text[], text[]) is 'Data subject requests: whether a Signal key row (type, key id) belongs to the contact: their sessions and identity keys per device, device list and LID mapping.';

create function gateway.export_data_subject(
  p_owner uuid, p_requested_by uuid, p_contact text, p_agent uuid default null,
  p_capacity integer default 20, p_window_seconds integer default 3600
)
returns table (request_id uuid, document jsonb, counts jsonb, rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
language plpgsql
set search_path = ''
as $$
declare
  v_agents uuid[];
  v_who record;
  v_rate record;
  v_outbound jsonb;
  v_inbound jsonb;
  v_checks jsonb;
  v_events jsonb;
  v_deliveries jsonb;
  v_keys jsonb;
  v_media jsonb;
  v_outbound_ids text[];
  v_inbound_ids text[];
begin
  v_agents := private.data_request_agents(p_owner, p_agent);
  select * into v_who from private.data_subject(p_owner, v_agents, p_contact);
  -- After validation, so that bad input spends nothing; exports and erasures share the bucket.
  select * into v_rate from private.take_or_fail('data-requests:' || p_owner::text, p_capacity, p_window_seconds, 1, 'data request');
  rate_limit := v_rate.rate_limit; rate_remaining := v_rate.rate_remaining; rate_reset_seconds := v_rate.rate_reset_seconds;

  select coalesce(jsonb_agg(to_jsonb(m) - 'locked_by' - 'locked_until' - 'request_hash' order by m.created_at, m.id), '[]'),
         coalesce(array_agg(m.id::text), '{}')
  into v_outbound, v_outbound_ids
  from public.messages m
  where m.owner_id = p_owner and m.agent_id = any (v_agents)
    and (m.recipient = any (v_who.phones) or m.recipient = any (v_who.jids));

  select coalesce(jsonb_agg(to_jsonb(im) order by im.created_at, im.id), '[]'), coalesce(array_agg(im.id::text), '{}')
  into v_inbound, v_inbound_ids
  from public.inbound_messages im
  where im.owner_id = p_owner and im.agent_id = any (v_agents)
    and (im.chat_jid = any (v_who.jids) or im.sender_phone = any (v_who.phones) or im.sender_lid = any (v_who.lids));

  -- A check of several numbers: only the contact's number and answer (the others are not theirs).
  select coalesce(jsonb_agg(jsonb_build_object(
           'id', n.id, 'agent_id', n.agent_id, 'status', n.status, 'created_at', n.created_at, 'completed_at', n.completed_at,
           'numbers', to_jsonb(array(select x from unnest(n.numbers) x where x = any (v_who.phones))),
           'result', (select jsonb_agg(r) from jsonb_array_elements(case when jsonb_typeof(n.result) = 'array' then n.result else '[]' end) r
                      where r ->> 'number' = any (v_who.phones)))
         order by n.created_at, n.id), '[]')
  into v_checks
  from public.number_checks n
  where n.owner_id = p_owner and n.agent_id = any (v_agents) and n.numbers && v_who.phones;

  with concerning as (
    select e.* from public.events e
    where e.owner_id = p_owner and e.agent_id = any (v_agents)
      and (e.payload ->> 'id' = any (v_inbound_ids) or e.payload ->> 'message_id' = any (v_outbound_ids)
           or e.payload ->> 'chat_jid' = any (v_who.jids) or e.payload ->> 'sender_phone' = any (v_who.phones)
           or e.payload ->> 'sender_lid' = any (v_who.lids))
  )
  select coalesce((select jsonb_agg(to_jsonb(c) order by c.created_at, c.id) from concerning c), '[]'),
         coalesce((select jsonb_agg(jsonb_build_object(
                     'id', d.id, 'endpoint_id', d.endpoint_id, 'event_id', d.event_id, 'status', d.status, 'attempts', d.attempts,
                     'last_status_code', d.last_status_code, 'last_attempt_at', d.last_attempt_at, 'delivered_at', d.delivered_at,
                     'created_at', d.created_at) order by d.created_at, d.id)
                   from public.webhook_deliveries d join concerning c on c.id = d.event_id), '[]')
  into v_events, v_deliveries;

  select coalesce(jsonb_agg(jsonb_build_object('agent_id', k.agent_id, 'key_type', k.key_type, 'count', k.n) order by k.agent_id, k.key_type), '[]')
  into v_keys
  from (select sk.agent_id, sk.key_type, count(*) as n from private.signal_keys sk
        where sk.agent_id = any (v_agents)
          and private.data_subject_signal_key(sk.key_type, sk.key_id, v_who.phones, v_who.lids, v_who.signal_users)
        group by sk.agent_id, sk.key_type) k;

  select coalesce(jsonb_agg(jsonb_build_object('key', o.key, 'sha256', o.sha256, 'size', o.size, 'registered_at', o.registered_at) order by o.key), '[]')
  into v_media
  from private.media_objects o
  where o.owner_id = p_owner and o.key in (
    select m ->> 'key' from jsonb_array_elements(v_outbound) x, lateral (select x -> 'content' -> 'media' as m) y where m ? 'key');

  document := jsonb_build_object(
    'contact', jsonb_build_object('phones', to_jsonb(v_who.phones), 'lids', to_jsonb(v_who.lids)),
    'outbound_messages', v_outbound, 'inbound_messages', v_inbound, 'number_checks', v_checks,
    'events', v_events, 'webhook_deliveries', v_deliveries, 'signal_keys', v_keys, 'media_objects', v_media);
  counts := jsonb_build_object(
    'outbound_messages', jsonb_array_length(v_outbound), 'inbound_messages', jsonb_array_length(v_inbound),
    'number_checks', jsonb_array_length(v_checks), 'events', jsonb_array_length(v_events),
    'webhook_deliveries', jsonb_array_length(v_deliveries),
    'signal_keys', coalesce((select sum((k ->> 'count')::integer) from jsonb_array_elements(v_keys) k), 0),
    'media_objects', jsonb_array_length(v_media));
  insert into private.data_requests (owner_id, requested_by, kind, contact_hash, agent_id, counts)
  values (p_owner, coalesce(p_requested_by, p_owner), 'export', private.data_request_hash(p_owner, p_contact), p_agent, counts)
  returning id into request_id;
  return next;
end;
$$;
comment on function gateway.export_data_subject(uuid, uuid, text, uuid, integer, integer) is 'Data subject access: everything stored about one contact across the owner''s agents (or one agent) as one document — messages both ways, number checks, events and deliveries, media objects, and how many Signal keys exist (never their material); recorded in private.data_requests; limited per owner (shared with erasures).';

create function gateway.erase_data_subject(
  p_owner uuid, p_requested_by uuid, p_contact text, p_agent uuid default null,
  p_capacity integer default 20, p_window_seconds integer default 3600
)
returns table (request_id uuid, counts jsonb, media_keys text[], rate_limit integer, rate_remaining integer, rate_reset_seconds integer)
language plpgsql
set search_path = ''
as $$
declare
  v_agents uuid[];
  v_who record;
  v_rate record;
  v_outbound_ids text[];
  v_inbound_ids text[];
  v_media_candidates jsonb;
  v_outbound integer;
  v_inbound integer;
  v_checks_deleted integer;
  v_checks_scrubbed integer;
  v_events integer;
  v_deliveries integer;
  v_keys integer;
  v_media integer;
begin
  v_agents := private.data_request_agents(p_owner, p_agent);
  select * into v_who from private.data_subject(p_owner, v_agents, p_contact);
  -- After validation, so that bad input spends nothing; exports and erasures share the bucket.
  select * into v_rate from private.take_or_fail('data-requests:' || p_owner::text, p_capacity, p_window_seconds, 1, 'data request');
  rate_limit := v_rate.rate_limit; rate_remaining := v_rate.rate_remaining; rate_reset_seconds := v_rate.rate_reset_seconds;

  -- Media of their messages, with when each was last needed for them: an object registered again
  -- after that is an upload in flight for someone else and is kept.
  with deleted as (
    delete from public.messages m
    where m.owner_id = p_owner and m.agent_id = any (v_agents)
      and (m.recipient = any (v_who.phones) or m.recipient = any (v_who.jids))
    returning m.id, m.created_at, m.content -> 'media' ->> 'key' as media_key
  )
  select coalesce(array_agg(d.id::text), '{}'),
         coalesce((select jsonb_object_agg(k.media_key, k.last_needed)
                   from (select d2.media_key, max(d2.created_at) as last_needed from deleted d2
                         where d2.media_key is not null group by d2.media_key) k), '{}'),
         count(*)
  into v_outbound_ids, v_media_candidates, v_outbound
  from deleted d;

  with deleted as (
    delete from public.inbound_messages im
    where im.owner_id = p_owner and im.agent_id = any (v_agents)
      and (im.chat_jid = any (v_who.jids) or im.sender_phone = any (v_who.phones) or im.sender_lid = any (v_who.lids))
    returning im.id
  )
  select coalesce(array_agg(d.id::text), '{}'), count(*) into v_inbound_ids, v_inbound from deleted d;

  -- Checks of their number alone go; checks of several lose the number and its answer.
  delete from public.number_checks n
  where n.owner_id = p_owner and n.agent_id = any (v_agents) and n.numbers <@ v_who.phones;
  get diagnostics v_checks_deleted = row_count;
  update public.number_checks n set
    numbers = array(select x from unnest(n.numbers) x where not x = any (v_who.phones)),
    result = case when jsonb_typeof(n.result) = 'array'
                  then coalesce((select jsonb_agg(r) from jsonb_array_elements(n.result) r where not coalesce(r ->> 'number' = any (v_who.phones), false)), '[]')
                  else n.result end
  where n.owner_id = p_owner and n.agent_id = any (v_agents) and n.numbers && v_who.phones;
  get diagnostics v_checks_scrubbed = row_count;

  select count(*) into v_deliveries
  from public.webhook_deliveries d join public.events e on e.id = d.event_id
  where e.owner_id = p_owner and e.agent_id = any (v_agents)
    and (e.payload ->> 'id' = any (v_inbound_ids) or e.payload ->> 'message_id' = any (v_outbound_ids)
         or e.payload ->> 'chat_jid' = any (v_who.jids) or e.payload ->> 'sender_phone' = any (v_who.phones)
         or e.payload ->> 'sender_lid' = any (v_who.lids));
  -- Their deliveries (and alert mails) go with the events, by cascade.
  delete from public.events e
  where e.owner_id = p_owner and e.agent_id = any (v_agents)
    and (e.payload ->> 'id' = any (v_inbound_ids) or e.payload ->> 'message_id' = any (v_outbound_ids)
         or e.payload ->> 'chat_jid' = any (v_who.jids) or e.payload ->> 'sender_phone' = any (v_who.phones)
         or e.payload ->> 'sender_lid' = any (v_who.lids));
  get diagnostics v_events = row_count;

  delete from private.signal_keys sk
  where sk.agent_id = any (v_agents)
    and private.data_subject_signal_key(sk.key_type, sk.key_id, v_who.phones, v_who.lids, v_who.signal_users);
  get diagnostics v_keys = row_count;

  -- Objects no remaining message refers to, locked until commit as media retention does: the
  -- caller deletes them from the store inside this transaction, so an upload of the same bytes
  -- waits for the commit and then stores them again.
  with gone as (
    select o.key from private.media_objects o
    where o.owner_id = p_owner and v_media_candidates ? o.key
      and o.registered_at <= (v_media_candidates ->> o.key)::timestamptz
      and not exists (select 1 from public.messages m where m.owner_id = p_owner and m.content -> 'media' ->> 'key' = o.key)
    for update of o
  ), forgotten as (
    delete from private.media_objects o using gone where o.key = gone.key returning o.key
  )
  select coalesce(array_agg(f.key order by f.key), '{}') into media_keys from forgotten f;
  v_media := cardinality(media_keys);

  counts := jsonb_build_object(
    'outbound_messages', v_outbound, 'inbound_messages', v_inbound, 'number_checks', v_checks_deleted + v_checks_scrubbed,
    'events', v_events, 'webhook_deliveries', v_deliveries, 'signal_keys', v_keys, 'media_objects', v_media);
  insert into private.data_requests (owner_id, requested_by, kind, contact_hash, agent_id, counts)
  values (p_owner, coalesce(p_requested_by, p_owner), 'erase', private.data_request_hash(p_owner, p_contact), p_agent, counts)
  returning id into request_id;
  return next;
end;
$$;
comment on function gateway.erase_data_subject(uuid, uuid, text, uuid, integer, integer) is 'Data subject erasure in the caller''s transaction: deletes what export_data_subject finds (number checks of several numbers lose only the contact''s number), leaves daily_stats, records counts and a hash of the contact; returns the media keys the caller must delete from the store before it commits.';

select private.expose_to_api(f::regprocedure) from unnest(array[
  'gateway.export_data_subject(uuid, uuid, text, uuid, integer, integer)',
  'gateway.erase_data_subject(uuid, uuid, text, uuid, integer, integer)'
]) as f;
