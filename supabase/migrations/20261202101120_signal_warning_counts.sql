-- The seed's signal-warning monitor (002): libsignal's "Closing ... open session" and Baileys'
-- "waiting for message" warnings, counted per session and clock hour, with alerts when a session's
-- count in one hour reaches the warning and the critical threshold (SIGNAL_WARNINGS_WARN_PER_HOUR,
-- SIGNAL_WARNINGS_CRITICAL_PER_HOUR, passed by the connector). Connectors add their counts every
-- few seconds; the counts carry no key material (a kind and a number). Not fenced by the lease:
-- a warning a connector saw happened, whoever holds the session now.

create table private.signal_warning_counts (
  agent_id uuid not null references public.agents (id) on delete cascade,
  hour timestamptz not null,
  kind text not null check (kind in ('closing_open_session', 'waiting_for_message')),
  count integer not null check (count >= 0),
  primary key (agent_id, hour, kind)
);
comment on table private.signal_warning_counts is 'Signal-protocol warnings per session, clock hour and kind (seed 002''s monitor); purged by the retention job.';
create index signal_warning_counts_hour on private.signal_warning_counts (hour);
revoke all on private.signal_warning_counts from public, anon, authenticated;
grant select, insert, update, delete on private.signal_warning_counts to service_role;

create function gateway.record_signal_warnings(p_counts jsonb, p_warn integer, p_critical integer)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_hour timestamptz := date_trunc('hour', now());
  r record;
  v_before integer;
  v_after integer;
  v_alerts integer := 0;
  v_level text;
begin
  if jsonb_typeof(p_counts) is distinct from 'array' or p_warn is null or p_warn < 1 or p_critical is null or p_critical < p_warn then
    perform gateway.fail('invalid_argument', 'counts must be an array and 1 <= warn <= critical');
  end if;
  if exists (select 1 from jsonb_to_recordset(p_counts) as x(agent_id uuid, kind text, count integer)
             where x.agent_id is null or x.kind is null or x.kind not in ('closing_open_session', 'waiting_for_message')
                or x.count is null or x.count < 1) then
    perform gateway.fail('invalid_argument', 'each count needs an agent_id, a known kind and a positive count');
  end if;
  for r in
    select s.agent_id, s.owner_id, sum(x.count)::integer as n
    from jsonb_to_recordset(p_counts) as x(agent_id uuid, kind text, count integer)
    join public.whatsapp_sessions s on s.agent_id = x.agent_id
    group by s.agent_id, s.owner_id
    order by s.agent_id
  loop
    -- One writer per session at a time, so a threshold is crossed (and alerted) once.
    perform 1 from public.whatsapp_sessions s where s.agent_id = r.agent_id for update;
    select coalesce(sum(c.count), 0)::integer into v_before
    from private.signal_warning_counts c where c.agent_id = r.agent_id and c.hour = v_hour;
    insert into private.signal_warning_counts as c (agent_id, hour, kind, count)
    select r.agent_id, v_hour, x.kind, sum(x.count)
    from jsonb_to_recordset(p_counts) as x(agent_id uuid, kind text, count integer)
    where x.agent_id = r.agent_id
    group by x.kind
    on conflict (agent_id, hour, kind) do update set count = c.count + excluded.count;
    v_after := v_before + r.n;
    v_level := case when v_before < p_critical and v_after >= p_critical then 'critical'
                    when v_before < p_warn and v_after >= p_warn then 'warning' end;
    if v_level is not null then
      perform gateway.emit_event(r.owner_id, r.agent_id,
        case v_level when 'critical' then 'alert.signal_warnings_critical' else 'alert.signal_warnings_high' end, v_level,
        jsonb_build_object('count', v_after, 'hour', v_hour, 'thresholds', jsonb_build_object('warn', p_warn, 'critical', p_critical),
          'kinds', (select jsonb_object_agg(c.kind, c.count) from private.signal_warning_counts c where c.agent_id = r.agent_id and c.hour = v_hour)));
      v_alerts := v_alerts + 1;
    end if;
  end loop;
  return v_alerts;
end;
$$;
comment on function gateway.record_signal_warnings(jsonb, integer, integer) is 'Connector: adds [{agent_id, kind, count}] to this hour''s signal-warning counts; raises alert.signal_warnings_high / _critical when a session''s hour crosses p_warn / p_critical. Returns the alerts raised.';

create function gateway.purge_signal_warning_counts(p_days integer)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  v_count integer;
begin
  if p_days is null or p_days < 1 then
    perform gateway.fail('invalid_argument', 'counts are kept at least one day');
  end if;
  delete from private.signal_warning_counts c where c.hour < now() - make_interval(days => p_days);
  get diagnostics v_count = row_count;
  return v_count;
end;
$$;
comment on function gateway.purge_signal_warning_counts(integer) is 'Job (retention): deletes signal-warning counts older than p_days.';

create view ops.signal_warnings with (security_invoker = true) as
select c.agent_id, a.name as agent_name, c.hour, c.kind, c.count
from private.signal_warning_counts c join public.agents a on a.id = c.agent_id
order by c.hour desc, c.count desc;
comment on view ops.signal_warnings is 'Signal-protocol warnings per session, hour and kind, newest hour first.';

revoke all on ops.signal_warnings from public, anon, authenticated;
grant select on ops.signal_warnings to service_role;
revoke all on function gateway.record_signal_warnings(jsonb, integer, integer) from public, anon, authenticated;
revoke all on function gateway.purge_signal_warning_counts(integer) from public, anon, authenticated;
grant execute on function gateway.record_signal_warnings(jsonb, integer, integer) to service_role;
grant execute on function gateway.purge_signal_warning_counts(integer) to service_role;
