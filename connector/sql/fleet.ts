// The fleet-wide gauges read at scrape time (connector/fleet-stats.ts). An aggregate over several
// tables, typed by hand.
import type { Db } from './types.ts';

export interface FleetRow {
  wanted: number;
  connected: number;
  unowned: number;
  longest_disconnect: number;
  oldest_heartbeat: number;
  auth_failing: number;
  auth_blocked: number;
}

/** Sessions that want a socket (connected, unowned, longest down, oldest heartbeat) and failing API clients. */
export async function fleetStats(sql: Db): Promise<FleetRow | undefined> {
  const [row] = await sql<FleetRow[]>`
    with wanted as (
      select s.status, s.status_changed_at, s.last_connected_at, s.lease_until, s.last_heartbeat_at
      from public.whatsapp_sessions s join public.agents a on a.id = s.agent_id
      where s.desired_state = 'connected' and a.disabled_at is null
    ), auth as (
      select b.updated_at,
        least(b.capacity::float8, b.tokens + extract(epoch from now() - b.updated_at) * b.refill_per_second) as tokens_now
      from private.rate_limit_buckets b
      where b.updated_at > now() - interval '1 hour' and b.key like 'authfail:%'
    )
    select
      (select count(*) from wanted)::int as wanted,
      (select count(*) from wanted where status = 'connected')::int as connected,
      (select count(*) from wanted where lease_until is null or lease_until < now())::int as unowned,
      (select coalesce(max(extract(epoch from now() - status_changed_at)), 0) from wanted
        where last_connected_at is not null and status in ('disconnected', 'connecting', 'reconnecting'))::float8 as longest_disconnect,
      (select coalesce(max(extract(epoch from now() - last_heartbeat_at)), 0) from wanted where last_heartbeat_at is not null)::float8 as oldest_heartbeat,
      (select count(*) from auth where updated_at > now() - interval '5 minutes')::int as auth_failing,
      (select count(*) from auth where tokens_now < 1)::int as auth_blocked`;
  return row;
}
