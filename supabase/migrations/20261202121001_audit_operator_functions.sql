-- Operator functions (ops.*, run from the SQL editor) leave one audit entry each (issue 13). Each
-- function's body moves to private.<name>_unaudited unchanged and ops.<name> becomes a wrapper:
-- the body, then the entry, in the same transaction, so a refused call (an error) leaves none.
-- The actor is the database role (private.audit_actor: session_user, which SECURITY DEFINER
-- leaves alone). The wrappers run as their owner so that the bodies and private.record_audit
-- need no grant: a caller cannot run a body without its entry. (The one visible difference:
-- current_user inside a body is the owner, so alert.lease_force_released's "by" names the owner
-- role rather than service_role when the service role calls it.)
-- tests/sql/vocabularies.test.ts fails when
-- an ops function does not record itself or has no action in kernel/audit-actions.ts.
--
-- A dry run of ops.emergency_key_cleanup changes nothing and is not an action: not recorded.

alter function ops.cancel_emergency_key_cleanup(uuid) rename to cancel_emergency_key_cleanup_unaudited;
alter function ops.cancel_emergency_key_cleanup_unaudited(uuid) set schema private;
alter function ops.disable_agent(uuid, text) rename to disable_agent_unaudited;
alter function ops.disable_agent_unaudited(uuid, text) set schema private;
alter function ops.emergency_key_cleanup(uuid, boolean, interval) rename to emergency_key_cleanup_unaudited;
alter function ops.emergency_key_cleanup_unaudited(uuid, boolean, interval) set schema private;
alter function ops.enable_agent(uuid) rename to enable_agent_unaudited;
alter function ops.enable_agent_unaudited(uuid) set schema private;
alter function ops.force_release_session(uuid) rename to force_release_session_unaudited;
alter function ops.force_release_session_unaudited(uuid) set schema private;
alter function ops.prune_signal_keys(uuid, boolean, interval) rename to prune_signal_keys_unaudited;
alter function ops.prune_signal_keys_unaudited(uuid, boolean, interval) set schema private;
alter function ops.requeue_failed_messages(uuid, timestamptz) rename to requeue_failed_messages_unaudited;
alter function ops.requeue_failed_messages_unaudited(uuid, timestamptz) set schema private;
alter function ops.restore_signal_keys(uuid) rename to restore_signal_keys_unaudited;
alter function ops.restore_signal_keys_unaudited(uuid) set schema private;

comment on function private.cancel_emergency_key_cleanup_unaudited(uuid) is 'The body of ops.cancel_emergency_key_cleanup, which audits it; not called directly.';
comment on function private.disable_agent_unaudited(uuid, text) is 'The body of ops.disable_agent, which audits it; not called directly.';
comment on function private.emergency_key_cleanup_unaudited(uuid, boolean, interval) is 'The body of ops.emergency_key_cleanup, which audits it; not called directly.';
comment on function private.enable_agent_unaudited(uuid) is 'The body of ops.enable_agent, which audits it; not called directly.';
comment on function private.force_release_session_unaudited(uuid) is 'The body of ops.force_release_session, which audits it; not called directly.';
comment on function private.prune_signal_keys_unaudited(uuid, boolean, interval) is 'The body of ops.prune_signal_keys, which audits it; not called directly.';
comment on function private.requeue_failed_messages_unaudited(uuid, timestamptz) is 'The body of ops.requeue_failed_messages, which audits it; not called directly.';
comment on function private.restore_signal_keys_unaudited(uuid) is 'The body of ops.restore_signal_keys, which audits it; not called directly.';

-- The owner of an agent, for the entry (null when the agent is unknown: the body has failed by then).
create function private.agent_owner(p_agent uuid)
returns uuid
language sql
stable
set search_path = ''
as $$
  select a.owner_id from public.agents a where a.id = p_agent
$$;
comment on function private.agent_owner(uuid) is 'The owner of an agent (null when unknown).';
revoke all on function private.agent_owner(uuid) from public, anon, authenticated;

create function ops.cancel_emergency_key_cleanup(p_agent uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v jsonb := private.cancel_emergency_key_cleanup_unaudited(p_agent);
begin
  perform private.record_audit('ops.cancel_emergency_key_cleanup', private.agent_owner(p_agent), p_agent, (v ->> 'id')::uuid,
    jsonb_build_object('restored_desired_state', v ->> 'restore_desired_state'));
  return v;
end;
$$;
comment on function ops.cancel_emergency_key_cleanup(uuid) is 'Operator: cancels an emergency key cleanup that has not cleaned up yet and puts the desired state back. Audited.';

create function ops.disable_agent(p_agent uuid, p_reason text)
returns public.agents
language plpgsql
security definer
set search_path = ''
as $$
declare
  v public.agents := private.disable_agent_unaudited(p_agent, p_reason);
begin
  perform private.record_audit('ops.disable_agent', v.owner_id, p_agent, null, jsonb_build_object('reason', p_reason));
  return v;
end;
$$;
comment on function ops.disable_agent(uuid, text) is 'Operator: disables an agent (no sends, no claims) and asks its connector to end the socket. Audited.';

create function ops.emergency_key_cleanup(p_agent uuid, p_dry_run boolean default true, p_min_age interval default '14 days')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v jsonb := private.emergency_key_cleanup_unaudited(p_agent, p_dry_run, p_min_age);
begin
  if not coalesce(p_dry_run, true) then
    perform private.record_audit('ops.emergency_key_cleanup', private.agent_owner(p_agent), p_agent, (v ->> 'id')::uuid,
      jsonb_build_object('min_age', p_min_age::text, 'state', v ->> 'state'));
  end if;
  return v;
end;
$$;
comment on function ops.emergency_key_cleanup(uuid, boolean, interval) is 'Operator: the seed''s emergency key procedure (stop, clean up with backup, restart, verify). Dry run by default (changes nothing, not audited); a real run starts or advances the procedure and is audited.';

create function ops.enable_agent(p_agent uuid)
returns public.agents
language plpgsql
security definer
set search_path = ''
as $$
declare
  v public.agents := private.enable_agent_unaudited(p_agent);
begin
  perform private.record_audit('ops.enable_agent', v.owner_id, p_agent, null, '{}'::jsonb);
  return v;
end;
$$;
comment on function ops.enable_agent(uuid) is 'Operator: lifts a disable; the owner links or reconnects the session again. Audited.';

create function ops.force_release_session(p_agent uuid)
returns public.whatsapp_sessions
language plpgsql
security definer
set search_path = ''
as $$
declare
  v public.whatsapp_sessions := private.force_release_session_unaudited(p_agent);
begin
  perform private.record_audit('ops.force_release_session', v.owner_id, p_agent, null, jsonb_build_object('lease_epoch', v.lease_epoch));
  return v;
end;
$$;
comment on function ops.force_release_session(uuid) is 'Operator: clears a session''s lease and moves its epoch on, so the old owner''s writes are refused at once and any connector claims it next. Audited.';

create function ops.prune_signal_keys(p_agent uuid, p_force boolean default false, p_min_age interval default '14 days')
returns table(cleanup_id uuid, deleted integer, forced boolean)
language plpgsql
security definer
set search_path = ''
as $$
declare
  v record;
begin
  select * into v from private.prune_signal_keys_unaudited(p_agent, p_force, p_min_age);
  perform private.record_audit('ops.prune_signal_keys', private.agent_owner(p_agent), p_agent, v.cleanup_id,
    jsonb_build_object('force', coalesce(p_force, false), 'min_age', p_min_age::text, 'deleted', v.deleted, 'forced', v.forced));
  cleanup_id := v.cleanup_id;
  deleted := v.deleted;
  forced := v.forced;
  return next;
end;
$$;
comment on function ops.prune_signal_keys(uuid, boolean, interval) is 'Operator: key cleanup of one session with backup. Refused while the session is connected or owned unless p_force; never younger than 14 days, never pre-keys, creds or app-state keys. Audited.';

create function ops.requeue_failed_messages(p_agent uuid, p_since timestamptz default now() - interval '1 day')
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v integer := private.requeue_failed_messages_unaudited(p_agent, p_since);
begin
  perform private.record_audit('ops.requeue_failed_messages', private.agent_owner(p_agent), p_agent, null,
    jsonb_build_object('since', p_since, 'requeued', v));
  return v;
end;
$$;
comment on function ops.requeue_failed_messages(uuid, timestamptz) is 'Operator: puts an agent''s failed messages (since a time) back in the queue with their original WhatsApp ids. Audited.';

create function ops.restore_signal_keys(p_cleanup_id uuid)
returns integer
language plpgsql
security definer
set search_path = ''
as $$
declare
  v integer := private.restore_signal_keys_unaudited(p_cleanup_id);
  v_agent uuid := (select b.agent_id from private.signal_key_backups b where b.cleanup_id = p_cleanup_id limit 1);
begin
  perform private.record_audit('ops.restore_signal_keys', private.agent_owner(v_agent), v_agent, p_cleanup_id,
    jsonb_build_object('restored', v));
  return v;
end;
$$;
comment on function ops.restore_signal_keys(uuid) is 'Operator: puts back the keys one cleanup deleted (only while the session is disconnected and unowned; keys written since are kept). Audited.';

-- As before: service_role only (the schema's grants); the bodies in private are nobody's to call.
do $$
declare
  f regprocedure;
begin
  for f in
    select p.oid::regprocedure from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'ops'
  loop
    execute format('revoke all on function %s from public, anon, authenticated', f);
    execute format('grant execute on function %s to service_role', f);
  end loop;
  for f in
    select p.oid::regprocedure from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname = 'private' and p.proname like '%\_unaudited'
  loop
    execute format('revoke all on function %s from public, anon, authenticated, service_role', f);
  end loop;
end;
$$;
