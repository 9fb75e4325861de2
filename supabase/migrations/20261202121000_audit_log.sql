-- The audit log (issue 13): every control-plane action, once, in the transaction of the action,
-- with who, when, from where and what changed (never a secret).
--
-- Recording happens where every path passes: triggers on the tables the actions change (agents,
-- accounts' plan, API keys, webhook endpoints, webhook secret rotations) and the two functions
-- that record session commands (a link, logout or restart request is not recognisable from the
-- row alone: a logout nobody holds the socket for wipes the session instead of queueing a
-- command). The operator functions (ops.*) record themselves (next migration). So the API, the
-- Data API and the SQL editor are all caught, and a rolled-back action leaves no entry.
--
-- Who: the gateway names the actor in the statement of the action (gateway.as_actor sets the
-- transaction-local setting wa_gateway.actor); PostgREST's request.jwt.claims name a Data API
-- caller; otherwise it is an operator, recorded as the database role (session_user).
--
-- Append-only for everyone, the table's owner and superusers included: UPDATE, DELETE and
-- TRUNCATE raise in triggers that fire even under session_replication_role = replica. The one
-- way out is gateway.prune_audit_log (the retention), which logs itself.

create function private.audit_actions()
returns text[]
language sql
immutable
parallel safe
set search_path = ''
as $$
  select array[
    'agent.created', 'agent.renamed', 'agent.deleted',
    'session.link_requested', 'session.disconnect_requested', 'session.logout_requested', 'session.restart_requested',
    'api_key.created', 'api_key.revoked',
    'webhook.created', 'webhook.updated', 'webhook.secret_rotated', 'webhook.deleted',
    'plan.changed',
    'organisation.created', 'organisation.renamed', 'organisation.deleted',
    'member.added', 'member.role_changed', 'member.removed',
    'invitation.created', 'invitation.accepted', 'invitation.revoked',
    'data_subject.exported', 'data_subject.erased',
    'content_policy.changed',
    'audit_log.pruned',
    'ops.cancel_emergency_key_cleanup', 'ops.disable_agent', 'ops.emergency_key_cleanup', 'ops.enable_agent',
    'ops.force_release_session', 'ops.prune_signal_keys', 'ops.requeue_failed_messages', 'ops.restore_signal_keys'
  ]::text[]
$$;
comment on function private.audit_actions() is 'Every action the audit log records (kernel/audit-actions.ts AUDIT_ACTIONS; a test keeps them equal).';
revoke all on function private.audit_actions() from public, anon, authenticated;

create table public.audit_log (
  id uuid primary key default extensions.gen_random_uuid(),
  created_at timestamptz not null default now(),
  owner_id uuid,
  agent_id uuid,
  action text not null check (action = any (private.audit_actions())),
  target_id uuid,
  actor_type text not null check (actor_type in ('user', 'api_key', 'operator')),
  actor text not null check (char_length(actor) between 1 and 64),
  client_ip text check (char_length(client_ip) <= 64),
  user_agent text check (char_length(user_agent) <= 512),
  request_id text check (char_length(request_id) <= 64),
  changes jsonb not null default '{}'::jsonb check (jsonb_typeof(changes) = 'object')
);
comment on table public.audit_log is 'Control-plane actions (agents, session commands, API keys, webhooks, plans, operator functions): who, when, from where, what changed; never a secret. Append-only; rows leave only through gateway.prune_audit_log. No foreign keys, so an entry outlives what it names.';
comment on column public.audit_log.owner_id is 'The tenant the action concerns; null for fleet-level entries (the retention''s own entry).';
comment on column public.audit_log.target_id is 'The id of what was acted on when it is not the agent: API key, webhook endpoint, account (user), signal-key cleanup.';
comment on column public.audit_log.actor is 'user: the user id; api_key: the key''s prefix; operator: the database role (or the Data API''s JWT role).';
comment on column public.audit_log.client_ip is 'Client address of an HTTP request (the gateway''s or PostgREST''s), null from the SQL editor.';
comment on column public.audit_log.changes is 'What changed ({field: {from, to}} or the arguments); webhook URLs as origin only, since paths and queries often carry tokens.';

create index audit_log_owner_created on public.audit_log (owner_id, created_at desc, id desc);
create index audit_log_created on public.audit_log (created_at);

alter table public.audit_log enable row level security;
-- Read-only for every role but the owner (whose writes the triggers below limit to INSERT).
revoke all on public.audit_log from anon, authenticated, service_role, gateway_api;
grant select on public.audit_log to authenticated, service_role, gateway_api;
create policy "Owners and admins can read their organisation's audit log" on public.audit_log
  for select to authenticated using ((select private.has_role(owner_id, 'admin')));
create policy gateway_api_reads on public.audit_log for select to gateway_api using (true);

-- Who is acting ----------------------------------------------------------------------------------

create function gateway.as_actor(p_actor jsonb, p_owner uuid)
returns uuid
language plpgsql
set search_path = ''
as $$
begin
  if jsonb_typeof(p_actor) is distinct from 'object'
     or p_actor ->> 'type' is null or p_actor ->> 'type' not in ('user', 'api_key')
     or coalesce(char_length(p_actor ->> 'id'), 0) not between 1 and 64
     or char_length(p_actor ->> 'ip') > 64 or char_length(p_actor ->> 'request_id') > 64 then
    perform gateway.fail('invalid_argument', 'malformed actor');
  end if;
  perform pg_catalog.set_config('wa_gateway.actor', jsonb_build_object(
    'type', p_actor ->> 'type', 'id', p_actor ->> 'id', 'ip', p_actor ->> 'ip',
    'user_agent', left(p_actor ->> 'user_agent', 512), 'request_id', p_actor ->> 'request_id')::text, true);
  return p_owner;
end;
$$;
comment on function gateway.as_actor(jsonb, uuid) is 'Names who acts for the rest of the transaction (wa_gateway.actor: {type: user|api_key, id, ip, user_agent, request_id}) and returns p_owner, so one statement both names the actor and runs the action: gateway.create_agent(gateway.as_actor(actor, owner), name).';
select private.expose_to_api('gateway.as_actor(jsonb, uuid)');

-- The last entry of a forwarded-for list: the one the platform's proxy appends (the gateway's rule).
create function private.audit_actor()
returns jsonb
language plpgsql
stable
set search_path = ''
as $$
declare
  v_setting text := nullif(current_setting('wa_gateway.actor', true), '');
  v_claims jsonb := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
  v_headers jsonb := nullif(current_setting('request.headers', true), '')::jsonb;
  v_forwarded text;
begin
  if v_setting is not null then
    return v_setting::jsonb;
  end if;
  if v_claims is not null then
    v_forwarded := coalesce(nullif(trim(split_part(v_headers ->> 'x-forwarded-for', ',', -1)), ''), v_headers ->> 'x-real-ip');
    return jsonb_build_object(
      'type', case when v_claims ->> 'role' = 'authenticated' and v_claims ->> 'sub' is not null then 'user' else 'operator' end,
      'id', left(case when v_claims ->> 'role' = 'authenticated' and v_claims ->> 'sub' is not null then v_claims ->> 'sub'
                      else coalesce(v_claims ->> 'role', session_user::text) end, 64),
      'ip', left(v_forwarded, 64), 'user_agent', left(v_headers ->> 'user-agent', 512), 'request_id', null);
  end if;
  return jsonb_build_object('type', 'operator', 'id', session_user::text);
end;
$$;
comment on function private.audit_actor() is 'Who acts in this transaction: the gateway''s wa_gateway.actor, else the Data API''s JWT (a user, or its role as operator) with PostgREST''s request headers, else the database role (operator).';
revoke all on function private.audit_actor() from public, anon, authenticated;

create function private.record_audit(p_action text, p_owner uuid, p_agent uuid, p_target uuid, p_changes jsonb)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_actor jsonb := private.audit_actor();
begin
  insert into public.audit_log (owner_id, agent_id, action, target_id, actor_type, actor, client_ip, user_agent, request_id, changes)
  values (p_owner, p_agent, p_action, p_target, v_actor ->> 'type', v_actor ->> 'id', v_actor ->> 'ip',
    v_actor ->> 'user_agent', v_actor ->> 'request_id', coalesce(jsonb_strip_nulls(p_changes), '{}'::jsonb));
end;
$$;
comment on function private.record_audit(text, uuid, uuid, uuid, jsonb) is 'Writes one audit entry in the caller''s transaction, with the actor of private.audit_actor(). Callers pass only what is not secret.';
revoke all on function private.record_audit(text, uuid, uuid, uuid, jsonb) from public, anon, authenticated;

-- scheme://host[:port] of a webhook URL: paths and queries often carry a token, userinfo a password.
create function private.url_origin(p_url text)
returns text
language sql
immutable
set search_path = ''
as $$
  select regexp_replace(substring(p_url from '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*'), '://[^@/?#]*@', '://')
$$;
comment on function private.url_origin(text) is 'The origin of a URL (scheme, host, port) without userinfo, path or query: what the audit log keeps of a webhook URL.';
revoke all on function private.url_origin(text) from public, anon, authenticated;

-- A {from, to} pair, or null when equal (jsonb_strip_nulls then drops the field).
create function private.audit_change(p_from anyelement, p_to anyelement)
returns jsonb
language sql
immutable
set search_path = ''
as $$
  select case when p_from is distinct from p_to then jsonb_build_object('from', to_jsonb(p_from), 'to', to_jsonb(p_to)) end
$$;
comment on function private.audit_change(anyelement, anyelement) is 'An audit change {from, to}, or null when the value did not change.';
revoke all on function private.audit_change(anyelement, anyelement) from public, anon, authenticated;

-- Tables' triggers ---------------------------------------------------------------------------------

create function private.audit_agents()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.record_audit('agent.created', new.owner_id, new.id, null, jsonb_build_object('name', new.name));
  elsif tg_op = 'UPDATE' then
    perform private.record_audit('agent.renamed', new.owner_id, new.id, null, jsonb_build_object('name', private.audit_change(old.name, new.name)));
  else
    perform private.record_audit('agent.deleted', old.owner_id, old.id, null, jsonb_build_object('name', old.name));
  end if;
  return null;
end;
$$;
comment on function private.audit_agents() is 'Audit trigger of public.agents: created, renamed, deleted.';
revoke all on function private.audit_agents() from public, anon, authenticated;

create trigger audit_agents_insert after insert on public.agents for each row execute function private.audit_agents();
create trigger audit_agents_rename after update of name on public.agents for each row
  when (new.name is distinct from old.name) execute function private.audit_agents();
create trigger audit_agents_delete after delete on public.agents for each row execute function private.audit_agents();

create function private.audit_plan_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.record_audit('plan.changed', new.id, null, new.id, jsonb_build_object('plan', private.audit_change(old.plan_id, new.plan_id)));
  return null;
end;
$$;
comment on function private.audit_plan_change() is 'Audit trigger of public.organisations: a plan change.';
revoke all on function private.audit_plan_change() from public, anon, authenticated;

create trigger audit_plan_change after update of plan_id on public.organisations for each row
  when (new.plan_id is distinct from old.plan_id) execute function private.audit_plan_change();

-- Organisations, members and invitations. A deleted organisation's members and invitations go
-- with it: that is the organisation's deletion, which has its own entry.
create function private.audit_organisations()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.record_audit('organisation.created', new.id, null, new.id, jsonb_build_object('name', new.name, 'plan', new.plan_id));
  elsif tg_op = 'UPDATE' then
    perform private.record_audit('organisation.renamed', new.id, null, new.id, jsonb_build_object('name', private.audit_change(old.name, new.name)));
  else
    perform private.record_audit('organisation.deleted', old.id, null, old.id, jsonb_build_object('name', old.name));
  end if;
  return null;
end;
$$;
comment on function private.audit_organisations() is 'Audit trigger of public.organisations: created, renamed, deleted.';
revoke all on function private.audit_organisations() from public, anon, authenticated;

create trigger audit_organisations_insert after insert on public.organisations for each row execute function private.audit_organisations();
create trigger audit_organisations_rename after update of name on public.organisations for each row
  when (new.name is distinct from old.name) execute function private.audit_organisations();
create trigger audit_organisations_delete after delete on public.organisations for each row execute function private.audit_organisations();

create function private.audit_organisation_members()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.record_audit('member.added', new.organisation_id, null, new.user_id, jsonb_build_object('user_id', new.user_id, 'role', new.role));
  elsif tg_op = 'UPDATE' then
    perform private.record_audit('member.role_changed', new.organisation_id, null, new.user_id,
      jsonb_build_object('user_id', new.user_id, 'role', private.audit_change(old.role, new.role)));
  elsif exists (select 1 from public.organisations o where o.id = old.organisation_id) then
    perform private.record_audit('member.removed', old.organisation_id, null, old.user_id, jsonb_build_object('user_id', old.user_id, 'role', old.role));
  end if;
  return null;
end;
$$;
comment on function private.audit_organisation_members() is 'Audit trigger of public.organisation_members: added, role changed, removed (not with its organisation).';
revoke all on function private.audit_organisation_members() from public, anon, authenticated;

create trigger audit_organisation_members_insert after insert on public.organisation_members for each row execute function private.audit_organisation_members();
create trigger audit_organisation_members_role after update of role on public.organisation_members for each row
  when (new.role is distinct from old.role) execute function private.audit_organisation_members();
create trigger audit_organisation_members_delete after delete on public.organisation_members for each row execute function private.audit_organisation_members();

-- Never the token's hash: the address, the role, the expiry.
create function private.audit_organisation_invitations()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.record_audit('invitation.created', new.organisation_id, null, new.id,
      jsonb_build_object('email', new.email, 'role', new.role, 'expires_at', new.expires_at));
  elsif new.accepted_at is not null and old.accepted_at is null then
    perform private.record_audit('invitation.accepted', new.organisation_id, null, new.id,
      jsonb_build_object('email', new.email, 'role', new.role, 'user_id', new.accepted_by));
  elsif new.revoked_at is not null and old.revoked_at is null then
    perform private.record_audit('invitation.revoked', new.organisation_id, null, new.id, jsonb_build_object('email', new.email, 'role', new.role));
  end if;
  return null;
end;
$$;
comment on function private.audit_organisation_invitations() is 'Audit trigger of public.organisation_invitations: created, accepted, revoked (never the token hash).';
revoke all on function private.audit_organisation_invitations() from public, anon, authenticated;

create trigger audit_organisation_invitations_insert after insert on public.organisation_invitations for each row execute function private.audit_organisation_invitations();
create trigger audit_organisation_invitations_outcome after update of accepted_at, revoked_at on public.organisation_invitations for each row
  execute function private.audit_organisation_invitations();

-- Never the hash: name, prefix (shown in listings), agent, scopes, expiry.
create function private.audit_api_keys()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.record_audit('api_key.created', new.owner_id, new.agent_id, new.id, jsonb_build_object(
      'name', new.name, 'prefix', new.prefix, 'agent_id', new.agent_id, 'scopes', to_jsonb(new.scopes), 'expires_at', new.expires_at));
  else
    perform private.record_audit('api_key.revoked', new.owner_id, new.agent_id, new.id, jsonb_build_object('name', new.name, 'prefix', new.prefix));
  end if;
  return null;
end;
$$;
comment on function private.audit_api_keys() is 'Audit trigger of private.api_keys: created, revoked (the first revocation only). Never the key hash.';
revoke all on function private.audit_api_keys() from public, anon, authenticated;

create trigger audit_api_keys_insert after insert on private.api_keys for each row execute function private.audit_api_keys();
create trigger audit_api_keys_revoke after update of revoked_at on private.api_keys for each row
  when (old.revoked_at is null and new.revoked_at is not null) execute function private.audit_api_keys();

create function private.audit_webhook_endpoints()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    perform private.record_audit('webhook.created', new.owner_id, new.agent_id, new.id, jsonb_build_object(
      'url_origin', private.url_origin(new.url), 'agent_id', new.agent_id, 'event_types', to_jsonb(new.event_types),
      'description', new.description, 'enabled', new.enabled));
  elsif tg_op = 'UPDATE' then
    perform private.record_audit('webhook.updated', new.owner_id, new.agent_id, new.id, jsonb_build_object(
      'url_origin', private.audit_change(private.url_origin(old.url), private.url_origin(new.url)),
      'url_changed', case when new.url is distinct from old.url then true end,
      'agent_id', private.audit_change(old.agent_id, new.agent_id),
      'event_types', private.audit_change(old.event_types, new.event_types),
      'description', private.audit_change(old.description, new.description),
      'enabled', private.audit_change(old.enabled, new.enabled)));
  -- An agent's webhooks go with it: that is the agent's deletion, which has its own entry (the
  -- cascade's triggers fire after the agent row is gone, at the same trigger depth as a direct delete).
  elsif old.agent_id is null or exists (select 1 from public.agents a where a.id = old.agent_id) then
    perform private.record_audit('webhook.deleted', old.owner_id, old.agent_id, old.id, jsonb_build_object('url_origin', private.url_origin(old.url)));
  end if;
  return null;
end;
$$;
comment on function private.audit_webhook_endpoints() is 'Audit trigger of public.webhook_endpoints: created, updated (the fields that changed), deleted (not with its agent). URLs as origin only.';
revoke all on function private.audit_webhook_endpoints() from public, anon, authenticated;

create trigger audit_webhook_endpoints_insert after insert on public.webhook_endpoints for each row execute function private.audit_webhook_endpoints();
create trigger audit_webhook_endpoints_update after update of url, agent_id, event_types, description, enabled on public.webhook_endpoints for each row
  when (new.url is distinct from old.url or new.agent_id is distinct from old.agent_id or new.event_types is distinct from old.event_types
        or new.description is distinct from old.description or new.enabled is distinct from old.enabled)
  execute function private.audit_webhook_endpoints();
create trigger audit_webhook_endpoints_delete after delete on public.webhook_endpoints for each row execute function private.audit_webhook_endpoints();

-- A rotation sets rotated_at (an endpoint's first secret does not; npm run keys:rotate re-encrypts
-- without touching it). Never a ciphertext.
create function private.audit_webhook_secret_rotation()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_endpoint public.webhook_endpoints;
begin
  select * into v_endpoint from public.webhook_endpoints w where w.id = new.endpoint_id;
  perform private.record_audit('webhook.secret_rotated', v_endpoint.owner_id, v_endpoint.agent_id, new.endpoint_id,
    jsonb_build_object('previous_secret_expires_at', new.previous_expires_at));
  return null;
end;
$$;
comment on function private.audit_webhook_secret_rotation() is 'Audit trigger of private.webhook_secrets: a rotation (rotated_at set), with when the old secret stops signing. Never a ciphertext.';
revoke all on function private.audit_webhook_secret_rotation() from public, anon, authenticated;

create trigger audit_webhook_secret_rotation after update of rotated_at on private.webhook_secrets for each row
  when (new.rotated_at is distinct from old.rotated_at and new.rotated_at is not null) execute function private.audit_webhook_secret_rotation();
create trigger audit_webhook_secret_first_rotation after insert on private.webhook_secrets for each row
  when (new.rotated_at is not null) execute function private.audit_webhook_secret_rotation();

-- Session commands: the functions every path calls, as before plus the entry. ---------------------

create or replace function gateway.request_link(p_owner uuid, p_agent uuid, p_method text, p_phone text default null)
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
  -- The method only: a full phone number never leaves (invariant 4).
  perform private.record_audit('session.link_requested', v_session.owner_id, p_agent, null, jsonb_build_object('method', p_method));
  return v_session;
end;
$$;
comment on function gateway.request_link(uuid, uuid, text, text) is 'The owner asks to link (or reconnect) a session by QR or pairing code; the connector picks it up. Audited (session.link_requested, the method only).';

create or replace function gateway.request_session_command(p_owner uuid, p_agent uuid, p_command text, p_force boolean default false)
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
  perform private.record_audit('session.' || p_command || '_requested', v_session.owner_id, p_agent, null,
    jsonb_build_object('force', coalesce(p_force, false)));
  return v_session;
end;
$$;
comment on function gateway.request_session_command(uuid, uuid, text, boolean) is 'Disconnect, logout or restart a session; refused while sends are in flight unless forced. Audited (session.<command>_requested).';

-- Append-only ----------------------------------------------------------------------------------------

create function private.audit_log_is_append_only()
returns trigger
language plpgsql
set search_path = ''
as $$
declare
  v_stack text;
  v_before timestamptz := nullif(current_setting('wa_gateway.audit_prune_before', true), '')::timestamptz;
begin
  if tg_op = 'DELETE' then
    -- The retention's own DELETE, and only rows older than the cutoff it set: the call stack
    -- says who runs the statement (a SQL-editor DELETE has no PL/pgSQL frame of this function).
    get diagnostics v_stack = pg_context;
    if v_stack ~ '(^|\n)PL/pgSQL function gateway\.prune_audit_log\(integer\) line [0-9]+ at SQL statement($|\n)'
       and v_before is not null and old.created_at < v_before then
      return old;
    end if;
  end if;
  raise exception 'the audit log is append-only: % is refused (rows leave only through gateway.prune_audit_log)', tg_op
    using errcode = 'insufficient_privilege';
end;
$$;
comment on function private.audit_log_is_append_only() is 'Refuses UPDATE, DELETE and TRUNCATE on public.audit_log for everyone, except the DELETE of gateway.prune_audit_log (rows older than its cutoff).';
revoke all on function private.audit_log_is_append_only() from public, anon, authenticated;

create trigger audit_log_no_update before update on public.audit_log for each row execute function private.audit_log_is_append_only();
create trigger audit_log_no_delete before delete on public.audit_log for each row execute function private.audit_log_is_append_only();
create trigger audit_log_no_truncate before truncate on public.audit_log for each statement execute function private.audit_log_is_append_only();
-- ALWAYS: they fire under session_replication_role = replica too, which silences ordinary triggers.
alter table public.audit_log enable always trigger audit_log_no_update;
alter table public.audit_log enable always trigger audit_log_no_delete;
alter table public.audit_log enable always trigger audit_log_no_truncate;

-- Retention ------------------------------------------------------------------------------------------

create function gateway.prune_audit_log(p_days integer)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_before timestamptz;
  v_deleted integer;
begin
  if p_days is null or p_days < 1 then
    perform gateway.fail('invalid_argument', 'the audit log keeps at least one day');
  end if;
  v_before := now() - make_interval(days => p_days);
  perform pg_catalog.set_config('wa_gateway.audit_prune_before', v_before::text, true);
  delete from public.audit_log where created_at < v_before;
  get diagnostics v_deleted = row_count;
  perform pg_catalog.set_config('wa_gateway.audit_prune_before', '', true);
  if v_deleted > 0 then
    perform private.record_audit('audit_log.pruned', null, null, null,
      jsonb_build_object('retention_days', p_days, 'before', v_before, 'deleted', v_deleted));
  end if;
  return v_deleted;
end;
$$;
comment on function gateway.prune_audit_log(integer) is 'The retention of the audit log and the only way rows leave it: deletes entries older than p_days (at least 1) and records that it did (audit_log.pruned, a fleet-level entry). Run daily by the connector''s retention job (RETENTION_AUDIT_LOG_DAYS).';
revoke all on function gateway.prune_audit_log(integer) from public, anon, authenticated;
grant execute on function gateway.prune_audit_log(integer) to service_role;

-- Reading --------------------------------------------------------------------------------------------

create function gateway.list_audit_log(
  p_owner uuid, p_limit integer default 50, p_before_created_at timestamptz default null, p_before_id uuid default null,
  p_actions text[] default null, p_agent uuid default null, p_actor_type text default null,
  p_since timestamptz default null, p_until timestamptz default null)
returns setof public.audit_log
language plpgsql
stable
set search_path = ''
as $$
begin
  if p_limit is null or p_limit not between 1 and 200 then
    perform gateway.fail('invalid_argument', 'limit must be 1 to 200');
  end if;
  -- An agent of someone else is a 404, as everywhere; a deleted agent of the owner still has its entries.
  if p_agent is not null
     and not exists (select 1 from public.agents a where a.id = p_agent and a.owner_id = p_owner)
     and not exists (select 1 from public.audit_log l where l.owner_id = p_owner and l.agent_id = p_agent) then
    perform gateway.fail('not_found', 'no such agent');
  end if;
  return query
  select l.* from public.audit_log l
  where l.owner_id = p_owner
    and (p_actions is null or l.action = any (p_actions))
    and (p_agent is null or l.agent_id = p_agent)
    and (p_actor_type is null or l.actor_type = p_actor_type)
    and (p_since is null or l.created_at >= p_since)
    and (p_until is null or l.created_at < p_until)
    and (p_before_created_at is null or (l.created_at, l.id) < (p_before_created_at, p_before_id))
  order by l.created_at desc, l.id desc
  limit p_limit;
end;
$$;
comment on function gateway.list_audit_log(uuid, integer, timestamptz, uuid, text[], uuid, text, timestamptz, timestamptz) is 'Control plane: an owner''s audit entries, newest first, filtered (actions, agent, actor type, [since, until)) and paged by (created_at, id) of the last row seen.';
select private.expose_to_api('gateway.list_audit_log(uuid, integer, timestamptz, uuid, text[], uuid, text, timestamptz, timestamptz)');
