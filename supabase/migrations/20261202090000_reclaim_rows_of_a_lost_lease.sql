-- Rows another connector left locked come back at once. Queue completions and releases are
-- fenced by the lease epoch, so a connector that lost a session to another one (a takeover after
-- a stall, a partition, a kill) can no longer give back the rows it had claimed: they stayed
-- `sending` until their visibility timeout (120 s by default) and the session's queue stalled
-- behind them. Each claim now records the epoch it was made under, and a row locked by another
-- connector under an older epoch of the session is due again for the session's current holder.
-- Sending it again is safe: it keeps its WhatsApp id, which receivers dedupe, exactly as after an
-- expired visibility timeout. A connector that wins its own session back keeps its own locks: it
-- still holds those rows in memory and finishes them under its new epoch, and taking them again
-- would put them on the wire twice.

alter table public.messages add column locked_epoch bigint;
comment on column public.messages.locked_epoch is 'Lease epoch of the session under which the row was last claimed; a lock from an older epoch is void.';

drop function gateway.claim_messages(uuid, integer, integer, uuid[], integer);

create function gateway.claim_messages(p_connector uuid, p_limit integer default 50, p_visibility_seconds integer default 60,
  p_agents uuid[] default null, p_max_bytes integer default 1048576)
returns table (
  id uuid, agent_id uuid, lease_epoch bigint, wa_message_id text, recipient text, type text,
  content jsonb, attempts integer, max_attempts integer, created_at timestamptz
)
language plpgsql
set search_path = ''
as $$
begin
  if p_limit is null or p_limit < 0 or p_visibility_seconds is null or p_visibility_seconds < 1
     or p_max_bytes is null or p_max_bytes < 1 then
    perform gateway.fail('invalid_argument', 'limit >= 0, a positive visibility timeout and a positive byte budget are required');
  end if;
  return query
  with candidates as (
    select m.id, s.lease_epoch, m.next_attempt_at, m.created_at, octet_length(m.content::text) as bytes
    from public.messages m
    join public.whatsapp_sessions s on s.agent_id = m.agent_id
    where s.owner_connector_id = p_connector and s.lease_until > now()
      and (p_agents is null or m.agent_id = any (p_agents))
      and ((m.status = 'queued' and m.next_attempt_at <= now())
           or (m.status = 'sending' and (m.locked_until <= now() or (m.locked_epoch < s.lease_epoch and m.locked_by is distinct from p_connector))))
    order by m.next_attempt_at, m.created_at
    limit p_limit
    for update of m skip locked
  ), budgeted as (
    -- Window functions cannot sit next to FOR UPDATE; rows locked above but over the budget stay
    -- untouched and are unlocked when the claim commits.
    select c.id, c.lease_epoch,
           row_number() over w as n,
           sum(c.bytes) over w as running
    from candidates c
    window w as (order by c.next_attempt_at, c.created_at, c.id rows unbounded preceding)
  ), due as (
    select b.id, b.lease_epoch from budgeted b where b.n = 1 or b.running <= p_max_bytes
  )
  update public.messages m
  set status = 'sending', locked_by = p_connector, locked_epoch = due.lease_epoch,
      locked_until = now() + make_interval(secs => p_visibility_seconds),
      attempts = m.attempts + 1, sending_at = coalesce(m.sending_at, now())
  from due
  where m.id = due.id
  returning m.id, m.agent_id, due.lease_epoch, m.wa_message_id, m.recipient, m.type, m.content,
            m.attempts, m.max_attempts, m.created_at;
end;
$$;
comment on function gateway.claim_messages(uuid, integer, integer, uuid[], integer) is 'Claims due outbound messages of sessions the connector leases (FOR UPDATE SKIP LOCKED, visibility timeout), at most p_limit rows and p_max_bytes of content (always at least one row); expired locks come back, and so do locks another connector took under an older lease of the session.';

revoke all on function gateway.claim_messages(uuid, integer, integer, uuid[], integer) from public, anon, authenticated;
grant execute on function gateway.claim_messages(uuid, integer, integer, uuid[], integer) to service_role;
