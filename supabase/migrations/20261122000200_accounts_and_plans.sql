-- Plans and accounts: every auth user has an account on a plan that caps agents and sends.

create table public.plans (
  id text primary key,
  name text not null,
  max_agents integer not null check (max_agents >= 0),
  messages_per_minute integer not null check (messages_per_minute > 0),
  created_at timestamptz not null default now()
);
comment on table public.plans is 'Subscription tiers: how many agents a user may have and how many messages per minute each agent may send.';

insert into public.plans (id, name, max_agents, messages_per_minute) values
  ('basic', 'Basic', 5, 30),
  ('pro', 'Pro', 20, 60),
  ('max', 'Max', 40, 120);

create table public.accounts (
  user_id uuid primary key references auth.users (id) on delete cascade,
  plan_id text not null default 'basic' references public.plans (id),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.accounts is 'One row per auth user: the plan that user is on.';
create index accounts_plan_id_idx on public.accounts (plan_id);

alter table public.plans enable row level security;
alter table public.accounts enable row level security;

create policy "Signed-in users can read the plans"
  on public.plans for select to authenticated using (true);
create policy "Users can read their own account"
  on public.accounts for select to authenticated using (user_id = (select auth.uid()));

create function gateway.ensure_account(p_user_id uuid)
returns public.accounts
language plpgsql
set search_path = ''
as $$
declare
  v_account public.accounts;
begin
  insert into public.accounts (user_id) values (p_user_id)
  on conflict (user_id) do nothing;
  select * into v_account from public.accounts where user_id = p_user_id;
  if v_account.user_id is null then
    perform gateway.fail('invalid_argument', 'unknown user');
  end if;
  return v_account;
end;
$$;
comment on function gateway.ensure_account(uuid) is 'Returns the account of a user, creating it on the basic plan the first time.';

create function private.create_account_for_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.accounts (user_id) values (new.id) on conflict (user_id) do nothing;
  return new;
end;
$$;
comment on function private.create_account_for_new_user() is 'Trigger: every new auth user gets an account on the basic plan.';
revoke execute on function private.create_account_for_new_user() from public, anon, authenticated;

create trigger on_auth_user_created_create_account
  after insert on auth.users
  for each row execute function private.create_account_for_new_user();
