-- An operator's forced release fences the old owner at once.
--
-- ops.force_release_session cleared the owner but left lease_epoch as it was, counting on the next
-- claim to bump it. Until that claim, the old owner's epoch was still the session's epoch, so the
-- fence rested on the owner column alone, and whoever looked at the row (ops.sessions) saw the old
-- lease's number. Now the release itself moves the epoch on: every write at the old epoch is
-- refused from the moment the release commits, whoever claims next (the next claim bumps again).

create or replace function ops.force_release_session(p_agent uuid)
returns public.whatsapp_sessions
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
begin
  update public.whatsapp_sessions
  set owner_connector_id = null, owner_hostname = null, owner_pid = null, lease_until = null,
      lease_epoch = lease_epoch + 1
  where agent_id = p_agent
  returning * into v_session;
  if v_session.agent_id is null then
    perform gateway.fail('unknown_agent', 'no session for this agent');
  end if;
  perform gateway.emit_event(v_session.owner_id, p_agent, 'alert.lease_force_released', 'warning',
    jsonb_build_object('by', current_user, 'lease_epoch', v_session.lease_epoch));
  return v_session;
end;
$$;
comment on function ops.force_release_session(uuid) is 'Operator: clears a session''s lease and moves its epoch on, so the old owner''s writes are refused at once and any connector claims it next.';
