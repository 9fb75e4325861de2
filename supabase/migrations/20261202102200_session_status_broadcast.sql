-- Live session status for the owner's web app, through Supabase Realtime (Broadcast from the
-- database, private channels authorised by RLS on realtime.messages).
--
-- When a session's status, QR code, pairing code or linked phone changes, the database sends a
-- private broadcast `session_changed` on the topic 'agent:<agent_id>'. The payload carries the
-- agent id and the status only: never the QR text or the pairing code. Realtime keeps what it
-- delivers in realtime.messages, and a link secret does not belong in a second table; the page
-- fetches the session (GET /v1/agents/{agentId}/session) when told something changed, so the
-- API stays the one place that decides what a caller may see.
--
-- Authorisation: a user may join (select on realtime.messages) the topic of an agent they own,
-- and no other. Supabase Realtime runs that select as `authenticated` with the joining user's JWT
-- claims and `realtime.topic()` set to the channel's topic. The topic is compared as text, so a
-- malformed topic matches nothing instead of raising.
--
-- Lease renewals and heartbeats never run the trigger (column list and WHEN clause).

create function private.broadcast_session_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform realtime.send(
    jsonb_build_object('agent_id', new.agent_id, 'status', new.status),
    'session_changed', 'agent:' || new.agent_id::text, true);
  return null;
end;
$$;
comment on function private.broadcast_session_change() is 'Trigger: a private Realtime broadcast session_changed on topic agent:<agent_id> with {agent_id, status} (no QR or pairing code) when what the owner sees of a session changes.';
revoke all on function private.broadcast_session_change() from public, anon, authenticated;

create trigger whatsapp_sessions_broadcast_change
  after update of status, qr_code, pairing_code, phone_number on public.whatsapp_sessions
  for each row
  when (new.status is distinct from old.status
        or new.qr_code is distinct from old.qr_code
        or new.pairing_code is distinct from old.pairing_code
        or new.phone_number is distinct from old.phone_number)
  execute function private.broadcast_session_change();

create policy owners_hear_their_agents on realtime.messages for select to authenticated
  using (
    extension = 'broadcast'
    and exists (
      select 1 from public.agents a
      where a.owner_id = (select auth.uid())
        and 'agent:' || a.id::text = (select realtime.topic())
    )
  );
