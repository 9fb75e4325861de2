-- Number checks, the connector's side.
--
-- The control plane queues a job (gateway.create_number_check) and nudges with
-- '<agent>:number_check'. The connector that leases the session claims it (one statement,
-- SKIP LOCKED, visibility timeout so a crashed connector's job comes back), asks WhatsApp, and
-- answers with result = [{"number", "exists", "jid"}] or an error. Only the holder may answer.

create function gateway.claim_number_checks(p_connector uuid, p_agents uuid[], p_limit integer default 10, p_visibility_seconds integer default 60)
returns table (id uuid, agent_id uuid, lease_epoch bigint, numbers text[])
language plpgsql
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 0 or p_visibility_seconds is null or p_visibility_seconds < 1 then
    perform gateway.fail('invalid_argument', 'limit >= 0 and a positive visibility timeout are required');
  end if;
  return query
  with due as (
    select c.id, s.lease_epoch
    from public.number_checks c
    join public.whatsapp_sessions s on s.agent_id = c.agent_id
    where s.owner_connector_id = p_connector and s.lease_until > now()
      and (p_agents is null or c.agent_id = any (p_agents))
      and (c.status = 'pending' or (c.status = 'running' and c.locked_until <= now()))
    order by c.created_at
    limit p_limit
    for update of c skip locked
  )
  update public.number_checks c
  set status = 'running', locked_by = p_connector, locked_until = now() + make_interval(secs => p_visibility_seconds)
  from due
  where c.id = due.id
  returning c.id, c.agent_id, due.lease_epoch, c.numbers;
end;
$$;
comment on function gateway.claim_number_checks(uuid, uuid[], integer, integer) is 'Claims pending number checks of sessions the connector leases (FOR UPDATE SKIP LOCKED, visibility timeout); expired claims come back.';

-- p_result: [{"number": "<digits>", "exists": bool, "jid": "<jid>" | null}] when p_error is null.
create function gateway.complete_number_check(p_connector uuid, p_check uuid, p_result jsonb, p_error text default null)
returns boolean
language plpgsql
set search_path = ''
as $$
declare
  v_found boolean;
begin
  if p_error is null and (p_result is null or jsonb_typeof(p_result) <> 'array') then
    perform gateway.fail('invalid_argument', 'a result array or an error is required');
  end if;
  update public.number_checks c
  set status = case when p_error is null then 'done' else 'failed' end,
      result = case when p_error is null then p_result end,
      error = left(p_error, 500), completed_at = now(), locked_by = null, locked_until = null
  where c.id = p_check and c.status = 'running' and c.locked_by = p_connector;
  v_found := found;
  return v_found;
end;
$$;
comment on function gateway.complete_number_check(uuid, uuid, jsonb, text) is 'Answers a claimed number check (done with a result, or failed with an error); false when the caller no longer holds it.';

revoke all on function gateway.claim_number_checks(uuid, uuid[], integer, integer),
  gateway.complete_number_check(uuid, uuid, jsonb, text) from public, anon, authenticated;
grant execute on function gateway.claim_number_checks(uuid, uuid[], integer, integer),
  gateway.complete_number_check(uuid, uuid, jsonb, text) to service_role;
