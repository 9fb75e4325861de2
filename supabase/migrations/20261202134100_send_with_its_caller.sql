-- The API's send in one round trip (issue 12 item 7). An API send made three: the API key's row
-- (gateway.api_key_for_prefix) or the member's role (gateway.member_role), then the tenant's
-- content policy (gateway.api_content_policy, which decides whether the edge seals the content),
-- then gateway.api_send. These two functions do all three in one statement, for the caller the
-- edge function has already read from the request but not yet checked against the database:
--
--   gateway.api_send_with_key   an API key (prefix and SHA-256 of the whole key)
--   gateway.api_send_as_member  a signed-in user, whose JWT the edge function has verified
--
-- outcome says what happened:
--   'sent'     the send was accepted (or replayed): owner_id and the columns of api_send;
--   'refused'  the caller may not send here (no such key, wrong hash, revoked, expired, another
--              organisation, no messages:send scope, bound to another agent; not a member, a role
--              below developer). Nothing is written but the key's last use. The edge function then
--              serves the request the regular way, which answers with the reason (401, 403, 404)
--              and takes the failed-authentication token, exactly as before;
--   'seal'     the caller may send, but the organisation keeps content encrypted and the content
--              is not sealed: nothing is written; the edge function seals it for a new id and calls
--              gateway.api_send (two round trips for encrypted tenants, against three before);
--   'plain'    only when p_content is null (asking for the policy alone, see below): the caller
--              may send and content is not sealed for this organisation.
-- An edge function that has seen 'seal' for a caller asks with p_content null first, so the
-- plaintext of an encrypted tenant reaches the database at most once per edge instance after the
-- switch (refused, never stored, as in the race between a policy read and api_send before).
--
-- The key's hash is compared here, in SQL, not in the edge function: an equality on the SHA-256
-- of the key leaks nothing an attacker can steer (they cannot choose a hash's leading bytes).
-- last_used_at is touched as api_key_for_prefix does (a usable key with the right hash, once a
-- minute), skipped while another send holds the row. The sends themselves are gateway.enqueue_message(..., p_count_api_call => true), as
-- gateway.api_send: same checks, errors, idempotency, plan bucket and statistics.

create function gateway.api_send_with_key(
  p_prefix text, p_key_hash bytea, p_organisation uuid,
  p_agent uuid, p_recipient text, p_type text, p_content jsonb,
  p_idempotency_key text default null, p_request_hash text default null
)
returns table (
  outcome text, owner_id uuid, id uuid, wa_message_id text, status text, created_at timestamptz, replayed boolean,
  rate_limit integer, rate_remaining integer, rate_reset_seconds integer
)
language plpgsql
set search_path = ''
as $$
declare
  v_key record;
  v_sent record;
begin
  select k.id, k.owner_id, k.agent_id, k.scopes, k.key_hash, k.revoked_at, k.expires_at, k.last_used_at,
         coalesce(cp.policy, 'plain') as policy
    into v_key
  from private.api_keys k left join public.content_policies cp on cp.owner_id = k.owner_id
  where k.prefix = p_prefix;
  if not found or v_key.key_hash is distinct from p_key_hash
     or v_key.revoked_at is not null or (v_key.expires_at is not null and v_key.expires_at <= now()) then
    outcome := 'refused';
    return next;
    return;
  end if;
  -- The key's row stays locked until this send commits: concurrent sends with the key skip the
  -- touch instead of queueing behind each other's whole send (api_key_for_prefix's was a
  -- transaction of its own).
  if v_key.last_used_at is null or v_key.last_used_at < now() - interval '1 minute' then
    update private.api_keys k set last_used_at = now()
    where k.id = (select l.id from private.api_keys l where l.id = v_key.id for update skip locked);
  end if;
  if (p_organisation is not null and p_organisation <> v_key.owner_id)
     or not (v_key.scopes && array['*', 'messages:send']::text[])
     or (v_key.agent_id is not null and v_key.agent_id is distinct from p_agent) then
    outcome := 'refused';
    return next;
    return;
  end if;
  owner_id := v_key.owner_id;
  if p_content is null or (v_key.policy = 'encrypted' and not p_content ? 'sealed') then
    outcome := case when v_key.policy = 'encrypted' then 'seal' else 'plain' end;
    return next;
    return;
  end if;
  select * into v_sent from gateway.enqueue_message(v_key.owner_id, p_agent, p_recipient, p_type, p_content,
    p_idempotency_key, p_request_hash, null, true);
  outcome := 'sent'; id := v_sent.id; wa_message_id := v_sent.wa_message_id; status := v_sent.status;
  created_at := v_sent.created_at; replayed := v_sent.replayed; rate_limit := v_sent.rate_limit;
  rate_remaining := v_sent.rate_remaining; rate_reset_seconds := v_sent.rate_reset_seconds;
  return next;
end;
$$;
comment on function gateway.api_send_with_key(text, bytea, uuid, uuid, text, text, jsonb, text, text) is 'Control plane: an API key''s send in one statement: the key (prefix, SHA-256, usable, organisation p_organisation if given, messages:send scope, its agent) checked, then gateway.api_send''s send for its organisation. outcome: sent; refused (nothing written but last_used_at: authenticate the regular way for the reason); seal (encrypted organisation, content not sealed: nothing written); plain (p_content null asks for the policy only).';
select private.expose_to_api('gateway.api_send_with_key(text, bytea, uuid, uuid, text, text, jsonb, text, text)'::regprocedure);

create function gateway.api_send_as_member(
  p_user uuid, p_organisation uuid,
  p_agent uuid, p_recipient text, p_type text, p_content jsonb,
  p_idempotency_key text default null, p_request_hash text default null
)
returns table (
  outcome text, owner_id uuid, id uuid, wa_message_id text, status text, created_at timestamptz, replayed boolean,
  rate_limit integer, rate_remaining integer, rate_reset_seconds integer
)
language plpgsql
set search_path = ''
as $$
declare
  v_role text;
  v_policy text;
  v_sent record;
begin
  -- Sending is a developer's (edge-functions/gateway/guards.ts SCOPE_ROLES['messages:send']).
  select m.role, coalesce(cp.policy, 'plain') into v_role, v_policy
  from public.organisation_members m left join public.content_policies cp on cp.owner_id = m.organisation_id
  where m.organisation_id = p_organisation and m.user_id = p_user;
  if v_role is null or private.organisation_role_rank(v_role) > private.organisation_role_rank('developer') then
    outcome := 'refused';
    return next;
    return;
  end if;
  owner_id := p_organisation;
  if p_content is null or (v_policy = 'encrypted' and not p_content ? 'sealed') then
    outcome := case when v_policy = 'encrypted' then 'seal' else 'plain' end;
    return next;
    return;
  end if;
  select * into v_sent from gateway.enqueue_message(p_organisation, p_agent, p_recipient, p_type, p_content,
    p_idempotency_key, p_request_hash, null, true);
  outcome := 'sent'; id := v_sent.id; wa_message_id := v_sent.wa_message_id; status := v_sent.status;
  created_at := v_sent.created_at; replayed := v_sent.replayed; rate_limit := v_sent.rate_limit;
  rate_remaining := v_sent.rate_remaining; rate_reset_seconds := v_sent.rate_reset_seconds;
  return next;
end;
$$;
comment on function gateway.api_send_as_member(uuid, uuid, uuid, text, text, jsonb, text, text) is 'Control plane: a signed-in user''s send in one statement: their role in p_organisation (developer or more) checked, then gateway.api_send''s send for that organisation. outcome: sent; refused (not a member or the role is too low: nothing written, authenticate the regular way for the reason); seal (encrypted organisation, content not sealed: nothing written); plain (p_content null asks for the policy only).';
select private.expose_to_api('gateway.api_send_as_member(uuid, uuid, uuid, text, text, jsonb, text, text)'::regprocedure);
