-- Tenants do not see which connectors run their sessions (review finding 13, issue 16): the
-- tenant-visible `session.lease_takeover` event (public.events, Realtime, webhooks) carried the
-- ids of the connector that lost the lease and the one that took it, and the lease epoch, an
-- internal fencing token. The event now says only that a takeover happened; who took over from
-- whom goes to private.lease_takeovers, which operators read in ops.lease_takeovers beside the
-- connectors' host names and PIDs.

create table private.lease_takeovers (
  -- One row per takeover event; deleted with it (events retention keeps both bounded).
  event_id uuid primary key references public.events (id) on delete cascade,
  agent_id uuid not null,
  from_connector uuid not null,
  to_connector uuid not null,
  lease_epoch bigint not null,
  taken_at timestamptz not null default now()
);
comment on table private.lease_takeovers is 'Which connector took an expired lease from which, for operators (ops.lease_takeovers); the tenant-visible session.lease_takeover event carries none of it.';
create index lease_takeovers_taken_at_idx on private.lease_takeovers (taken_at desc);
revoke all on private.lease_takeovers from public, anon, authenticated;
grant select, insert, delete on private.lease_takeovers to service_role;

create or replace function private.record_takeover(p_owner uuid, p_agent uuid, p_from uuid, p_to uuid, p_epoch bigint)
returns void
language plpgsql
set search_path = ''
as $$
declare
  v_event uuid;
begin
  if p_from is not null then
    v_event := gateway.emit_event(p_owner, p_agent, 'session.lease_takeover', 'warning', '{}'::jsonb);
    insert into private.lease_takeovers (event_id, agent_id, from_connector, to_connector, lease_epoch)
    values (v_event, p_agent, p_from, p_to, p_epoch);
  end if;
end;
$$;
comment on function private.record_takeover(uuid, uuid, uuid, uuid, bigint) is 'Raises a session.lease_takeover event (no connector ids or epoch in its payload) when a claim took an expired lease from another connector, and records the connectors for operators in private.lease_takeovers.';

-- Events written before: keep their details for operators, then scrub them from the payload
-- (pending webhook deliveries read the payload at delivery time, so they are scrubbed too).
insert into private.lease_takeovers (event_id, agent_id, from_connector, to_connector, lease_epoch, taken_at)
select e.id, e.agent_id, (e.payload ->> 'from_connector')::uuid, (e.payload ->> 'to_connector')::uuid,
       (e.payload ->> 'lease_epoch')::bigint, e.created_at
from public.events e
where e.type = 'session.lease_takeover' and e.agent_id is not null
  and e.payload -> 'from_connector' is not null and e.payload -> 'to_connector' is not null and e.payload -> 'lease_epoch' is not null
on conflict (event_id) do nothing;
update public.events
set payload = payload - 'from_connector' - 'to_connector' - 'lease_epoch'
where type = 'session.lease_takeover'
  and (payload -> 'from_connector' is not null or payload -> 'to_connector' is not null or payload -> 'lease_epoch' is not null);

create view ops.lease_takeovers with (security_invoker = true) as
select t.taken_at, t.agent_id, a.name as agent_name, a.owner_id, t.lease_epoch,
       t.from_connector, f.hostname as from_hostname, f.pid as from_pid,
       t.to_connector, n.hostname as to_hostname, n.pid as to_pid, t.event_id
from private.lease_takeovers t
left join public.agents a on a.id = t.agent_id
left join private.connectors f on f.id = t.from_connector
left join private.connectors n on n.id = t.to_connector
order by t.taken_at desc;
comment on view ops.lease_takeovers is 'Lease takeovers, newest first: which connector (host, PID) lost each session and which took it, with the new lease epoch.';
revoke all on ops.lease_takeovers from public, anon, authenticated;
grant select on ops.lease_takeovers to service_role;
