-- Key hygiene never deletes pre-keys.
--
-- 20261122000600_auth_state.sql pruned every pre-key beyond the newest 30. But the pre-keys still
-- stored are the unconsumed ones: WhatsApp's server keeps handing them to new contacts, and
-- Baileys deletes a pre-key itself once a contact has used it. Pruning them made first messages
-- from new contacts fail to decrypt. So pre-keys are never pruned here; only session and
-- sender-key rows untouched for 14 days or more, and only while the session is neither connected
-- nor owned (the other guards as before). The pre-key count parameter goes with it.

drop function gateway.prune_signal_keys(uuid, interval, integer);

create function gateway.prune_signal_keys(p_agent uuid, p_min_age interval default interval '14 days')
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
  v_deleted integer;
begin
  if p_min_age is null or p_min_age < interval '14 days' then
    perform gateway.fail('invalid_argument', 'hygiene keeps keys younger than 14 days');
  end if;
  select * into v_session from public.whatsapp_sessions where agent_id = p_agent for update;
  if v_session.agent_id is null then
    perform gateway.fail('unknown_agent', 'no session for this agent');
  end if;
  if v_session.status in ('connected', 'connecting', 'reconnecting')
     or (v_session.owner_connector_id is not null and v_session.lease_until > now()) then
    perform gateway.fail('conflict', 'key hygiene never runs on a connected or owned session');
  end if;
  -- Only the types that grow with use; never pre-keys, creds or app-state keys.
  delete from private.signal_keys k
  where k.agent_id = p_agent and k.updated_at < now() - p_min_age
    and k.key_type in ('session', 'sender-key', 'sender-key-memory');
  get diagnostics v_deleted = row_count;
  return v_deleted;
end;
$$;
comment on function gateway.prune_signal_keys(uuid, interval) is 'Key hygiene per the auth-safety seed: only disconnected, unowned sessions; only session and sender-key rows untouched for 14 days or more; never pre-keys (unconsumed ones are still handed to new contacts), creds or app-state keys.';

revoke all on function gateway.prune_signal_keys(uuid, interval) from public, anon, authenticated;
grant execute on function gateway.prune_signal_keys(uuid, interval) to service_role;
