-- A connector claims only sessions it can decrypt (issue 16, review finding 3).
--
-- During a key rotation, or with a misconfigured connector, the fleet holds connectors with
-- different keyrings. A connector that claimed a session sealed under a key version it lacks used
-- to mark it `failed`; now it passes the versions it can read, and the claim leaves other
-- sessions to connectors that can. A session's key version is its creds' (they are re-sealed with
-- the current key on every open; Signal keys sealed under a newer version than the creds are the
-- connector's fallback case: it hands the session back and raises an alert). A session never
-- linked has no creds and anyone may take it. p_skip lists sessions this connector recently failed
-- to decrypt although it holds their version (a wrong key under the right number).

drop function gateway.claim_sessions(uuid, integer, integer);

create function gateway.claim_sessions(
  p_connector uuid,
  p_limit integer,
  p_lease_seconds integer default 30,
  p_key_versions integer[] default null,
  p_skip uuid[] default null
)
returns table (agent_id uuid, lease_epoch bigint, taken_over_from uuid)
language plpgsql
set search_path = ''
as $$
declare
  r record;
begin
  if p_lease_seconds is null or p_lease_seconds < 1 or p_limit is null or p_limit < 0 then
    perform gateway.fail('invalid_argument', 'limit must be >= 0 and lease seconds positive');
  end if;
  for r in
    with candidates as (
      select s.agent_id, s.owner_connector_id as old_owner
      from public.whatsapp_sessions s
      join public.agents a on a.id = s.agent_id
      left join private.session_credentials c on c.agent_id = s.agent_id
      where s.desired_state = 'connected' and a.disabled_at is null
        and (s.owner_connector_id is null or s.lease_until <= now())
        and (p_key_versions is null or c.agent_id is null or c.key_version = any (p_key_versions))
        and (p_skip is null or s.agent_id <> all (p_skip))
      order by s.lease_until nulls first, s.agent_id
      limit p_limit
      for update of s skip locked
    )
    update public.whatsapp_sessions s
    set owner_connector_id = p_connector, owner_hostname = c.hostname, owner_pid = c.pid,
        lease_epoch = s.lease_epoch + 1,
        lease_until = now() + make_interval(secs => p_lease_seconds),
        last_heartbeat_at = now()
    from candidates, private.connectors c
    where s.agent_id = candidates.agent_id and c.id = p_connector
    returning s.agent_id, s.owner_id, s.lease_epoch,
      case when candidates.old_owner is not null and candidates.old_owner <> p_connector then candidates.old_owner end as taken_from
  loop
    perform private.record_takeover(r.owner_id, r.agent_id, r.taken_from, p_connector, r.lease_epoch);
    agent_id := r.agent_id; lease_epoch := r.lease_epoch; taken_over_from := r.taken_from;
    return next;
  end loop;
end;
$$;
comment on function gateway.claim_sessions(uuid, integer, integer, integer[], uuid[]) is 'The reconciler''s claim: up to p_limit sessions that want a socket, whose lease is free or expired, whose creds are sealed under one of p_key_versions (null: any) and that are not in p_skip; one statement with SKIP LOCKED.';

revoke all on function gateway.claim_sessions(uuid, integer, integer, integer[], uuid[]) from public, anon, authenticated;
grant execute on function gateway.claim_sessions(uuid, integer, integer, integer[], uuid[]) to service_role;
