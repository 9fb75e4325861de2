// Prometheus metrics of one connector. A registry per connector (not prom-client's global one)
// so tests can run several connectors in one process.
import { DisconnectReason } from '@whiskeysockets/baileys';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry });
  const r = [registry];
  return {
    registry,
    sessionsByStatus: new Gauge({ name: 'wa_sessions', help: 'Sessions held by this connector, by status', labelNames: ['status'], registers: r }),
    connects: new Counter({ name: 'wa_connects_total', help: 'Sockets that reached open', registers: r }),
    disconnects: new Counter({
      name: 'wa_disconnects_total',
      help: 'Socket closes by close code (401 and 440 are their own labels)',
      labelNames: ['code', 'action'],
      registers: r,
    }),
    reconnectSeconds: new Histogram({
      name: 'wa_reconnect_seconds',
      help: 'From a close (or a claim) to open again',
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120],
      registers: r,
    }),
    leaseClaims: new Counter({ name: 'wa_lease_claims_total', help: 'Sessions claimed', registers: r }),
    leaseTakeovers: new Counter({ name: 'wa_lease_takeovers_total', help: 'Claims that took an expired lease from another connector', registers: r }),
    leaseLosses: new Counter({
      name: 'wa_lease_losses_total',
      help: 'Leases lost (renewal refused, stale write, or self-fenced by our own clock)',
      labelNames: ['reason'],
      registers: r,
    }),
    heartbeatFailures: new Counter({ name: 'wa_heartbeat_failures_total', help: 'Lease renewals that failed (database error)', registers: r }),
    queueDepth: new Gauge({ name: 'wa_queue_depth', help: 'Outbound messages queued for sessions of this connector', registers: r }),
    queueAgeSeconds: new Gauge({ name: 'wa_queue_oldest_age_seconds', help: 'Age of the oldest queued outbound message', registers: r }),
    sendSeconds: new Histogram({
      name: 'wa_send_seconds',
      help: 'Send latency (claim to accepted by WhatsApp)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: r,
    }),
    keyStoreOps: new Counter({
      name: 'wa_key_store_operations_total',
      help: 'Auth-state operations against Postgres',
      labelNames: ['op', 'outcome'],
      registers: r,
    }),
    signalKeys: new Gauge({ name: 'wa_signal_keys', help: 'Signal key rows of the sessions this connector holds, by type', labelNames: ['key_type'], registers: r }),
    signalKeyLevels: new Gauge({
      name: 'wa_signal_key_sessions',
      help: 'Sessions whose accumulating key rows passed a hygiene threshold (warn, prune, critical)',
      labelNames: ['level'],
      registers: r,
    }),
    jobRuns: new Counter({ name: 'wa_job_runs_total', help: 'Scheduled job runs', labelNames: ['job', 'outcome'], registers: r }),
  };
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
