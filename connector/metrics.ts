// Prometheus metrics of one connector. A registry per connector (not prom-client's global one)
// so tests can run several connectors in one process. docs/monitoring.md documents each metric
// and alert; a test keeps docs/monitoring/ (dashboard, alert rules) to the names defined here.
//
// Names follow Prometheus conventions: the wa_gateway_ prefix, base units (_seconds), _total on
// counters, _timestamp_seconds for Unix times. Labels are small closed sets, except agent_id on
// the two per-agent gauges the seeds ask for (uptime per agent). A connector exports those only
// for the sessions it holds (at most its capacity), and drops them when a session leaves it, so
// 1,000 sessions over a fleet are about 2,000 series whatever the number of connectors: cheap.
// Counters per agent (disconnects by code per agent, sends per agent) are deliberately absent:
// each would multiply 1,000 agents by every label value and keep dead series after a session
// moves; per-agent history is in public.events and public.messages.
// wa_gateway_fleet_* gauges are read from the database at scrape time (fleet-stats.ts), the same
// value on every connector: aggregate them with max(), never sum().
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { DisconnectReason } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createFleetStats, type FleetStats } from './fleet-stats.ts';

const PREFIX = 'wa_gateway_';

/** What the per-agent gauges read at scrape time: the sessions this connector holds. */
export interface HeldSessions {
  holdings(): Array<{ agentId: string; state: string; status: string }>;
}

// nodejs_heap_size_used_bytes includes garbage not yet collected, so it climbs between major
// collections and a slope of it says little; the heap that survives a major collection is what a
// leak makes grow (bench:soak reads this). One observer per process, whatever the connectors in it.
let heapAfterMajorGc: number | undefined;
let gcObserver: PerformanceObserver | undefined;
function watchMajorGc(): void {
  if (gcObserver) return;
  gcObserver = new PerformanceObserver((list) => {
    const major = list.getEntries().some((e) => ((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR);
    if (major) heapAfterMajorGc = getHeapStatistics().used_heap_size;
  });
  gcObserver.observe({ entryTypes: ['gc'] });
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) {
    collectDefaultMetrics({ register: registry });
    watchMajorGc();
    new Gauge({
      name: `${PREFIX}heap_used_after_major_gc_bytes`,
      help: 'V8 heap in use right after the last major garbage collection (what a leak makes grow)',
      registers: [registry],
      collect() {
        if (heapAfterMajorGc !== undefined) this.set(heapAfterMajorGc);
      },
    });
  }
  const r = [registry];
  const n = (name: string) => PREFIX + name;
  const sessions = new SessionTransitions();
  let held: HeldSessions | undefined;
  let fleet: FleetStats | undefined;

  const metrics = {
    registry,
    // Read from the held sessions at scrape time, like the per-agent gauges: a status changed since
    // the last lease renewal shows at once.
    sessionsByStatus: new Gauge({
      name: n('sessions'),
      help: 'Sessions held by this connector, by status',
      labelNames: ['status'],
      registers: r,
      collect() {
        this.reset();
        const counts = new Map<string, number>();
        for (const { status } of held?.holdings() ?? []) counts.set(status, (counts.get(status) ?? 0) + 1);
        for (const [status, count] of counts) this.set({ status }, count);
      },
    }),
    sessionConnected: new Gauge({
      name: n('session_connected'),
      help: 'Per agent held by this connector: 1 while its socket is open, else 0 (uptime = avg_over_time)',
      labelNames: ['agent_id'],
      registers: r,
      collect() {
        this.reset();
        for (const s of sessions.visible(held)) this.set({ agent_id: s.agentId }, s.connected ? 1 : 0);
      },
    }),
    sessionTransition: new Gauge({
      name: n('session_last_transition_timestamp_seconds'),
      help: 'Per agent held by this connector: Unix time it last became connected or stopped being connected',
      labelNames: ['agent_id'],
      registers: r,
      collect() {
        this.reset();
        for (const s of sessions.visible(held)) this.set({ agent_id: s.agentId }, s.since / 1000);
      },
    }),
    connects: new Counter({ name: n('session_connects_total'), help: 'Sockets that reached open', registers: r }),
    disconnects: new Counter({
      name: n('session_disconnects_total'),
      help: 'Socket closes by close code, its Baileys DisconnectReason name, and what the connector did',
      labelNames: ['code', 'reason', 'action'],
      registers: r,
    }),
    reconnectSeconds: new Histogram({
      name: n('session_reconnect_duration_seconds'),
      help: 'Time to open: after="close" from a close of an open socket, after="claim" from the claim (first connect, linking)',
      labelNames: ['after'],
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers: r,
    }),
    leaseClaims: new Counter({ name: n('lease_claims_total'), help: 'Sessions claimed', registers: r }),
    leaseTakeovers: new Counter({ name: n('lease_takeovers_total'), help: 'Claims that took an expired lease from another connector', registers: r }),
    sessionsHandedBack: new Counter({ name: n('sessions_handed_back_total'), help: 'Sessions handed back to the fleet because this connector held more than its share', registers: r }),
    sessionShare: new Gauge({ name: n('session_share'), help: 'Sessions this connector should hold: its share of the fleet, as of the last claim round (rebalancing on)', registers: r }),
    leaseLosses: new Counter({
      name: n('lease_losses_total'),
      help: 'Leases lost (renewal refused, stale write, or self-fenced by our own clock)',
      labelNames: ['reason'],
      registers: r,
    }),
    heartbeatFailures: new Counter({ name: n('heartbeat_failures_total'), help: 'Lease renewals (the connector heartbeat) that failed with a database error', registers: r }),
    heartbeatLastSuccess: new Gauge({
      name: n('heartbeat_last_success_timestamp_seconds'),
      help: 'Unix time of the last lease renewal that reached the database (process start until the first)',
      registers: r,
    }),
    queueDepth: new Gauge({ name: n('outbound_queue_depth'), help: 'Outbound messages queued for sessions of this connector', registers: r }),
    queueAgeSeconds: new Gauge({ name: n('outbound_queue_oldest_age_seconds'), help: 'Age of the oldest queued outbound message', registers: r }),
    sendSeconds: new Histogram({
      name: n('message_send_duration_seconds'),
      help: 'Send latency (claim to acknowledged by WhatsApp)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: r,
    }),
    sendAttempts: new Counter({
      name: n('message_send_attempts_total'),
      help: 'Outbound send attempts by outcome (sent, retry, failed) and error code',
      labelNames: ['outcome', 'error_code'],
      registers: r,
    }),
    sendTimeouts: new Counter({ name: n('message_send_timeouts_total'), help: 'Send attempts WhatsApp did not acknowledge within the send timeout', registers: r }),
    webhookDeliveries: new Counter({
      name: n('webhook_deliveries_total'),
      help: 'Webhook delivery attempts by outcome (delivered, retry, dead)',
      labelNames: ['outcome'],
      registers: r,
    }),
    keyStoreOps: new Counter({
      name: n('key_store_operations_total'),
      help: 'Auth-state operations against Postgres',
      labelNames: ['op', 'outcome'],
      registers: r,
    }),
    signalKeys: new Gauge({ name: n('signal_keys'), help: 'Signal key rows of the sessions this connector holds, by type', labelNames: ['key_type'], registers: r }),
    signalKeyLevels: new Gauge({
      name: n('signal_key_sessions'),
      help: 'Sessions whose accumulating key rows passed a hygiene threshold (warn, prune, critical), set by the key-hygiene job',
      labelNames: ['level'],
      registers: r,
    }),
    signalWarnings: new Counter({
      name: n('signal_warnings_total'),
      help: 'libsignal/Baileys warnings of seed 002 (closing_open_session, waiting_for_message); attributed: session, or connector when no session was in scope',
      labelNames: ['kind', 'attributed'],
      registers: r,
    }),
    jobRuns: new Counter({ name: n('job_runs_total'), help: 'Scheduled job runs', labelNames: ['job', 'outcome'], registers: r }),

    /** A session's socket opened; `seconds` since the close (or the claim) it recovers from. */
    sessionOpened(agentId: string, seconds: number, after: 'close' | 'claim'): void {
      metrics.connects.inc();
      metrics.reconnectSeconds.observe({ after }, seconds);
      sessions.mark(agentId, true);
    },
    /** A session's socket closed with `code`; `action` is what the close policy decided. */
    sessionClosed(agentId: string, code: number | undefined, action: string): void {
      metrics.disconnects.inc({ code: closeCodeLabel(code), reason: closeReasonLabel(code), action });
      sessions.mark(agentId, false);
    },
    /** The outcome of one send attempt, as the outbound worker hands it to the writer. */
    sendOutcome(outcome: 'sent' | 'retry' | 'failed', errorCode?: string): void {
      metrics.sendAttempts.inc({ outcome, error_code: sendErrorLabel(errorCode) });
      if (errorCode === 'send_timeout') metrics.sendTimeouts.inc();
    },
    /** Binds the scrape-time sources: the sessions held (per-agent gauges) and the database (fleet gauges). */
    observe(deps: { sessions: HeldSessions; sql?: Sql; logger?: Logger }): void {
      held = deps.sessions;
      if (deps.sql && !fleet) fleet = createFleetStats({ sql: deps.sql, logger: deps.logger, registry, prefix: PREFIX });
    },
  };
  metrics.heartbeatLastSuccess.set(Date.now() / 1000);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Close codes with a label of their own: the ones Baileys names (anything else is `other`). */
const LABELLED_CODES = new Set<number>([
  DisconnectReason.loggedOut,
  DisconnectReason.forbidden,
  DisconnectReason.timedOut,
  DisconnectReason.multideviceMismatch,
  DisconnectReason.connectionClosed,
  DisconnectReason.connectionReplaced,
  DisconnectReason.badSession,
  DisconnectReason.unavailableService,
  DisconnectReason.restartRequired,
]);

/** The close-code label: the code itself for the ones that matter, else "other"/"none". */
export function closeCodeLabel(code: number | undefined): string {
  if (code === undefined) return 'none';
  return LABELLED_CODES.has(code) ? String(code) : 'other';
}

/** Baileys' name for a close code (408 is both connectionLost and timedOut; the enum maps it to the latter). */
export function closeReasonLabel(code: number | undefined): string {
  if (code === undefined) return 'none';
  const name = (DisconnectReason as unknown as Record<number, string | undefined>)[code];
  return name ?? 'other';
}

/** Error codes are ours (snake_case) or WhatsApp's numeric ack errors; anything else is "other". */
export function sendErrorLabel(code: string | undefined): string {
  if (code === undefined) return 'none';
  return /^[a-z][a-z_]{0,39}$/.test(code) || /^\d{3}$/.test(code) ? code : 'other';
}

/**
 * When each held session last changed between connected and not, by the wall clock. The session
 * list itself comes from the manager at scrape time, so a session that ended (lost, shut down,
 * terminal) disappears from the gauges without anyone telling this map.
 */
class SessionTransitions {
  private marks = new Map<string, { connected: boolean; since: number }>();

  mark(agentId: string, connected: boolean): void {
    const previous = this.marks.get(agentId);
    if (previous?.connected !== connected) this.marks.set(agentId, { connected, since: Date.now() });
  }

  visible(source: HeldSessions | undefined): Array<{ agentId: string; connected: boolean; since: number }> {
    if (!source) return [];
    const now = Date.now();
    const seen = new Set<string>();
    const out = source.holdings().map(({ agentId, state }) => {
      seen.add(agentId);
      const connected = state === 'open';
      let mark = this.marks.get(agentId);
      // Ended without a close event (restart command, a new claim of a session held before): from now.
      if (mark?.connected !== connected) {
        mark = { connected, since: now };
        this.marks.set(agentId, mark);
      }
      return { agentId, connected, since: mark.since };
    });
    for (const agentId of this.marks.keys()) if (!seen.has(agentId)) this.marks.delete(agentId);
    return out;
  }
}
