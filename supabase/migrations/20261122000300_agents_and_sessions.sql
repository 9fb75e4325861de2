-- Agents and their WhatsApp session: what the owner wants (desired state, link request,
-- commands), what the connector reports (status, QR, pairing code, phone) and who owns the
-- socket (the lease). The lease fields are the seeds' migration 008 done right: a lease with an
-- expiry and a fencing epoch instead of last-writer-wins instance columns.

create table public.agents (
  id uuid primary key default extensions.gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 100),
  disabled_at timestamptz,
  disabled_reason text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.agents is 'A tenant''s WhatsApp agent: one linked number, one session.';
create index agents_owner_id_idx on public.agents (owner_id);

create table public.whatsapp_sessions (
  agent_id uuid primary key references public.agents (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  -- what the owner wants
  desired_state text not null default 'disconnected' check (desired_state in ('connected', 'disconnected')),
  link_method text check (link_method in ('qr', 'pairing_code')),
  link_phone text,
  link_requested_at timestamptz,
  pending_command text check (pending_command in ('restart', 'logout')),
  command_force boolean not null default false,
  command_requested_at timestamptz,
  -- what the connector reports
  status text not null default 'disconnected' check (status in (
    'disconnected', 'connecting', 'qr', 'pairing_code', 'connected', 'reconnecting',
    'logged_out', 'conflict', 'qr_timeout', 'failed')),
  status_reason text,
  status_changed_at timestamptz not null default now(),
  qr_code text,
  qr_expires_at timestamptz,
  pairing_code text,
  phone_number text,
  linked_jid text,
  last_connected_at timestamptz,
  last_disconnected_at timestamptz,
  last_disconnect_code integer,
  last_disconnect_reason text,
  reconnect_attempts integer not null default 0,
  qr_attempts integer not null default 0,
  -- ownership: a lease with a fencing epoch
  owner_connector_id uuid,
  owner_hostname text,
  owner_pid integer,
  lease_until timestamptz,
  lease_epoch bigint not null default 0,
  last_heartbeat_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.whatsapp_sessions is 'One per agent: desired state and commands (written by the control plane), status, QR and pairing code (written by the owning connector, fenced by lease_epoch), and the lease itself.';
comment on column public.whatsapp_sessions.lease_epoch is 'Fencing token: incremented on every new claim; every connector write must carry the current value.';
create index whatsapp_sessions_owner_id_idx on public.whatsapp_sessions (owner_id);
create index whatsapp_sessions_claimable_idx on public.whatsapp_sessions (lease_until nulls first)
  where desired_state = 'connected';
create index whatsapp_sessions_owner_connector_idx on public.whatsapp_sessions (owner_connector_id)
  where owner_connector_id is not null;

alter table public.agents enable row level security;
alter table public.whatsapp_sessions enable row level security;

create policy "Users can read their own agents"
  on public.agents for select to authenticated using (owner_id = (select auth.uid()));
create policy "Users can read the sessions of their own agents"
  on public.whatsapp_sessions for select to authenticated using (owner_id = (select auth.uid()));

create function private.touch_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;
comment on function private.touch_updated_at() is 'Trigger: keeps updated_at current.';

create trigger agents_touch_updated_at before update on public.agents
  for each row execute function private.touch_updated_at();
create trigger whatsapp_sessions_touch_updated_at before update on public.whatsapp_sessions
  for each row execute function private.touch_updated_at();
create trigger accounts_touch_updated_at before update on public.accounts
  for each row execute function private.touch_updated_at();

-- Returns the agent if p_owner owns it; raises unknown_agent or not_owner otherwise.
create function gateway.owned_agent(p_owner uuid, p_agent uuid)
returns public.agents
language plpgsql
stable
set search_path = ''
as $$
declare
  v_agent public.agents;
begin
  if p_agent is null then
    perform gateway.fail('invalid_argument', 'agent id is required');
  end if;
  select * into v_agent from public.agents where id = p_agent;
  if v_agent.id is null then
    perform gateway.fail('unknown_agent', 'no agent with this id');
  end if;
  if p_owner is null or v_agent.owner_id <> p_owner then
    perform gateway.fail('not_owner', 'agent belongs to another user');
  end if;
  return v_agent;
end;
$$;
comment on function gateway.owned_agent(uuid, uuid) is 'Ownership check used by every control-plane function: the agent, or unknown_agent / not_owner.';
