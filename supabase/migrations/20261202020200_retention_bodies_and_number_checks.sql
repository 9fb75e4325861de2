-- Retention for what used to stay forever (review finding 12): the bodies of failed messages and
-- of messages sent but never delivered, and number checks (third parties' phone numbers). Past
-- p_message_days, such a message keeps its row (status, timestamps, error) but its content is
-- replaced by {"content_removed": true}; a number check is deleted whatever its state. Media
-- objects go with the media retention job (gateway.claim_unused_media) as soon as no pending send
-- needs them. Delivered/read and inbound messages and settled events are deleted as before.

drop function gateway.apply_retention(integer, integer);

create function gateway.apply_retention(p_event_days integer default 30, p_message_days integer default 30)
returns table (events integer, messages integer, inbound integer, bodies_cleared integer, number_checks integer)
language plpgsql
set search_path = ''
as $$
declare
  v_cutoff timestamptz;
begin
  if p_event_days < 1 or p_message_days < 1 then
    perform gateway.fail('invalid_argument', 'retention periods must be at least one day');
  end if;
  v_cutoff := now() - make_interval(days => p_message_days);
  delete from public.events e
  where e.created_at < now() - make_interval(days => p_event_days)
    and not exists (select 1 from public.webhook_deliveries d where d.event_id = e.id and d.status in ('pending', 'delivering'));
  get diagnostics events = row_count;
  delete from public.messages m
  where m.status in ('delivered', 'read') and m.updated_at < v_cutoff;
  get diagnostics messages = row_count;
  delete from public.inbound_messages i where i.created_at < v_cutoff;
  get diagnostics inbound = row_count;
  update public.messages m set content = '{"content_removed": true}'::jsonb
  where ((m.status = 'failed' and coalesce(m.failed_at, m.updated_at) < v_cutoff)
         or (m.status = 'sent' and coalesce(m.sent_at, m.updated_at) < v_cutoff))
    and m.content is distinct from '{"content_removed": true}'::jsonb;
  get diagnostics bodies_cleared = row_count;
  delete from public.number_checks c where c.created_at < v_cutoff;
  get diagnostics number_checks = row_count;
  return next;
end;
$$;
comment on function gateway.apply_retention(integer, integer) is 'Job: deletes settled events, delivered/read and inbound messages and number checks past their retention; clears the content of failed and sent-but-never-delivered messages past it.';

revoke all on function gateway.apply_retention(integer, integer) from public, anon, authenticated;
grant execute on function gateway.apply_retention(integer, integer) to service_role;
