// The webhook dispatcher: works the outbox (public.webhook_deliveries). Any connector may run
// it; rows are shared out by gateway.claim_deliveries (FOR UPDATE SKIP LOCKED + visibility
// timeout), so two dispatchers never hold one row and a crashed one's rows come back.
//
// The loop, in plain words (its timing is connector/poll-loop.ts's):
//   idle       wait for the poll interval, or less when nudged (an event we just committed, a
//              free slot, written outcomes); a nudge during a claim claims again right after it.
//   claim      one call claims up to (concurrency − in flight) due rows, endpoint by endpoint:
//              at most perEndpoint of one endpoint in flight across the fleet, endpoints in
//              turn, disabled endpoints skipped (so one slow tenant cannot take every slot).
//   deliver    each row on its own: open the endpoint's secret(s) (cached; two during a
//              rotation's overlap), build the JSON body, sign it (Standard Webhooks), POST it
//              through the SSRF guard with a 10 s timeout, classify the answer:
//                2xx                                   → delivered
//                network error, timeout, 5xx, 408, 429 → retry after exponential backoff with
//                                                        jitter, or the receiver's Retry-After
//                other 3xx/4xx, refused URL            → dead (no retry)
//              SQL turns a retry into dead once attempts reach max_attempts.
//   complete   outcomes are written by gateway.complete_deliveries as soon as no write of them is
//              in progress; those that end meanwhile wait for it and go in the next statement
//              together (no timer: a delivering row holds one of its endpoint's fleet-wide slots
//              until its outcome is written, so a batching delay capped an endpoint at
//              perEndpoint / (POST + delay) deliveries a second). The SQL only touches rows this
//              connector still holds (a row whose claim expired and went to someone else is left
//              alone: that delivery may arrive twice, which is why receivers dedupe on the event id).
//   If a claim came back full, claim again at once instead of waiting; a failed claim backs off.
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { associatedData, type Keyring, openText } from '../../kernel/secret-box.ts';
import { openEventPayload } from '../messages/content-at-rest.ts';
import { type Clock, systemClock } from '../clock.ts';
import { GuardError, type UrlGuard } from '../net/guard.ts';
import { createPollLoop } from '../poll-loop.ts';
import { type ClaimedDelivery as Claimed, claimDeliveries, completeDeliveries } from '../sql/webhooks.ts';
import { backoffMs, type RetryPolicy, retryAfterMs } from './backoff.ts';
import { signedHeaders } from './signature.ts';

export interface WebhookDispatcherConfig extends RetryPolicy {
  pollIntervalMs: number;
  /** Deliveries in flight at once (also the claim size). */
  concurrency: number;
  /** Deliveries of one endpoint in flight at once across the whole fleet. */
  perEndpoint: number;
  visibilitySeconds: number;
  timeoutMs: number;
}

export const DEFAULT_WEBHOOK_CONFIG: WebhookDispatcherConfig = {
  pollIntervalMs: 1_000,
  concurrency: 16,
  perEndpoint: 8,
  visibilitySeconds: 30,
  timeoutMs: 10_000,
  baseMs: 10_000,
  maxMs: 3_600_000,
  maxRetryAfterMs: 3_600_000,
};

export interface WebhookDispatcherDeps {
  sql: Sql;
  connectorId: string;
  /** The webhook keyring (WEBHOOK_SECRETS_*), never the credentials one. */
  keyring: Keyring;
  /** Opens inbound content sealed for encrypted tenants (MESSAGE_CONTENT_*), so receivers get plaintext. */
  contentKeyring?: Keyring;
  guard: UrlGuard;
  config?: Partial<WebhookDispatcherConfig>;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  /** Each delivery attempt's outcome (metrics). */
  onOutcome?: (outcome: Outcome['outcome']) => void;
}

export interface WebhookDispatcher {
  start(): void;
  /** Claim now rather than at the next poll (a hint; polling always runs). */
  nudge(): void;
  /** One claim-deliver-complete round; resolves when its outcomes are written. For tests. */
  runOnce(): Promise<number>;
  /** Stop claiming, wait for in-flight deliveries and write their outcomes. */
  stop(): Promise<void>;
}

type Outcome = { id: string; outcome: 'delivered' | 'retry' | 'dead'; status_code?: number; error?: string; retry_at?: string };

export function createWebhookDispatcher(deps: WebhookDispatcherDeps): WebhookDispatcher {
  const { sql, connectorId, keyring, guard, logger } = deps;
  const config = { ...DEFAULT_WEBHOOK_CONFIG, ...deps.config };
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const log = logger.child({ module: 'webhooks' });
  const opened = new Map<string, string>();
  const inFlight = new Set<Promise<void>>();
  let buffer: Outcome[] = [];
  /** The write of buffered outcomes in progress, if any. */
  let writing: Promise<void> | undefined;

  async function open(endpointId: string, ciphertext: Uint8Array, keyVersion: number): Promise<string> {
    const cacheKey = `${endpointId}:${keyVersion}:${Buffer.from(ciphertext).toString('base64')}`;
    const cached = opened.get(cacheKey);
    if (cached) return cached;
    const plain = await openText(keyring, ciphertext, keyVersion, associatedData.webhookSecret(endpointId));
    if (opened.size > 1000) opened.clear();
    opened.set(cacheKey, plain);
    return plain;
  }

  /** The current secret, then the previous one while a rotation's overlap lasts. */
  async function secretsOf(row: Claimed): Promise<string[]> {
    if (!row.secret_ciphertext || row.secret_key_version === null) throw new Error('endpoint has no signing secret');
    const out = [await open(row.endpoint_id, row.secret_ciphertext, row.secret_key_version)];
    if (row.previous_ciphertext && row.previous_key_version !== null) out.push(await open(row.endpoint_id, row.previous_ciphertext, row.previous_key_version));
    return out;
  }

  function retry(row: Claimed, fields: { status_code?: number; error: string }, afterMs?: number): Outcome {
    const delay = afterMs ?? backoffMs(config, row.attempts, random);
    return { id: row.delivery_id, outcome: 'retry', ...fields, retry_at: new Date(clock.wall() + delay).toISOString() };
  }

  async function deliver(row: Claimed): Promise<Outcome> {
    let secrets: string[];
    try {
      secrets = await secretsOf(row);
    } catch (error) {
      // Most likely a key missing from this connector's keyring: worth retrying (another
      // connector, or this one after a config fix), and visible in last_error meanwhile.
      log.error({ deliveryId: row.delivery_id, endpointId: row.endpoint_id, err: (error as Error).message }, 'webhook secret cannot be opened');
      return retry(row, { error: 'signing secret cannot be opened by this connector' });
    }
    let data: unknown;
    try {
      data = await openEventPayload(deps.contentKeyring, row.agent_id, row.payload);
    } catch (error) {
      // Sealed content is never posted as it is: retry (another connector, or this one with the key).
      log.error({ deliveryId: row.delivery_id, eventId: row.event_id, err: (error as Error).message }, 'message content of a webhook cannot be opened');
      return retry(row, { error: 'message content cannot be opened by this connector' });
    }
    const body = JSON.stringify({
      id: row.event_id,
      type: row.event_type,
      createdAt: new Date(row.event_created_at).toISOString(),
      agentId: row.agent_id,
      data,
    });
    const timestamp = Math.floor(clock.wall() / 1000);
    const headers = signedHeaders({ eventId: row.event_id, eventType: row.event_type, deliveryId: row.delivery_id, attempt: row.attempts, timestamp, body, secrets });
    try {
      const res = await guard.request(row.url, { method: 'POST', headers, body, timeoutMs: config.timeoutMs, maxBytes: 2048, truncate: true });
      const s = res.status;
      if (s >= 200 && s < 300) return { id: row.delivery_id, outcome: 'delivered', status_code: s };
      const error = `HTTP ${s}${res.body.length ? `: ${res.body.toString('utf8').slice(0, 200)}` : ''}`;
      if (s === 408 || s === 429 || s >= 500) return retry(row, { status_code: s, error }, retryAfterMs(res.headers['retry-after'], clock.wall(), config));
      return { id: row.delivery_id, outcome: 'dead', status_code: s, error: s < 400 ? `${error} (redirects are not followed)` : error };
    } catch (error) {
      if (error instanceof GuardError && !error.retryable) return { id: row.delivery_id, outcome: 'dead', error: `refused: ${error.message}` };
      return retry(row, { error: error instanceof Error ? error.message : String(error) });
    }
  }

  function record(outcome: Outcome): void {
    buffer.push(outcome);
    void flush();
  }

  /** Writes every buffered outcome; resolves when none is left unwritten (or failed). */
  function flush(): Promise<void> {
    if (!writing && buffer.length > 0) writing = writeOutcomes();
    return writing ?? Promise.resolve();
  }

  async function writeOutcomes(): Promise<void> {
    // Deliveries that end in the same turn of the event loop share the statement.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (buffer.length > 0) {
      const batch = buffer;
      buffer = [];
      try {
        const n = await completeDeliveries(sql, { connector: connectorId, results: batch });
        // Fewer rows than outcomes: their claims expired and went elsewhere; nothing to undo.
        if (n < batch.length) log.warn({ written: n, outcomes: batch.length }, 'some delivery outcomes arrived after their claim expired');
        // Those rows no longer count against their endpoint's cap: claim again now, not at the next poll.
        if (n > 0) loop.nudge();
      } catch (error) {
        // The rows stay claimed until their visibility timeout, then come back: at least once.
        log.error({ err: error, outcomes: batch.length }, 'writing delivery outcomes failed');
      }
    }
    writing = undefined;
  }

  async function claimAndDeliver(): Promise<number> {
    const room = config.concurrency - inFlight.size;
    if (room <= 0) return 0;
    const rows = await claimDeliveries(sql, { connector: connectorId, limit: room, visibilitySeconds: config.visibilitySeconds, perEndpoint: config.perEndpoint });
    for (const row of rows) {
      const task = deliver(row)
        .catch((error): Outcome => retry(row, { error: String(error) }))
        .then((outcome) => {
          if (outcome.outcome !== 'delivered') {
            log.info({ deliveryId: row.delivery_id, eventType: row.event_type, attempt: row.attempts, outcome: outcome.outcome, status: outcome.status_code, error: outcome.error }, 'webhook delivery failed');
          }
          deps.onOutcome?.(outcome.outcome);
          record(outcome);
        })
        .finally(() => {
          inFlight.delete(task);
          loop.nudge(); // a slot is free
        });
      inFlight.add(task);
    }
    return rows.length;
  }

  const loop = createPollLoop({
    name: 'claiming webhook deliveries',
    fetch: async () => {
      const room = config.concurrency - inFlight.size;
      return room > 0 && (await claimAndDeliver()) === room;
    },
    intervalMs: config.pollIntervalMs,
    logger: log,
  });

  return {
    start: loop.start,
    nudge: loop.nudge,
    async runOnce() {
      const n = await claimAndDeliver();
      await Promise.all(inFlight);
      await flush();
      return n;
    },
    async stop() {
      await loop.stop();
      await Promise.all(inFlight);
      await flush();
    },
  };
}
