// Fleet-wide gauges, read from the database when Prometheus scrapes a connector: what no single
// connector sees (sessions nobody holds, how long a session has been down across takeovers) and
// what happens outside the connector (failed authentications in the API).
//
// Failed authentications: the API runs as Supabase Edge Functions, which Prometheus cannot scrape
// (short-lived isolates, no /metrics). It already records every failure that reaches the database
// in a token bucket per client address (private.rate_limit_buckets, key `authfail:<address>`,
// touched only on a failure), so the connector reports from those rows how many addresses failed
// recently and how many are refused right now, at no cost on the API's request path. A flood from
// one address stops touching its bucket once the API's in-memory limiter refuses it, so these are
// client counts, not request counts.
//
// One statement, at most every maxAgeMs (scrapes in between share it), bounded by timeoutMs so a
// slow database cannot hang a scrape; on failure the previous values stay and an error counter
// moves. Every connector reports the same values: aggregate with max(), never sum().
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type FleetRow, fleetStats } from './sql/fleet.ts';

export interface FleetStats {
  read(): Promise<FleetValues>;
}

export type FleetValues = FleetRow;

const EMPTY: FleetValues = { wanted: 0, connected: 0, unowned: 0, longest_disconnect: 0, oldest_heartbeat: 0, auth_failing: 0, auth_blocked: 0 };

export function createFleetStats(opts: { sql: Sql; registry: Registry; prefix: string; logger?: Logger; maxAgeMs?: number; timeoutMs?: number }): FleetStats {
  const { sql, registry, prefix } = opts;
  const maxAgeMs = opts.maxAgeMs ?? 10_000;
  const timeoutMs = opts.timeoutMs ?? 3_000;
  let last: FleetValues = EMPTY;
  let readAt = Number.NEGATIVE_INFINITY;
  let pending: Promise<FleetValues> | undefined;
  const errors = new Counter({ name: `${prefix}fleet_stats_errors_total`, help: 'Scrape-time fleet queries that failed or timed out', registers: [registry] });

  async function query(): Promise<FleetValues> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`fleet stats query took over ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const row = await Promise.race([fleetStats(sql), timeout]);
      return { ...EMPTY, ...(row as Partial<FleetValues>) };
    } finally {
      clearTimeout(timer);
    }
  }

  const stats: FleetStats = {
    read() {
      if (performance.now() - readAt < maxAgeMs) return Promise.resolve(last);
      pending ??= query()
        .then((values) => {
          last = values;
          readAt = performance.now();
          return values;
        })
        .catch((error) => {
          errors.inc();
          opts.logger?.warn({ err: error }, 'fleet metrics query failed; keeping the previous values');
          return last;
        })
        .finally(() => {
          pending = undefined;
        });
      return pending;
    },
  };

  const gauge = (name: string, help: string, key: keyof FleetValues) =>
    new Gauge({
      name: prefix + name,
      help,
      registers: [registry],
      async collect() {
        this.set((await stats.read())[key]);
      },
    });
  gauge('fleet_sessions_wanted', 'Sessions whose owner wants them connected (agent not disabled)', 'wanted');
  gauge('fleet_sessions_connected', 'Wanted sessions whose status is connected', 'connected');
  gauge('fleet_sessions_unowned', 'Wanted sessions no connector holds a live lease on', 'unowned');
  gauge('fleet_longest_disconnect_seconds', 'Longest time a wanted, once-linked session has been disconnected, connecting or reconnecting', 'longest_disconnect');
  gauge('fleet_oldest_heartbeat_age_seconds', 'Longest time since the lease of a wanted session was last renewed', 'oldest_heartbeat');
  gauge('fleet_auth_failing_clients', 'Client addresses with a failed API authentication in the last 5 minutes', 'auth_failing');
  gauge('fleet_auth_blocked_clients', 'Client addresses the failed-authentication limit refuses right now', 'auth_blocked');
  return stats;
}
