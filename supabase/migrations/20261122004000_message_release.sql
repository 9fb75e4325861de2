-- Giving claimed messages back without an attempt.
--
-- The outbound worker claims a batch and then sends one message at a time per session, paced.
-- When the socket closes before a claimed message went on the wire (a 428 or 515 drop, a
-- restart, a lost lease) or its claim is about to expire while it waits for pacing, the message
-- was never attempted: it goes back to the queue as it was, its attempt not counted, so socket
-- drops cannot exhaust max_attempts and fail messages that never left.

create function gateway.release_messages(p_connector uuid, p_ids uuid[])
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  update public.messages m
  set status = 'queued', attempts = greatest(m.attempts - 1, 0), next_attempt_at = now(),
      locked_by = null, locked_until = null
  where m.id = any (p_ids) and m.locked_by = p_connector and m.status = 'sending';
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function gateway.release_messages(uuid, uuid[]) is 'Returns claimed but unattempted messages to the queue (attempt not counted); only rows the caller still holds.';

revoke all on function gateway.release_messages(uuid, uuid[]) from public, anon, authenticated;
grant execute on function gateway.release_messages(uuid, uuid[]) to service_role;
