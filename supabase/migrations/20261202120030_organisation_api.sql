-- The API's functions for organisations, members and invitations. The edge function decides who
-- may call which (edge-functions/gateway/guards.ts, by role); these functions re-check the rules
-- that depend on the rows themselves (owners are managed by owners only, the last owner stays),
-- locking the organisation row so two concurrent changes cannot both remove the last owner.

create function gateway.member_role(p_org uuid, p_user uuid)
returns text
language sql
stable
set search_path = ''
as $$
  select m.role from public.organisation_members m where m.organisation_id = p_org and m.user_id = p_user
$$;
comment on function gateway.member_role(uuid, uuid) is 'The role of a user in an organisation, or null when they are not a member (authentication of every signed-in request).';

create function gateway.list_my_organisations(p_user uuid)
returns table (id uuid, name text, plan_id text, role text, created_at timestamptz)
language sql
stable
set search_path = ''
as $$
  select o.id, o.name, o.plan_id, m.role, o.created_at
  from public.organisation_members m join public.organisations o on o.id = m.organisation_id
  where m.user_id = p_user
  order by (o.id = p_user) desc, o.created_at, o.id
$$;
comment on function gateway.list_my_organisations(uuid) is 'The organisations a user belongs to with their role there, the personal one first.';

create function gateway.create_organisation(p_user uuid, p_name text, p_max_owned integer)
returns table (id uuid, name text, plan_id text, role text, created_at timestamptz)
language plpgsql
set search_path = ''
as $$
declare
  v_org public.organisations;
begin
  if p_name is null or char_length(trim(p_name)) not between 1 and 100 then
    perform gateway.fail('invalid_argument', 'name must be 1 to 100 characters');
  end if;
  -- Serialise one user's creations so two at once cannot both pass the limit.
  perform pg_advisory_xact_lock(hashtext('create_organisation'), hashtext(p_user::text));
  if (select count(*) from public.organisation_members m where m.user_id = p_user and m.role = 'owner') >= p_max_owned then
    perform gateway.fail('plan_limit', format('a user may own at most %s organisations', p_max_owned),
      json_build_object('max_owned_organisations', p_max_owned)::text);
  end if;
  insert into public.organisations (name) values (trim(p_name)) returning * into v_org;
  insert into public.organisation_members (organisation_id, user_id, role) values (v_org.id, p_user, 'owner');
  return query select v_org.id, v_org.name, v_org.plan_id, 'owner'::text, v_org.created_at;
end;
$$;
comment on function gateway.create_organisation(uuid, text, integer) is 'Creates an organisation on the basic plan with the user as its owner, refusing with plan_limit when the user already owns p_max_owned.';

create function gateway.rename_organisation(p_org uuid, p_name text)
returns setof public.organisations
language plpgsql
set search_path = ''
as $$
begin
  if p_name is null or char_length(trim(p_name)) not between 1 and 100 then
    perform gateway.fail('invalid_argument', 'name must be 1 to 100 characters');
  end if;
  return query update public.organisations o set name = trim(p_name) where o.id = p_org returning o.*;
  if not found then
    perform gateway.fail('not_found', 'no such organisation');
  end if;
end;
$$;
comment on function gateway.rename_organisation(uuid, text) is 'Renames an organisation.';

create function gateway.delete_organisation(p_org uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  if exists (select 1 from auth.users u where u.id = p_org) then
    perform gateway.fail('conflict', 'a personal organisation is deleted with its user, not on its own');
  end if;
  delete from public.organisations o where o.id = p_org;
  if not found then
    perform gateway.fail('not_found', 'no such organisation');
  end if;
end;
$$;
comment on function gateway.delete_organisation(uuid) is 'Deletes an organisation with its agents, sessions, messages, keys and webhooks (cascade); a personal organisation goes only with its user.';

create function gateway.list_members(p_org uuid)
returns table (user_id uuid, email text, role text, created_at timestamptz)
language sql
stable
set search_path = ''
as $$
  select m.user_id, u.email, m.role, m.created_at
  from public.organisation_members m join auth.users u on u.id = m.user_id
  where m.organisation_id = p_org
  order by private.organisation_role_rank(m.role), m.created_at, m.user_id
$$;
comment on function gateway.list_members(uuid) is 'The members of an organisation with their email address and role, most powerful first.';

-- The rules on owners, shared by role changes and removals: who acts (p_actor_role) may touch the
-- member at all, and the organisation keeps an owner. Locks the organisation row.
create function private.check_member_change(p_org uuid, p_actor_role text, p_user uuid, p_new_role text)
returns text
language plpgsql
set search_path = ''
as $$
declare
  v_current text;
begin
  perform 1 from public.organisations o where o.id = p_org for update;
  select m.role into v_current from public.organisation_members m where m.organisation_id = p_org and m.user_id = p_user;
  if v_current is null then
    perform gateway.fail('not_found', 'no such member');
  end if;
  if (v_current = 'owner' or p_new_role = 'owner') and p_actor_role is distinct from 'owner' then
    perform gateway.fail('conflict', 'only an owner may grant, change or remove the owner role');
  end if;
  if v_current = 'owner' and p_new_role is distinct from 'owner'
     and (select count(*) from public.organisation_members m where m.organisation_id = p_org and m.role = 'owner') = 1 then
    perform gateway.fail('conflict', 'the last owner cannot leave or give up the owner role; make another member owner first');
  end if;
  return v_current;
end;
$$;
comment on function private.check_member_change(uuid, text, uuid, text) is 'Refuses a change to a member (new role, or null for removal) that the actor''s role does not allow or that would leave the organisation without an owner; returns the member''s current role.';
revoke execute on function private.check_member_change(uuid, text, uuid, text) from public, anon, authenticated;

create function gateway.change_member_role(p_org uuid, p_actor_role text, p_user uuid, p_role text)
returns table (user_id uuid, email text, role text, created_at timestamptz)
language plpgsql
set search_path = ''
as $$
begin
  if private.organisation_role_rank(p_role) is null then
    perform gateway.fail('invalid_argument', 'unknown role');
  end if;
  perform private.check_member_change(p_org, p_actor_role, p_user, p_role);
  update public.organisation_members m set role = p_role where m.organisation_id = p_org and m.user_id = p_user;
  return query select l.* from gateway.list_members(p_org) l where l.user_id = p_user;
end;
$$;
comment on function gateway.change_member_role(uuid, text, uuid, text) is 'Gives a member another role; only an owner grants or takes the owner role, and the last owner keeps it.';

create function gateway.remove_member(p_org uuid, p_actor_role text, p_user uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  perform private.check_member_change(p_org, p_actor_role, p_user, null);
  delete from public.organisation_members m where m.organisation_id = p_org and m.user_id = p_user;
end;
$$;
comment on function gateway.remove_member(uuid, text, uuid) is 'Removes a member (or lets one leave); an owner is removed by an owner only, and never the last one.';

create function gateway.create_invitation(
  p_org uuid, p_actor uuid, p_actor_role text, p_email text, p_role text, p_token_hash bytea, p_ttl_seconds integer, p_max_open integer)
returns table (id uuid, email text, role text, expires_at timestamptz, created_at timestamptz)
language plpgsql
set search_path = ''
as $$
declare
  v_email text := lower(trim(p_email));
  v_row public.organisation_invitations;
begin
  if private.organisation_role_rank(p_role) is null then
    perform gateway.fail('invalid_argument', 'unknown role');
  end if;
  if p_role = 'owner' and p_actor_role is distinct from 'owner' then
    perform gateway.fail('conflict', 'only an owner may invite an owner');
  end if;
  perform 1 from public.organisations o where o.id = p_org for update;
  if not found then
    perform gateway.fail('not_found', 'no such organisation');
  end if;
  if exists (select 1 from public.organisation_members m join auth.users u on u.id = m.user_id
             where m.organisation_id = p_org and lower(u.email) = v_email) then
    perform gateway.fail('conflict', 'this address belongs to a member already');
  end if;
  -- A new invitation to the same address replaces the open one.
  update public.organisation_invitations i set revoked_at = now()
  where i.organisation_id = p_org and i.email = v_email and i.accepted_at is null and i.revoked_at is null;
  if (select count(*) from public.organisation_invitations i
      where i.organisation_id = p_org and i.accepted_at is null and i.revoked_at is null and i.expires_at > now()) >= p_max_open then
    perform gateway.fail('plan_limit', format('an organisation may have at most %s open invitations', p_max_open),
      json_build_object('max_open_invitations', p_max_open)::text);
  end if;
  insert into public.organisation_invitations (organisation_id, email, role, invited_by, token_hash, expires_at)
  values (p_org, v_email, p_role, p_actor, p_token_hash, now() + make_interval(secs => p_ttl_seconds))
  returning * into v_row;
  return query select v_row.id, v_row.email, v_row.role, v_row.expires_at, v_row.created_at;
end;
$$;
comment on function gateway.create_invitation(uuid, uuid, text, text, text, bytea, integer, integer) is 'Invites an email address to an organisation with a role (an owner only by an owner), replacing an open invitation to the same address; stores the token''s hash only.';

create function gateway.list_invitations(p_org uuid)
returns table (id uuid, email text, role text, invited_by uuid, expires_at timestamptz, accepted_at timestamptz, revoked_at timestamptz, created_at timestamptz)
language sql
stable
set search_path = ''
as $$
  select i.id, i.email, i.role, i.invited_by, i.expires_at, i.accepted_at, i.revoked_at, i.created_at
  from public.organisation_invitations i where i.organisation_id = p_org
  order by i.created_at desc, i.id desc limit 500
$$;
comment on function gateway.list_invitations(uuid) is 'The invitations of an organisation, newest first (never the token or its hash).';

create function gateway.revoke_invitation(p_org uuid, p_id uuid)
returns void
language plpgsql
set search_path = ''
as $$
begin
  update public.organisation_invitations i set revoked_at = coalesce(i.revoked_at, now())
  where i.id = p_id and i.organisation_id = p_org and i.accepted_at is null;
  if not found then
    if exists (select 1 from public.organisation_invitations i where i.id = p_id and i.organisation_id = p_org) then
      perform gateway.fail('conflict', 'this invitation was accepted already');
    end if;
    perform gateway.fail('not_found', 'no such invitation');
  end if;
end;
$$;
comment on function gateway.revoke_invitation(uuid, uuid) is 'Revokes an open invitation (idempotent); an accepted one is a conflict, a foreign or unknown one not_found.';

create function gateway.accept_invitation(p_user uuid, p_email text, p_token_hash bytea)
returns table (id uuid, name text, plan_id text, role text, created_at timestamptz)
language plpgsql
set search_path = ''
as $$
declare
  v_inv public.organisation_invitations;
  v_role text;
begin
  select * into v_inv from public.organisation_invitations i where i.token_hash = p_token_hash for update;
  -- Unknown, spent, expired, or addressed to someone else: all look the same to the caller.
  if v_inv.id is null or v_inv.accepted_at is not null or v_inv.revoked_at is not null or v_inv.expires_at <= now()
     or v_inv.email is distinct from lower(trim(p_email)) then
    perform gateway.fail('not_found', 'no such invitation for this user, or it has expired');
  end if;
  update public.organisation_invitations i set accepted_at = now(), accepted_by = p_user where i.id = v_inv.id;
  -- An existing member keeps the more powerful of the two roles.
  insert into public.organisation_members as m (organisation_id, user_id, role) values (v_inv.organisation_id, p_user, v_inv.role)
  on conflict on constraint organisation_members_pkey do update
    set role = case when private.organisation_role_rank(excluded.role) < private.organisation_role_rank(m.role) then excluded.role else m.role end
  returning m.role into v_role;
  return query select o.id, o.name, o.plan_id, v_role, o.created_at from public.organisations o where o.id = v_inv.organisation_id;
end;
$$;
comment on function gateway.accept_invitation(uuid, text, bytea) is 'A signed-in user whose verified email is the invited address joins the organisation with the invited role; unknown, spent, expired or someone else''s invitations are not_found.';

select private.expose_to_api(f::regprocedure) from unnest(array[
  'gateway.member_role(uuid, uuid)',
  'gateway.list_my_organisations(uuid)',
  'gateway.create_organisation(uuid, text, integer)',
  'gateway.rename_organisation(uuid, text)',
  'gateway.delete_organisation(uuid)',
  'gateway.list_members(uuid)',
  'gateway.change_member_role(uuid, text, uuid, text)',
  'gateway.remove_member(uuid, text, uuid)',
  'gateway.create_invitation(uuid, uuid, text, text, text, bytea, integer, integer)',
  'gateway.list_invitations(uuid)',
  'gateway.revoke_invitation(uuid, uuid)',
  'gateway.accept_invitation(uuid, text, bytea)'
]) as f;
