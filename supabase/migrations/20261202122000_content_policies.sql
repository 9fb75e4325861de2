-- What a tenant wants done with message content at rest (issue 13): `plain` (the default, and what
-- every tenant without a row gets), `encrypted` (bodies, captions and inbound content sealed with
-- the MESSAGE_CONTENT keyring by the edge function and the connector; SQL only sees an envelope
-- {"sealed": {"v": <key version>, "ct": <base64>}}), or `discard_after_delivery` (content removed
-- once a send is settled and once an inbound message's webhooks are). Keyed by owner_id, whatever
-- the owner turns out to be (a user today, an organisation later). A change applies to new content.

create table public.content_policies (
  owner_id uuid primary key references public.organisations (id) on delete cascade,
  policy text not null default 'plain' check (policy in ('plain', 'encrypted', 'discard_after_delivery')),
  -- Set whenever the policy becomes encrypted and never cleared: sealed rows outlive a switch back.
  encrypted_at timestamptz,
  updated_at timestamptz not null default now()
);
comment on table public.content_policies is 'Per tenant: how message content is kept at rest (plain, encrypted, discard_after_delivery); no row means plain. Changed through the API; applies to new content.';

alter table public.content_policies enable row level security;
create policy "Members can read their organisation's content policy" on public.content_policies
  for select to authenticated using ((select private.is_member(owner_id)));
revoke all on public.content_policies from public, anon, authenticated, gateway_api;
grant select on public.content_policies to authenticated;
grant all on public.content_policies to service_role;
create trigger content_policies_touch_updated_at before update on public.content_policies
  for each row execute function private.touch_updated_at();

create function private.content_policy_of(p_owner uuid)
returns text
language sql
stable
set search_path = ''
as $$
  select coalesce((select c.policy from public.content_policies c where c.owner_id = p_owner), 'plain');
$$;
comment on function private.content_policy_of(uuid) is 'The content policy of an owner: its row, or plain without one.';
revoke all on function private.content_policy_of(uuid) from public, anon, authenticated;

create function gateway.api_content_policy(p_owner uuid)
returns table (policy text, updated_at timestamptz)
language sql
stable
set search_path = ''
as $$
  select coalesce(c.policy, 'plain'), c.updated_at
  from (select p_owner as owner_id) o
  left join public.content_policies c on c.owner_id = o.owner_id;
$$;
comment on function gateway.api_content_policy(uuid) is 'Control plane: the owner''s content policy (plain with a null updated_at when never set).';

create function gateway.api_set_content_policy(p_owner uuid, p_policy text)
returns table (policy text, updated_at timestamptz)
language plpgsql
set search_path = ''
as $$
begin
  if p_policy is null or p_policy not in ('plain', 'encrypted', 'discard_after_delivery') then
    perform gateway.fail('invalid_argument', 'policy must be plain, encrypted or discard_after_delivery');
  end if;
  return query
  insert into public.content_policies as c (owner_id, policy, encrypted_at)
  values (p_owner, p_policy, case when p_policy = 'encrypted' then now() end)
  on conflict (owner_id) do update set policy = excluded.policy, encrypted_at = coalesce(excluded.encrypted_at, c.encrypted_at)
  returning c.policy, c.updated_at;
end;
$$;
comment on function gateway.api_set_content_policy(uuid, text) is 'Control plane: sets the owner''s content policy; new content follows it, stored content stays as it is.';

select private.expose_to_api(f::regprocedure) from unnest(array[
  'gateway.api_content_policy(uuid)',
  'gateway.api_set_content_policy(uuid, text)'
]) as f;

create function gateway.content_encryption_in_use()
returns boolean
language sql
stable
set search_path = ''
as $$
  select exists (select 1 from public.content_policies where encrypted_at is not null);
$$;
comment on function gateway.content_encryption_in_use() is 'Connector start: whether any tenant has ever chosen encrypted content, so sealed rows may exist (then MESSAGE_CONTENT_KEY is required).';
revoke all on function gateway.content_encryption_in_use() from public, anon, authenticated, gateway_api;
grant execute on function gateway.content_encryption_in_use() to service_role;

create function gateway.content_policy_of_agent(p_agent uuid)
returns text
language sql
stable
set search_path = ''
as $$
  select private.content_policy_of(a.owner_id) from public.agents a where a.id = p_agent;
$$;
comment on function gateway.content_policy_of_agent(uuid) is 'Connector: the content policy of an agent''s owner, read in the transaction that stores its inbound messages (encrypted: sealed before the insert).';
revoke all on function gateway.content_policy_of_agent(uuid) from public, anon, authenticated, gateway_api;
grant execute on function gateway.content_policy_of_agent(uuid) to service_role;

-- A policy change is a control-plane action: audited in its transaction.
create function private.audit_content_policy()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.record_audit('content_policy.changed', new.owner_id, null, new.owner_id,
    jsonb_build_object('policy', private.audit_change(case when tg_op = 'UPDATE' then old.policy else 'plain' end, new.policy)));
  return null;
end;
$$;
comment on function private.audit_content_policy() is 'Audit trigger of public.content_policies: the policy changed (from plain for a first row).';
revoke all on function private.audit_content_policy() from public, anon, authenticated;
create trigger audit_content_policy_insert after insert on public.content_policies for each row
  when (new.policy <> 'plain') execute function private.audit_content_policy();
create trigger audit_content_policy_update after update of policy on public.content_policies for each row
  when (new.policy is distinct from old.policy) execute function private.audit_content_policy();
