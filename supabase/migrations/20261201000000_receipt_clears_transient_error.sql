-- A receipt that moves a message forward to sent, delivered or read proves it reached WhatsApp, so
-- the error of an earlier transient try (send_timeout, connection_closed ...) no longer describes
-- it. Before this, a message retried once and then read kept that error code in the API and the
-- message.status webhooks. Same function as in 20261122000800_messages.sql otherwise.

create or replace function gateway.advance_message_status(p_agent uuid, p_connector uuid, p_epoch bigint, p_updates jsonb)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  r record;
  v_count integer := 0;
begin
  if jsonb_typeof(p_updates) is distinct from 'array' then
    perform gateway.fail('invalid_argument', 'updates must be a JSON array');
  end if;
  if exists (select 1 from jsonb_array_elements(p_updates) x
             where x ->> 'status' not in ('sent', 'delivered', 'read', 'failed') or x ->> 'status' is null) then
    perform gateway.fail('invalid_argument', 'status must be sent, delivered, read or failed');
  end if;
  perform gateway.assert_lease(p_agent, p_connector, p_epoch);
  for r in
    with input as (
      select distinct on (x ->> 'wa_message_id') x ->> 'wa_message_id' as wa_message_id, x ->> 'status' as status,
             left(x ->> 'error_code', 100) as error_code, left(x ->> 'error_message', 500) as error_message
      from jsonb_array_elements(p_updates) x
      order by x ->> 'wa_message_id', private.message_status_rank(x ->> 'status') desc
    ), prev as (
      select m.id, m.status as old_status from public.messages m join input i on i.wa_message_id = m.wa_message_id
      where m.agent_id = p_agent for update of m
    )
    update public.messages m set
      status = i.status,
      sent_at = case when i.status in ('sent', 'delivered', 'read') then coalesce(m.sent_at, now()) else m.sent_at end,
      delivered_at = case when i.status in ('delivered', 'read') then coalesce(m.delivered_at, now()) else m.delivered_at end,
      read_at = case when i.status = 'read' then coalesce(m.read_at, now()) else m.read_at end,
      failed_at = case when i.status = 'failed' then now() else m.failed_at end,
      error_code = case when i.status = 'failed' then coalesce(i.error_code, 'whatsapp_error') else null end,
      error_message = case when i.status = 'failed' then i.error_message else null end
    from input i, prev
    where m.agent_id = p_agent and m.wa_message_id = i.wa_message_id and prev.id = m.id
      and case when i.status = 'failed' then m.status in ('queued', 'sending', 'sent')
               else m.status <> 'failed' and private.message_status_rank(i.status) > private.message_status_rank(m.status) end
    returning m.id, m.owner_id, m.wa_message_id, m.status, prev.old_status, m.error_code
  loop
    v_count := v_count + 1;
    -- A receipt can jump ranks (sending -> read); count each milestone passed once.
    if r.status in ('sent', 'delivered', 'read') and private.message_status_rank(r.old_status) < 2 then
      perform private.bump_stats(p_agent, r.owner_id, 'sent', 1);
    end if;
    if r.status in ('delivered', 'read') and private.message_status_rank(r.old_status) < 3 then
      perform private.bump_stats(p_agent, r.owner_id, 'delivered', 1);
    end if;
    if r.status = 'read' then
      perform private.bump_stats(p_agent, r.owner_id, 'read', 1);
    end if;
    if r.status = 'failed' then
      perform private.bump_stats(p_agent, r.owner_id, 'failed', 1);
    end if;
    perform gateway.emit_event(r.owner_id, p_agent, 'message.status',
      case when r.status = 'failed' then 'warning' else 'info' end,
      jsonb_build_object('message_id', r.id, 'wa_message_id', r.wa_message_id, 'status', r.status,
                         'previous_status', r.old_status, 'error_code', r.error_code));
  end loop;
  return v_count;
end;
$$;
comment on function gateway.advance_message_status(uuid, uuid, bigint, jsonb) is 'Fenced, batched, forward-only status updates from WhatsApp receipts; raises message.status events and counts statistics.';
