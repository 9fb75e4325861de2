/**
 * The README's configuration reference, generated from the connector's zod schemas
 * (connector/config.ts `envSchema`, connector/messages/config.ts `messagingEnvSchema`) so it cannot drift: names, required or default, and the
 * constraint come from the schema; this file adds one sentence per variable, and a test fails
 * when a variable has none or the README section is out of date.
 *
 *   npm run docs:config     rewrites the section between the config-reference markers
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { envSchema } from '../../connector/config.ts';
import { messagingEnvSchema } from '../../connector/messages/config.ts';
import { repoRoot } from '../db/migrate.ts';

export const DESCRIPTIONS: Record<string, string> = {
  DATABASE_URL: 'Direct Postgres connection (not the transaction pooler: the connector uses transactions and LISTEN). `SUPABASE_DB_URL` is used when unset.',
  CREDENTIALS_ENCRYPTION_KEY: 'AES-256-GCM key for creds and Signal keys. Only the connector and `npm run keys:rotate` hold it, never the edge function. No fallback: the process refuses to start without it.',
  CREDENTIALS_ENCRYPTION_KEY_VERSION: 'Version stored beside every creds and Signal-key ciphertext made with the current key.',
  CREDENTIALS_ENCRYPTION_OLD_KEYS: 'Older credentials keys, for reading during a rotation (`npm run keys:rotate`).',
  WEBHOOK_SECRETS_KEY: 'AES-256-GCM key for webhook signing secrets, shared with the edge function; must differ from `CREDENTIALS_ENCRYPTION_KEY`. No fallback.',
  WEBHOOK_SECRETS_KEY_VERSION: 'Version stored beside every webhook-secret ciphertext made with the current key.',
  WEBHOOK_SECRETS_OLD_KEYS: 'Older webhook keys, for reading during a rotation or the move off the credentials key (README "Rotating the encryption keys").',
  CONNECTOR_ID: 'Stable identity of this process; a new random id per start when unset.',
  CONNECTOR_HOSTNAME: 'Host name recorded with the leases it holds.',
  CONNECTOR_CAPACITY: 'Most sessions this connector holds at once.',
  CONNECTOR_LEASE_SECONDS: 'Lease length; a dead connector\'s sessions are taken over within it.',
  CONNECTOR_RENEW_INTERVAL_MS: 'How often all leases are renewed in one statement (default: a quarter of the lease).',
  CONNECTOR_SWEEP_INTERVAL_MS: 'Polling sweep for new work; wake-ups only shorten it.',
  CONNECTOR_CONNECT_CONCURRENCY: 'Sockets opened at once (limits the burst after a takeover).',
  CONNECTOR_SHUTDOWN_GRACE_MS: 'On SIGTERM/SIGINT, how long in-flight sends may finish before sockets end.',
  CONNECTOR_DB_POOL: 'Postgres connections of this process.',
  HTTP_PORT: '`/healthz`, `/readyz` and `/metrics` (Prometheus); 0 picks a free port.',
  HTTP_HOST: 'Interface for the health and metrics server.',
  LOG_LEVEL: 'pino level of the connector.',
  BAILEYS_LOG_LEVEL: 'pino level of Baileys itself.',
  WA_WEBSOCKET_URL: 'WhatsApp Web endpoint; only set it to use the simulator.',
  WA_VERSION: 'WhatsApp Web version announced at login, pinned (a stale one gets 405: update it deliberately).',
  WA_KEEPALIVE_MS: 'Keepalive ping interval (seeds: 20 s).',
  WA_CONNECT_TIMEOUT_MS: 'Connect timeout (seeds: 120 s); a timeout is retried with backoff.',
  WA_QUERY_TIMEOUT_MS: 'Timeout of WhatsApp queries.',
  WA_SEND_TIMEOUT_MS: 'Timeout of one send (seeds: 30 s).',
  WA_QR_MAX: 'QR codes shown per link attempt before `qr_timeout`.',
  WA_QR_TIMEOUT_MS: 'Optional overall deadline of a QR link attempt.',
  WA_SYNC_HISTORY: 'Ask the phone for chat history on linking.',
  BACKOFF_BASE_MS: 'First reconnect delay; doubles with full jitter.',
  BACKOFF_MAX_MS: 'Reconnect delay cap.',
  BACKOFF_STABLE_MS: 'A connection open this long resets the backoff.',
  CONFLICT_MAX_TRIES: 'Reconnects after 440 (replaced) before the session is marked `conflict`.',
  HEALTH_CONNECTED_MS: 'Health check interval of a connected socket (seeds: 60 s).',
  HEALTH_CONNECTING_MS: 'Health check interval while connecting (seeds: 30 s).',
  CREDS_SYNC_INTERVAL_MS: 'Periodic creds save, besides the save on every update (seeds: 5 min).',
  SUPABASE_URL: 'Use Supabase Realtime for wake-ups (otherwise LISTEN/NOTIFY on DATABASE_URL).',
  SUPABASE_SECRET_KEY: 'Secret key for Realtime; required with SUPABASE_URL.',
  SUPABASE_SERVICE_ROLE_KEY: 'Legacy alternative to SUPABASE_SECRET_KEY.',
  JOBS_ENABLED: 'Run the scheduled jobs (each runs on one connector at a time).',
  JOB_INACTIVE_CRON: 'Inactive-session check (cron).',
  JOB_KEY_HYGIENE_CRON: 'Signal key hygiene (cron).',
  JOB_LEASE_SWEEP_CRON: 'Expired-lease sweep (cron).',
  JOB_RETENTION_CRON: 'Retention of old events, messages, message bodies, number checks and idle rate-limit buckets (cron).',
  INACTIVE_DAYS: 'A session unused this long is flagged inactive (seeds: 7 days).',
  RETENTION_EVENTS_DAYS: 'Events older than this are deleted.',
  RETENTION_MESSAGES_DAYS: 'Delivered/read and inbound messages and number checks older than this are deleted; failed and sent-but-never-delivered messages keep their row but lose their content.',
  KEY_WARN_ROWS: 'Signal key rows of one session that raise a warning (seed: 120).',
  KEY_PRUNE_ROWS: 'Rows at which hygiene prunes, only while disconnected (seed: 150).',
  KEY_CRITICAL_ROWS: 'Rows that raise a critical alert (seed: 180).',
  KEY_BACKUP_RETENTION_DAYS: 'Days the backup of every Signal key cleanup (private.signal_key_backups) is kept before the retention job purges it.',
  SIGNAL_WARNINGS_WARN_PER_HOUR: 'libsignal/Baileys warnings of one session in one hour ("Closing ... open session", "waiting for message") that raise a warning.',
  SIGNAL_WARNINGS_CRITICAL_PER_HOUR: 'Such warnings of one session in one hour that raise a critical alert.',
  MESSAGES_CLAIM_BATCH: 'Most outbound messages claimed in one statement.',
  MESSAGES_CLAIM_MAX_BYTES: 'Most message content bytes claimed in one statement (at least one row is always taken); rows hold media references, never media bytes.',
  MESSAGES_VISIBILITY_SECONDS: 'A claimed message not completed within this comes back to the queue (a crashed connector\'s sends are retried with the same WhatsApp id).',
  MESSAGES_POLL_INTERVAL_MS: 'Outbound queue polling; a wake-up on a new message only shortens it.',
  MESSAGES_LANE_MAX: 'Most claimed messages waiting in one session\'s lane.',
  MESSAGES_MIN_INTERVAL_MS: 'Pacing: minimum time between two sends of one session.',
  MESSAGES_JITTER_MS: 'Pacing: random extra delay added to the minimum interval.',
  MESSAGES_RECIPIENT_INTERVAL_MS: 'Pacing: minimum time between two sends to the same recipient.',
  MESSAGES_RESTRICTED_SLOWDOWN_FACTOR: 'After a 463 (restricted), the session\'s intervals are multiplied by this…',
  MESSAGES_RESTRICTED_SLOWDOWN_MS: '…for this long.',
  MESSAGES_RETRY_BASE_MS: 'First retry delay of a transient send failure; doubles with jitter.',
  MESSAGES_RETRY_MAX_MS: 'Retry delay cap (the message fails after its max attempts).',
  MESSAGES_NUMBER_CHECK_TTL_MS: 'How long a recipient\'s "is on WhatsApp" answer is cached per session (a negative one a tenth of it).',
  MESSAGES_SEND_READ_RECEIPTS: 'Mark inbound messages read (blue ticks) when they are stored.',
  MEDIA_MAX_BYTES: 'Largest media fetched by URL or accepted inline; enforced while streaming.',
  MEDIA_FETCH_TIMEOUT_MS: 'Timeout of one media download.',
  MEDIA_ALLOW_HTTP: 'Allow plain http media URLs (https only by default). Private addresses stay refused.',
  MEDIA_RETENTION_INTERVAL_MS: 'How often uploads no queued or sending message needs are deleted from the media store.',
  MEDIA_RETENTION_GRACE_SECONDS: 'An upload is kept at least this long after it was (re-)registered, so an upload racing its enqueue is never deleted.',
  WEBHOOKS_ENABLED: 'Run the webhook dispatcher in this connector (any number of connectors may).',
  WEBHOOK_POLL_INTERVAL_MS: 'Outbox polling; a write in this process only shortens it.',
  WEBHOOK_CONCURRENCY: 'Deliveries in flight at once.',
  WEBHOOK_PER_ENDPOINT_IN_FLIGHT: 'Deliveries of one endpoint in flight at once across the fleet (one slow endpoint cannot take every slot).',
  WEBHOOK_TIMEOUT_MS: 'Timeout of one delivery POST.',
  WEBHOOK_VISIBILITY_SECONDS: 'A claimed delivery not completed within this is claimed again; must exceed the timeout.',
  WEBHOOK_BACKOFF_BASE_MS: 'First retry delay of a failed delivery; exponential with jitter.',
  WEBHOOK_BACKOFF_MAX_MS: 'Retry delay cap.',
  WEBHOOK_MAX_RETRY_AFTER_MS: 'Longest Retry-After honoured from a receiver.',
  WEBHOOK_ALLOW_HTTP: 'Allow plain http webhook URLs (https only by default). Private addresses stay refused.',
};

/** Read by the media store configuration (kernel/media/config.ts), API and connector alike. */
const MEDIA_STORE_ROWS = [
  ['MEDIA_STORE', 'required', '`supabase`, `folder`', 'Where base64 uploads are kept (queue rows hold a reference). `npm start` uses `folder` under its data directory.'],
  ['MEDIA_STORE_BUCKET', '`wa-gateway-media`', 'string', 'With `supabase`: the private Storage bucket (created by a migration where Storage exists).'],
  ['SUPABASE_SERVICE_ROLE_KEY', '—', 'string', 'With `supabase`: the key Storage accepts for the private bucket (`SUPABASE_SECRET_KEY` works too). Required then.'],
  ['MEDIA_STORE_DIR', '—', 'path', 'With `folder`: the directory. Required then.'],
];

/** Every variable the connector process reads through zod, connector and message path together. */
export function allConfigVariables(): string[] {
  return [...new Set([...Object.keys(envSchema.shape), ...Object.keys(messagingEnvSchema.shape)])].sort();
}

interface JsonProp {
  type?: string;
  default?: unknown;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  minLength?: number;
  /** Set with zod `.meta({ accepts })` where the JSON schema alone would say too little. */
  accepts?: string;
}

function constraint(p: JsonProp): string {
  if (p.accepts) return p.accepts;
  if (p.enum) return p.enum.map((v) => `\`${v}\``).join(', ');
  if (p.format === 'uuid') return 'UUID';
  if (p.format === 'uri') return 'URL';
  if (p.type === 'integer') return p.minimum !== undefined ? `integer ≥ ${p.minimum}` : 'integer';
  if (p.type === 'boolean') return 'boolean';
  if (p.pattern?.startsWith('^postgres')) return 'postgres:// URL';
  if (p.pattern?.startsWith('^wss?')) return 'ws:// or wss:// URL';
  if (p.pattern?.includes('\\d+\\.\\d+')) return 'x.y.z';
  if (p.pattern?.includes('\\S+( \\S+)')) return 'cron expression';
  return p.type ?? 'string';
}

export function renderConfigReference(): string {
  type Json = { properties: Record<string, JsonProp>; required?: string[] };
  const connector = z.toJSONSchema(envSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const messaging = z.toJSONSchema(messagingEnvSchema, { io: 'input', unrepresentable: 'any' }) as Json;
  const required = new Set([...(connector.required ?? []), ...(messaging.required ?? [])]);
  const properties = { ...messaging.properties, ...connector.properties };
  const ordered = [...Object.keys(connector.properties), ...Object.keys(messaging.properties).filter((k) => !(k in connector.properties))];
  const rows = ordered.map((name) => [name, properties[name]!] as const).map(([name, p]) => {
    const value = required.has(name) ? 'required' : p.default !== undefined ? `\`${p.default}\`` : '—';
    const text = DESCRIPTIONS[name];
    if (!text) throw new Error(`config reference: ${name} has no description in scripts/docs/config-reference.ts`);
    return `| \`${name}\` | ${value} | ${constraint(p)} | ${text} |`;
  });
  for (const [name, value, kind, text] of MEDIA_STORE_ROWS) rows.push(`| \`${name}\` | ${value} | ${kind} | ${text} |`);
  return ['| variable | default | accepts | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

export const START = '<!-- config-reference:start (generated by npm run docs:config) -->';
export const END = '<!-- config-reference:end -->';

export function readmeSection(readme: string): string | undefined {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  return a >= 0 && b > a ? readme.slice(a + START.length, b).trim() : undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const file = path.join(repoRoot, 'README.md');
  const readme = readFileSync(file, 'utf8');
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error('README.md has no config-reference markers');
  writeFileSync(file, `${readme.slice(0, a + START.length)}\n${renderConfigReference()}\n${readme.slice(b)}`);
  console.log('README.md configuration reference updated');
}
