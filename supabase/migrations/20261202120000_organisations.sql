-- Teams and roles (issue 13, seed 004: Subscription -> User -> Instance -> ApiKey). A customer is an
-- organisation: it holds the plan (the subscription) and its members have roles. Every existing
-- account becomes an organisation whose id EQUALS the former user id, with that user as its one
-- owner, so every owner_id already stored stays valid and from now on means "the owning
-- organisation" (the columns keep their name; the next migrations move their foreign keys from
-- auth.users to public.organisations). New sign-ups get such a personal organisation too.
--
-- The role names and their order come from kernel/organisation-roles.ts (a test compares them with
-- private.organisation_roles()).

create function private.organisation_roles()
returns text[]
language sql
immutable
parallel safe
set search_path = ''
as $$ select array['owner', 'admin', 'developer', 'viewer']::text[] $$;
comment on function private.organisation_roles() is 'The organisation roles, most powerful first (kernel/organisation-roles.ts ORGANISATION_ROLES; a test compares the two).';

create function private.organisation_role_rank(p_role text)
returns integer
language sql
immutable
parallel safe
set search_path = ''
as $$ select array_position(private.organisation_roles(), p_role) $$;
comment on function private.organisation_role_rank(text) is 'Power of a role: 1 for owner, larger for less; null for a name that is not a role.';

create table public.organisations (
  id uuid primary key default gen_random_uuid(),
  name text not null check (char_length(name) between 1 and 100),
  plan_id text not null default 'basic' references public.plans (id),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.organisations is 'A customer (the subscription): holds the plan whose limits count across all its agents, keys and webhooks. A personal organisation has the id of the user it was made for. Every owner_id column in the schema names an organisation.';
create index organisations_plan_id_idx on public.organisations (plan_id);
create trigger organisations_touch_updated_at before update on public.organisations
  for each row execute function private.touch_updated_at();

create table public.organisation_members (
  organisation_id uuid not null references public.organisations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null check (private.organisation_role_rank(role) is not null),
  created_at timestamptz not null default now(),
  primary key (organisation_id, user_id)
);
comment on table public.organisation_members is 'Who belongs to an organisation and with which role (owner, admin, developer, viewer). An organisation always keeps at least one owner.';
create index organisation_members_user_idx on public.organisation_members (user_id);

create table public.organisation_invitations (
  id uuid primary key default gen_random_uuid(),
  organisation_id uuid not null references public.organisations (id) on delete cascade,
  email text not null check (email = lower(trim(email)) and char_length(email) between 3 and 320 and position('@' in email) > 1),
  role text not null check (private.organisation_role_rank(role) is not null),
  invited_by uuid references auth.users (id) on delete set null,
  token_hash bytea not null unique check (octet_length(token_hash) = 32),
  expires_at timestamptz not null,
  accepted_at timestamptz,
  accepted_by uuid references auth.users (id) on delete set null,
  revoked_at timestamptz,
  created_at timestamptz not null default now(),
  check (accepted_at is null or revoked_at is null)
);
comment on table public.organisation_invitations is 'Invitations to join an organisation, by email address (stored lower-case) and role. Only the SHA-256 of the invitation token is stored; the token is shown once, to the inviter.';
create index organisation_invitations_org_idx on public.organisation_invitations (organisation_id, created_at desc);
-- One open invitation per address and organisation: a new one replaces the old (gateway.create_invitation).
create unique index organisation_invitations_open_idx on public.organisation_invitations (organisation_id, email)
  where accepted_at is null and revoked_at is null;

-- At least one owner, always: checked at commit, so a transaction may hand ownership over in two
-- steps, and an organisation being deleted (members cascading) is not held to it.
create function private.organisation_keeps_an_owner()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_org uuid;
begin
  if tg_table_name = 'organisations' then
    v_org := new.id;
  else
    v_org := old.organisation_id;
  end if;
  if exists (select 1 from public.organisations o where o.id = v_org)
     and not exists (select 1 from public.organisation_members m where m.organisation_id = v_org and m.role = 'owner') then
    perform gateway.fail('conflict', 'an organisation keeps at least one owner');
  end if;
  return null;
end;
$$;
comment on function private.organisation_keeps_an_owner() is 'Constraint trigger (deferred to commit): an organisation that exists has at least one member with role owner.';
revoke execute on function private.organisation_keeps_an_owner() from public, anon, authenticated;

-- Every existing account becomes a one-member organisation with the same id; the user owns it.
insert into public.organisations (id, name, plan_id, created_at, updated_at)
select u.id, coalesce(nullif(u.email, ''), 'Personal'), coalesce(a.plan_id, 'basic'),
       coalesce(a.created_at, now()), coalesce(a.updated_at, now())
from auth.users u left join public.accounts a on a.user_id = u.id
on conflict (id) do nothing;
insert into public.organisation_members (organisation_id, user_id, role, created_at)
select o.id, o.id, 'owner', o.created_at
from public.organisations o join auth.users u on u.id = o.id
on conflict do nothing;

create constraint trigger organisation_members_keep_an_owner
  after update or delete on public.organisation_members
  deferrable initially deferred
  for each row execute function private.organisation_keeps_an_owner();
create constraint trigger organisations_start_with_an_owner
  after insert on public.organisations
  deferrable initially deferred
  for each row execute function private.organisation_keeps_an_owner();

-- public.accounts stays as a compatible view (one row per organisation: user_id is the
-- organisation's id) for code that still reads the plan through it (gateway.api_send). It runs
-- with the caller's rights, so the organisations' RLS decides what a signed-in user sees. New code
-- reads public.organisations.
drop function gateway.ensure_account(uuid);
drop table public.accounts;
create view public.accounts with (security_invoker = true) as
  select o.id as user_id, o.plan_id, o.created_at, o.updated_at from public.organisations o;
comment on view public.accounts is 'Deprecated: the plan of each organisation (user_id is the organisation id; for a personal organisation also its user''s id). Read public.organisations.';
revoke all on public.accounts from anon, authenticated;
grant select on public.accounts to authenticated, gateway_api;
grant all on public.accounts to service_role;

create function gateway.ensure_account(p_user_id uuid)
returns public.accounts
language plpgsql
set search_path = ''
as $$
declare
  v_account public.accounts;
begin
  select * into v_account from public.accounts where user_id = p_user_id;
  if v_account.user_id is null then
    -- A user from before the sign-up trigger: give them their personal organisation now.
    if exists (select 1 from auth.users u where u.id = p_user_id) then
      perform private.create_personal_organisation(p_user_id);
      select * into v_account from public.accounts where user_id = p_user_id;
    else
      perform gateway.fail('invalid_argument', 'unknown organisation');
    end if;
  end if;
  return v_account;
end;
$$;
comment on function gateway.ensure_account(uuid) is 'Returns the plan row of an organisation (public.accounts); a user without one gets their personal organisation first.';

create function private.create_personal_organisation(p_user uuid)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.organisations (id, name)
  select u.id, coalesce(nullif(u.email, ''), 'Personal') from auth.users u where u.id = p_user
  on conflict (id) do nothing;
  insert into public.organisation_members (organisation_id, user_id, role)
  select p_user, p_user, 'owner' where exists (select 1 from public.organisations o where o.id = p_user)
  on conflict do nothing;
end;
$$;
comment on function private.create_personal_organisation(uuid) is 'The organisation of one user, with the user''s id, on the basic plan, the user its owner. Does nothing when it exists.';
revoke execute on function private.create_personal_organisation(uuid) from public, anon, authenticated;

create or replace function private.create_account_for_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.create_personal_organisation(new.id);
  return new;
end;
$$;
comment on function private.create_account_for_new_user() is 'Trigger: every new auth user gets a personal organisation (id = the user''s id) on the basic plan and owns it.';

-- A deleted user takes their personal organisation and every organisation they were the only
-- member of with them (as an account's data went with its user before); where others remain and
-- they were the last owner, the longest-standing admin (else member) becomes owner.
create function private.hand_over_organisations_of_deleted_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  r record;
begin
  for r in select m.organisation_id from public.organisation_members m where m.user_id = old.id loop
    if not exists (select 1 from public.organisation_members m where m.organisation_id = r.organisation_id and m.user_id <> old.id) then
      delete from public.organisations o where o.id = r.organisation_id;
    elsif not exists (select 1 from public.organisation_members m
                      where m.organisation_id = r.organisation_id and m.user_id <> old.id and m.role = 'owner') then
      update public.organisation_members m set role = 'owner'
      where (m.organisation_id, m.user_id) = (
        select n.organisation_id, n.user_id from public.organisation_members n
        where n.organisation_id = r.organisation_id and n.user_id <> old.id
        order by private.organisation_role_rank(n.role), n.created_at, n.user_id limit 1);
    end if;
  end loop;
  delete from public.organisations o where o.id = old.id;
  return old;
end;
$$;
comment on function private.hand_over_organisations_of_deleted_user() is 'Trigger before a user is deleted: removes their personal organisation and those only they belonged to; elsewhere makes sure an owner remains.';
revoke execute on function private.hand_over_organisations_of_deleted_user() from public, anon, authenticated;

create trigger on_auth_user_deleted_hand_over_organisations
  before delete on auth.users
  for each row execute function private.hand_over_organisations_of_deleted_user();

-- Membership helpers for RLS: the signed-in user (auth.uid()) is a member / has at least a role.
-- SECURITY DEFINER so the policies of organisation_members do not recurse into themselves.
create function private.is_member(org uuid)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from public.organisation_members m where m.organisation_id = org and m.user_id = (select auth.uid()))
$$;
comment on function private.is_member(uuid) is 'RLS: the signed-in user belongs to this organisation (any role).';

create function private.has_role(org uuid, min_role text)
returns boolean
language sql
stable
security definer
set search_path = ''
as $$
  select exists (select 1 from public.organisation_members m
                 where m.organisation_id = org and m.user_id = (select auth.uid())
                   and private.organisation_role_rank(m.role) <= private.organisation_role_rank(min_role))
$$;
comment on function private.has_role(uuid, text) is 'RLS: the signed-in user belongs to this organisation with min_role or a more powerful one.';

-- Policies run as the caller: authenticated may look into private for these two functions only
-- (new functions there are executable by nobody until granted, see default_privileges.sql).
grant usage on schema private to authenticated;
revoke execute on function private.is_member(uuid), private.has_role(uuid, text) from public, anon;
grant execute on function private.is_member(uuid), private.has_role(uuid, text) to authenticated, service_role;
grant execute on function private.organisation_role_rank(text), private.organisation_roles() to authenticated, service_role;

-- Every row with an owner_id is readable by the members of that organisation, whatever their role.
drop policy "Users can read their own agents" on public.agents;
drop policy "Users can read the sessions of their own agents" on public.whatsapp_sessions;
drop policy "Users can read the events of their own agents" on public.events;
drop policy "Users can read their own webhook endpoints" on public.webhook_endpoints;
drop policy "Users can read the deliveries of their own webhooks" on public.webhook_deliveries;
drop policy "Users can read the messages of their own agents" on public.messages;
drop policy "Users can read the inbound messages of their own agents" on public.inbound_messages;
drop policy "Users can read the statistics of their own agents" on public.daily_stats;
drop policy "Users can read the number checks of their own agents" on public.number_checks;

create policy "Members read their organisation's agents"
  on public.agents for select to authenticated using (private.is_member(owner_id));
create policy "Members read the sessions of their organisation's agents"
  on public.whatsapp_sessions for select to authenticated using (private.is_member(owner_id));
create policy "Members read the events of their organisation's agents"
  on public.events for select to authenticated using (private.is_member(owner_id));
create policy "Members read their organisation's webhook endpoints"
  on public.webhook_endpoints for select to authenticated using (private.is_member(owner_id));
create policy "Members read the deliveries of their organisation's webhooks"
  on public.webhook_deliveries for select to authenticated using (private.is_member(owner_id));
create policy "Members read the messages of their organisation's agents"
  on public.messages for select to authenticated using (private.is_member(owner_id));
create policy "Members read inbound messages of their organisation's agents"
  on public.inbound_messages for select to authenticated using (private.is_member(owner_id));
create policy "Members read the statistics of their organisation's agents"
  on public.daily_stats for select to authenticated using (private.is_member(owner_id));
create policy "Members read the number checks of their organisation's agents"
  on public.number_checks for select to authenticated using (private.is_member(owner_id));

alter table public.organisations enable row level security;
alter table public.organisation_members enable row level security;
alter table public.organisation_invitations enable row level security;

create policy "Members read their organisations"
  on public.organisations for select to authenticated using (private.is_member(id));
create policy "Members read the members of their organisations"
  on public.organisation_members for select to authenticated using (private.is_member(organisation_id));
create policy "Admins read the invitations of their organisations"
  on public.organisation_invitations for select to authenticated using (private.has_role(organisation_id, 'admin'));

-- The Data API reads (no writes: every change goes through the API's functions); the token hash
-- of an invitation is not readable even by admins.
revoke all on public.organisations, public.organisation_members, public.organisation_invitations from anon, authenticated;
grant select on public.organisations, public.organisation_members to authenticated;
grant select (id, organisation_id, email, role, invited_by, expires_at, accepted_at, accepted_by, revoked_at, created_at)
  on public.organisation_invitations to authenticated;
grant all on public.organisations, public.organisation_members, public.organisation_invitations to service_role;
-- The edge function's reads, as for every public table (gateway_api_role.sql).
grant select on public.organisations, public.organisation_members, public.organisation_invitations to gateway_api;
create policy gateway_api_reads on public.organisations for select to gateway_api using (true);
create policy gateway_api_reads on public.organisation_members for select to gateway_api using (true);
create policy gateway_api_reads on public.organisation_invitations for select to gateway_api using (true);

-- Realtime: every member hears the broadcasts of the organisation's agents.
drop policy owners_hear_their_agents on realtime.messages;
create policy "Members hear their organisation's agents" on realtime.messages for select to authenticated using (
  extension = 'broadcast' and exists (
    select 1 from public.agents a
    where private.is_member(a.owner_id) and 'agent:' || a.id::text = (select realtime.topic())));

-- Alert mails to "the owners" (alert_email_settings.owners) go to the owners of the organisation.
create or replace function private.queue_alert_emails()
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
    select u.email from public.organisation_members m join auth.users u on u.id = m.user_id
    where v.owners and m.organisation_id = new.owner_id and m.role = 'owner' and coalesce(u.email, '') <> ''
  ) r
  on conflict (event_id, recipient) do nothing;
  return null;
end;
$$;
comment on function private.queue_alert_emails() is 'Trigger on public.events: queues one mail per configured recipient (and, when configured, per owner of the event''s organisation) for an alert type that is mailed (private.alert_email_settings), in the event''s transaction.';
