-- What the control plane (edge functions) writes: agents within the plan, the owner's wishes for
-- a session (link, disconnect, logout, restart), API keys and number-check jobs. The control plane
-- never talks to the connector: it writes a desired state or a command and returns.

create function gateway.create_agent(p_owner uuid, p_name text)
returns public.agents
language plpgsql
set search_path = ''
as $$
declare
  v_account public.accounts;
  v_max integer;
  v_count integer;
  v_agent public.agents;
begin
  if p_name is null or char_length(trim(p_name)) not between 1 and 100 then
    perform gateway.fail('invalid_argument', 'name must be 1 to 100 characters');
  end if;
  perform gateway.ensure_account(p_owner);
  -- Lock the account row so two concurrent creates cannot both pass the limit.
  select * into v_account from public.accounts where user_id = p_owner for update;
  select max_agents into v_max from public.plans where id = v_account.plan_id;
  select count(*) into v_count from public.agents where owner_id = p_owner;
  if v_count >= v_max then
    perform gateway.fail('plan_limit', format('the %s plan allows %s agents', v_account.plan_id, v_max),
      json_build_object('plan', v_account.plan_id, 'max_agents', v_max)::text);
  end if;
  insert into public.agents (owner_id, name) values (p_owner, trim(p_name)) returning * into v_agent;
  insert into public.whatsapp_sessions (agent_id, owner_id) values (v_agent.id, p_owner);
  return v_agent;
end;
$$;
comment on function gateway.create_agent(uuid, text) is 'Creates an agent and its session row, refusing with plan_limit beyond the plan''s agents.';

create function gateway.delete_agent(p_owner uuid, p_agent uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform gateway.owned_agent(p_owner, p_agent);
  -- Cascades to the session, creds, keys, messages and webhooks. The owning connector's next
  -- renewal reports the lease lost and it ends the socket.
  delete from public.agents where id = p_agent;
end;
$$;
comment on function gateway.delete_agent(uuid, uuid) is 'Deletes an agent with its session and every secret of it.';

create function gateway.request_link(p_owner uuid, p_agent uuid, p_method text, p_phone text default null)
returns public.whatsapp_sessions
language plpgsql
set search_path = ''
as $$
declare
  v_agent public.agents;
  v_session public.whatsapp_sessions;
begin
  v_agent := gateway.owned_agent(p_owner, p_agent);
  if p_method not in ('qr', 'pairing_code') or (p_method = 'pairing_code' and (p_phone is null or p_phone !~ '^[0-9]{6,15}$')) then
    perform gateway.fail('invalid_argument', 'method is qr, or pairing_code with a phone number in digits');
  end if;
  if v_agent.disabled_at is not null then
    perform gateway.fail('conflict', 'agent is disabled');
  end if;
  select * into v_session from public.whatsapp_sessions where agent_id = p_agent for update;
  if v_session.status = 'connected' then
    perform gateway.fail('conflict', 'session is already connected');
  end if;
  update public.whatsapp_sessions
  set desired_state = 'connected', link_method = p_method,
      link_phone = case when p_method = 'pairing_code' then p_phone end,
      link_requested_at = now(), pending_command = null, command_force = false
  where agent_id = p_agent
  returning * into v_session;
  return v_session;
end;
$$;
comment on function gateway.request_link(uuid, uuid, text, text) is 'The owner asks to link (or reconnect) a session by QR or pairing code; the connector picks it up.';

create function gateway.session_sending_status(p_owner uuid, p_agent uuid)
returns table (in_flight bigint, queued bigint, oldest_queued_at timestamptz)
language plpgsql
stable
set search_path = ''
as $$
begin
  perform gateway.owned_agent(p_owner, p_agent);
  return query
  select count(*) filter (where m.status = 'sending'), count(*) filter (where m.status = 'queued'),
         min(m.created_at) filter (where m.status = 'queued')
  from public.messages m where m.agent_id = p_agent and m.status in ('queued', 'sending');
end;
$$;
comment on function gateway.session_sending_status(uuid, uuid) is 'The seeds'' sending-status: sends in flight, queued, and the oldest queued.';

-- disconnect / logout / restart. Refused with conflict while sends are in flight unless forced.
create function gateway.request_session_command(p_owner uuid, p_agent uuid, p_command text, p_force boolean default false)
returns public.whatsapp_sessions
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
  v_in_flight bigint;
begin
  perform gateway.owned_agent(p_owner, p_agent);
  if p_command not in ('disconnect', 'logout', 'restart') then
    perform gateway.fail('invalid_argument', 'command is disconnect, logout or restart');
  end if;
  select * into v_session from public.whatsapp_sessions where agent_id = p_agent for update;
  select count(*) into v_in_flight from public.messages where agent_id = p_agent and status = 'sending';
  if v_in_flight > 0 and not coalesce(p_force, false) then
    perform gateway.fail('conflict', format('%s sends are in flight; retry later or force', v_in_flight),
      json_build_object('in_flight', v_in_flight)::text);
  end if;

  if p_command = 'restart' then
    if v_session.desired_state <> 'connected' then
      perform gateway.fail('conflict', 'session is not running');
    end if;
    update public.whatsapp_sessions set pending_command = 'restart', command_force = coalesce(p_force, false),
      command_requested_at = now() where agent_id = p_agent returning * into v_session;
  elsif p_command = 'disconnect' then
    update public.whatsapp_sessions set desired_state = 'disconnected', link_method = null, link_phone = null,
      command_force = coalesce(p_force, false), command_requested_at = now()
    where agent_id = p_agent returning * into v_session;
  else
    if v_session.owner_connector_id is not null and v_session.lease_until > now() then
      -- A connector holds the socket: it logs out on WhatsApp, wipes and reports logged_out.
      update public.whatsapp_sessions set pending_command = 'logout', command_force = coalesce(p_force, false),
        command_requested_at = now(), desired_state = 'connected'
      where agent_id = p_agent returning * into v_session;
    else
      -- Nobody holds it: wipe here; the number stays listed on the phone until removed there.
      delete from private.signal_keys where agent_id = p_agent;
      delete from private.session_credentials where agent_id = p_agent;
      update public.whatsapp_sessions set desired_state = 'disconnected', pending_command = null,
        status = 'logged_out', status_reason = 'logout requested', status_changed_at = now(),
        qr_code = null, pairing_code = null, phone_number = null, linked_jid = null,
        link_method = null, link_phone = null
      where agent_id = p_agent returning * into v_session;
      perform gateway.emit_event(v_session.owner_id, p_agent, 'session.status', 'info',
        jsonb_build_object('status', 'logged_out', 'previous_status', v_session.status, 'reason', 'logout requested'));
    end if;
  end if;
  return v_session;
end;
$$;
comment on function gateway.request_session_command(uuid, uuid, text, boolean) is 'Disconnect, logout or restart a session; refused while sends are in flight unless forced.';

create table private.api_keys (
  id uuid primary key default extensions.gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  agent_id uuid references public.agents (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 100),
  prefix text not null unique check (char_length(prefix) between 8 and 32),
  key_hash bytea not null check (length(key_hash) = 32),
  scopes text[] not null default '{*}',
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table private.api_keys is 'Gateway API keys: SHA-256 of the key (shown once), looked up by prefix, optionally scoped to one agent and to scopes.';
create index api_keys_owner_idx on private.api_keys (owner_id);
create index api_keys_agent_idx on private.api_keys (agent_id);

create table public.number_checks (
  id uuid primary key default extensions.gen_random_uuid(),
  agent_id uuid not null references public.agents (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  numbers text[] not null check (cardinality(numbers) between 1 and 50),
  status text not null default 'pending' check (status in ('pending', 'running', 'done', 'failed')),
  result jsonb,
  error text,
  locked_by uuid,
  locked_until timestamptz,
  created_at timestamptz not null default now(),
  completed_at timestamptz
);
comment on table public.number_checks is 'Bulk "is this number on WhatsApp" jobs: written by the control plane, answered by the connector that owns the session.';
create index number_checks_pending_idx on public.number_checks (created_at) where status in ('pending', 'running');
create index number_checks_agent_idx on public.number_checks (agent_id, created_at desc);
create index number_checks_owner_idx on public.number_checks (owner_id);
alter table public.number_checks enable row level security;
create policy "Users can read the number checks of their own agents"
  on public.number_checks for select to authenticated using (owner_id = (select auth.uid()));
