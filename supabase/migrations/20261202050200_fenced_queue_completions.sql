-- Completions of claimed work are fenced by the lease epoch, like every other connector write.
--
-- gateway.complete_messages, gateway.release_messages and gateway.complete_number_check checked
-- only that the caller still held the row (locked_by). A connector that had lost the session (a
-- pause longer than the lease, a forced release) could still complete or release rows it had
-- claimed under the old lease while the new owner was already working the session. DESIGN
-- invariant 1 says every write a connector makes for a session carries its epoch and SQL refuses
-- a stale one: these now take (agent, connector, epoch) first, call gateway.assert_lease (which
-- raises stale_lease and holds the session row for the transaction, so a takeover cannot slip in
-- under the write), and touch only rows of that agent still held by the caller. The old
-- signatures are dropped so nothing can call the unfenced versions.

drop function gateway.complete_messages(uuid, jsonb);
drop function gateway.release_messages(uuid, uuid[]);
drop function gateway.complete_number_check(uuid, uuid, jsonb, text);

-- p_results: [{ "id": uuid, "outcome": "sent" | "retry" | "failed", "error_code": text?,
--               "error_message": text?, "retry_in_seconds": number?, "strip_media": bool? }]
create function gateway.complete_messages(p_agent uuid, p_connector uuid, p_epoch bigint, p_results jsonb)
returns table (id uuid, status text)
language plpgsql
set search_path = ''
as $$
declare
  r record;
  v_owner uuid;
  v_sent integer := 0;
  v_failed integer := 0;
begin
  if jsonb_typeof(p_results) is distinct from 'array' then
    perform gateway.fail('invalid_argument', 'results must be a JSON array');
  end if;
  v_owner := (gateway.assert_lease(p_agent, p_connector, p_epoch)).owner_id;
  for r in
    with input as (
      select (x ->> 'id')::uuid as id, x ->> 'outcome' as outcome, left(x ->> 'error_code', 100) as error_code,
             left(x ->> 'error_message', 500) as error_message,
             coalesce((x ->> 'retry_in_seconds')::double precision, 5) as retry_in,
             coalesce((x ->> 'strip_media')::boolean, false) as strip_media
      from jsonb_array_elements(p_results) x
    )
    update public.messages m set
      status = case
        when i.outcome = 'sent' then 'sent'
        when i.outcome = 'failed' or m.attempts >= m.max_attempts then 'failed'
        else 'queued' end,
      sent_at = case when i.outcome = 'sent' then now() else m.sent_at end,
      failed_at = case when i.outcome = 'failed' or (i.outcome = 'retry' and m.attempts >= m.max_attempts) then now() else m.failed_at end,
      error_code = case when i.outcome = 'sent' then null
                        when i.outcome = 'retry' and m.attempts >= m.max_attempts then coalesce(i.error_code, 'retries_exhausted')
                        else i.error_code end,
      error_message = case when i.outcome = 'sent' then null else i.error_message end,
      next_attempt_at = case when i.outcome = 'retry' then now() + make_interval(secs => i.retry_in) else m.next_attempt_at end,
      content = case when i.strip_media and m.content ? 'media' and (m.content -> 'media') ? 'data'
                     then jsonb_set(m.content, '{media}', (m.content -> 'media') - 'data' || '{"data_removed": true}')
                     else m.content end,
      locked_by = null,
      locked_until = null
    from input i
    where m.id = i.id and m.agent_id = p_agent and m.locked_by = p_connector and m.status = 'sending'
      and i.outcome in ('sent', 'retry', 'failed')
    returning m.id, m.wa_message_id, m.status, m.error_code, m.error_message
  loop
    if r.status in ('sent', 'failed') then
      if r.status = 'sent' then v_sent := v_sent + 1; else v_failed := v_failed + 1; end if;
      perform gateway.emit_event(v_owner, p_agent, 'message.status',
        case when r.status = 'failed' then 'warning' else 'info' end,
        jsonb_build_object('message_id', r.id, 'wa_message_id', r.wa_message_id, 'status', r.status,
                           'error_code', r.error_code, 'error_message', r.error_message));
    end if;
    id := r.id; status := r.status;
    return next;
  end loop;
  if v_sent + v_failed > 0 then
    insert into public.daily_stats as d (agent_id, day, owner_id, sent, failed)
    values (p_agent, (now() at time zone 'utc')::date, v_owner, v_sent, v_failed)
    on conflict (agent_id, day) do update set sent = d.sent + excluded.sent, failed = d.failed + excluded.failed;
  end if;
end;
$$;
comment on function gateway.complete_messages(uuid, uuid, bigint, jsonb) is 'Fenced, batched outcome of one session''s claimed sends (sent, retry with backoff, failed); stale_lease unless the caller holds the lease at p_epoch; only rows the caller still holds; raises message.status events.';

create function gateway.release_messages(p_agent uuid, p_connector uuid, p_epoch bigint, p_ids uuid[])
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  perform gateway.assert_lease(p_agent, p_connector, p_epoch);
  update public.messages m
  set status = 'queued', attempts = greatest(m.attempts - 1, 0), next_attempt_at = now(),
      locked_by = null, locked_until = null
  where m.id = any (p_ids) and m.agent_id = p_agent and m.locked_by = p_connector and m.status = 'sending';
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function gateway.release_messages(uuid, uuid, bigint, uuid[]) is 'Fenced: returns one session''s claimed but unattempted messages to the queue (attempt not counted); stale_lease unless the caller holds the lease at p_epoch; only rows the caller still holds.';

-- p_result: [{"number": "<digits>", "exists": bool, "jid": "<jid>" | null}] when p_error is null.
create function gateway.complete_number_check(p_agent uuid, p_connector uuid, p_epoch bigint, p_check uuid, p_result jsonb, p_error text default null)
returns boolean
language plpgsql
set search_path = ''
as $$
begin
  if p_error is null and (p_result is null or jsonb_typeof(p_result) <> 'array') then
    perform gateway.fail('invalid_argument', 'a result array or an error is required');
  end if;
  perform gateway.assert_lease(p_agent, p_connector, p_epoch);
  update public.number_checks c
  set status = case when p_error is null then 'done' else 'failed' end,
      result = case when p_error is null then p_result end,
      error = left(p_error, 500), completed_at = now(), locked_by = null, locked_until = null
  where c.id = p_check and c.agent_id = p_agent and c.status = 'running' and c.locked_by = p_connector;
  return found;
end;
$$;
comment on function gateway.complete_number_check(uuid, uuid, bigint, uuid, jsonb, text) is 'Fenced: answers a claimed number check (done with a result, or failed with an error); stale_lease unless the caller holds the lease at p_epoch; false when the caller no longer holds the job.';

revoke all on function gateway.complete_messages(uuid, uuid, bigint, jsonb),
  gateway.release_messages(uuid, uuid, bigint, uuid[]),
  gateway.complete_number_check(uuid, uuid, bigint, uuid, jsonb, text) from public, anon, authenticated;
grant execute on function gateway.complete_messages(uuid, uuid, bigint, jsonb),
  gateway.release_messages(uuid, uuid, bigint, uuid[]),
  gateway.complete_number_check(uuid, uuid, bigint, uuid, jsonb, text) to service_role;
