-- discard_after_delivery (issue 13): content is not kept past delivery. Reuses the retention
-- marker of 20261202020200_retention_bodies_and_number_checks.sql, {"content_removed": true}:
--   outbound  content replaced when a send settles (sent, or failed for good), by a trigger, so
--             every path that settles a message (complete_messages, future ones) follows it;
--   inbound   content replaced in the row and in its event's payload once no webhook delivery of
--             the event is pending or delivering (delivered or dead), at once when there is none.
-- A redelivery after that sends the marker, not the content. ops.requeue_failed_messages skips
-- messages whose content is gone (they have nothing left to send).

create function private.discard_sent_content()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if private.content_policy_of(new.owner_id) = 'discard_after_delivery' then
    new.content := '{"content_removed": true}'::jsonb;
  end if;
  return new;
end;
$$;
comment on function private.discard_sent_content() is 'Trigger: a settled send (sent or failed) of a discard_after_delivery owner keeps its row, not its content.';
revoke all on function private.discard_sent_content() from public, anon, authenticated;

create trigger messages_discard_sent_content before update of status on public.messages
  for each row when (new.status in ('sent', 'failed') and old.status is distinct from new.status)
  execute function private.discard_sent_content();

create function private.discard_delivered_content(p_event uuid)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_event public.events;
begin
  select * into v_event from public.events e where e.id = p_event
    and e.type in ('message.received', 'message.sent_from_phone') and e.payload ? 'content';
  if v_event.id is null
     or v_event.payload -> 'content' = '{"content_removed": true}'::jsonb
     or private.content_policy_of(v_event.owner_id) <> 'discard_after_delivery'
     or exists (select 1 from public.webhook_deliveries d where d.event_id = p_event and d.status in ('pending', 'delivering')) then
    return;
  end if;
  update public.events e set payload = jsonb_set(e.payload, '{content}', '{"content_removed": true}'::jsonb) where e.id = p_event;
  update public.inbound_messages i set content = '{"content_removed": true}'::jsonb
  where i.id = (v_event.payload ->> 'id')::uuid and i.agent_id = v_event.agent_id;
end;
$$;
comment on function private.discard_delivered_content(uuid) is 'discard_after_delivery: removes an inbound message''s content (row and event payload) once none of its event''s webhook deliveries is pending or delivering.';
revoke all on function private.discard_delivered_content(uuid) from public, anon, authenticated;

create function private.discard_content_after_delivery()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform private.discard_delivered_content(new.event_id);
  return null;
end;
$$;
comment on function private.discard_content_after_delivery() is 'Trigger: a webhook delivery that ended (delivered or dead) may have been the last one waiting for its inbound message''s content.';
revoke all on function private.discard_content_after_delivery() from public, anon, authenticated;

create trigger webhook_deliveries_discard_content after update of status on public.webhook_deliveries
  for each row when (new.status in ('delivered', 'dead') and old.status is distinct from new.status)
  execute function private.discard_content_after_delivery();

create or replace function gateway.record_inbound(p_agent uuid, p_connector uuid, p_epoch bigint, p_messages jsonb) RETURNS TABLE(id uuid, wa_message_id text)
language plpgsql
set search_path = ''
as $$
declare
  v_session public.whatsapp_sessions;
  r record;
  v_event uuid;
  v_policy text;
begin
  if jsonb_typeof(p_messages) is distinct from 'array' then
    perform gateway.fail('invalid_argument', 'messages must be a JSON array');
  end if;
  v_session := gateway.assert_lease(p_agent, p_connector, p_epoch);
  v_policy := private.content_policy_of(v_session.owner_id);
  for r in
    insert into public.inbound_messages as im (agent_id, owner_id, wa_message_id, chat_jid, sender_phone, sender_lid,
      from_me, type, content, quoted_wa_message_id, sent_at)
    select p_agent, v_session.owner_id, x ->> 'wa_message_id', x ->> 'chat_jid', x ->> 'sender_phone', x ->> 'sender_lid',
           coalesce((x ->> 'from_me')::boolean, false), coalesce(x ->> 'type', 'unknown'),
           coalesce(x -> 'content', '{}'::jsonb), x ->> 'quoted_wa_message_id', (x ->> 'sent_at')::timestamptz
    from jsonb_array_elements(p_messages) x
    where x ->> 'wa_message_id' is not null and x ->> 'chat_jid' is not null
    on conflict on constraint inbound_messages_agent_id_wa_message_id_key do nothing
    returning im.id, im.wa_message_id, im.from_me, im.type, im.chat_jid, im.sender_phone, im.sender_lid, im.content,
              im.quoted_wa_message_id, im.sent_at
  loop
    if not r.from_me then
      perform private.bump_stats(p_agent, v_session.owner_id, 'received', 1);
    end if;
    v_event := gateway.emit_event(v_session.owner_id, p_agent,
      case when r.from_me then 'message.sent_from_phone' else 'message.received' end, 'info',
      jsonb_build_object('id', r.id, 'wa_message_id', r.wa_message_id, 'type', r.type, 'chat_jid', r.chat_jid,
                         'sender_phone', r.sender_phone, 'sender_lid', r.sender_lid, 'content', r.content,
                         'quoted_wa_message_id', r.quoted_wa_message_id, 'sent_at', r.sent_at));
    if v_policy = 'discard_after_delivery' then
      perform private.discard_delivered_content(v_event);
    end if;
    id := r.id; wa_message_id := r.wa_message_id;
    return next;
  end loop;
end;
$$;

-- The body only: ops.requeue_failed_messages wraps it and records it in the audit log.
create or replace function private.requeue_failed_messages_unaudited(p_agent uuid, p_since timestamp with time zone DEFAULT (now() - '1 day'::interval)) RETURNS integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  if not exists (select 1 from public.agents where id = p_agent) then
    perform gateway.fail('unknown_agent', 'no agent with this id');
  end if;
  -- A message whose content is gone (retention, discard_after_delivery) has nothing to send.
  -- Same row, same WhatsApp id: a message that failed before reaching WhatsApp goes out once.
  update public.messages
  set status = 'queued', attempts = 0, next_attempt_at = now(), error_code = null, error_message = null,
      failed_at = null, locked_by = null, locked_until = null
  where agent_id = p_agent and status = 'failed' and failed_at >= p_since
    and content is distinct from '{"content_removed": true}'::jsonb;
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
