// The connector's configuration: one zod schema (`envSchema`) for every variable the process
// reads, each with its description (the README reference is generated from it: npm run
// docs:config), read once at start. A missing or malformed variable stops the process with a
// message naming it (ConfigError). Both encryption keyrings are built here too (required; never a
// random fallback): CREDENTIALS_ENCRYPTION_* for creds and Signal keys, WEBHOOK_SECRETS_* for
// webhook signing secrets — the edge function holds only the second, so the two keys must differ.
// A third, MESSAGE_CONTENT_*, is optional: it is needed once a tenant keeps content encrypted
// (connector.ts refuses to start without it then), and must differ from the credentials key.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { ACCEPTS_KEY, ACCEPTS_OLD_KEYS, bool, cleanEnv, type EnvMap, int, keyMaterial, logLevel, optionalInt, parseEnv } from '../kernel/env-schema.ts';
import { mediaStoreEnvShape } from '../kernel/media/config.ts';
import { PRIVATE_URLS_VARIABLE, privateUrlsRefusal } from '../kernel/private-urls.ts';
import { bothKeyringsFromEnv, ConfigError, currentKeyFromEnv, KEYRING_PREFIX, type Keyring, keyringFromEnv } from '../kernel/secret-box.ts';
import { type AlertEmailConfig, alertEmailConfig, alertEmailEnvShape } from './alerts/config.ts';
import type { OutboundConfig } from './messages/outbound-worker.ts';
import type { WebhookDispatcherConfig } from './webhooks/dispatcher.ts';

export { ConfigError };

const cronExpr = (fallback: string) => z.string().regex(/^\S+( \S+){4,5}$/, 'must be a cron expression').default(fallback);

// WhatsApp Web version: pinned in config so an upgrade of Baileys never changes it silently.
// The default is the one Baileys 7.0.0-rc14 ships.
const DEFAULT_WA_VERSION = '2.3000.1043857760';

export const envSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (the direct connection)').describe('Direct Postgres connection (not the transaction pooler: the connector uses transactions and LISTEN). `SUPABASE_DB_URL` is used when unset.'),
  CREDENTIALS_ENCRYPTION_KEY: keyMaterial().meta({ accepts: ACCEPTS_KEY, description: 'AES-256-GCM key for creds and Signal keys. Only the connector and `npm run keys:rotate` hold it, never the edge function. No fallback: the process refuses to start without it.' }),
  CREDENTIALS_ENCRYPTION_KEY_VERSION: int(1, 1).describe('Version stored beside every creds and Signal-key ciphertext made with the current key.'),
  CREDENTIALS_ENCRYPTION_OLD_KEYS: z.string().optional().meta({ accepts: ACCEPTS_OLD_KEYS, description: 'Older credentials keys, for reading during a rotation (`npm run keys:rotate`).' }),
  WEBHOOK_SECRETS_KEY: keyMaterial().meta({ accepts: ACCEPTS_KEY, description: 'AES-256-GCM key for webhook signing secrets, shared with the edge function; must differ from `CREDENTIALS_ENCRYPTION_KEY`. No fallback.' }),
  WEBHOOK_SECRETS_KEY_VERSION: int(1, 1).describe('Version stored beside every webhook-secret ciphertext made with the current key.'),
  WEBHOOK_SECRETS_OLD_KEYS: z.string().optional().meta({ accepts: ACCEPTS_OLD_KEYS, description: 'Older webhook keys, for reading during a rotation or the move off the credentials key (README "Rotating the encryption keys").' }),
  MESSAGE_CONTENT_KEY: keyMaterial().optional().meta({ accepts: ACCEPTS_KEY, description: 'AES-256-GCM key for the message content of tenants whose content policy is `encrypted` (opened to send, sealed when inbound content is stored, opened for webhooks); the same key as the edge function\'s, and it must differ from `CREDENTIALS_ENCRYPTION_KEY`. Optional until a tenant chooses `encrypted`: then the connector refuses to start without it.' }),
  MESSAGE_CONTENT_KEY_VERSION: int(1, 1).describe('Version stored beside every content ciphertext made with the current key.'),
  MESSAGE_CONTENT_OLD_KEYS: z.string().optional().meta({ accepts: ACCEPTS_OLD_KEYS, description: 'Older content keys, for reading content sealed before a rotation (keep them until retention has removed that content).' }),
  CONNECTOR_ID: z.uuid().optional().describe('Stable identity of this process; a new random id per start when unset.'),
  CONNECTOR_HOSTNAME: z.string().min(1).optional().describe('Host name recorded with the leases it holds.'),
  CONNECTOR_CAPACITY: int(0, 500).describe('Most sessions this connector holds at once (also after a failover); registered, so the fleet\'s share accounts for it.'),
  CONNECTOR_REBALANCE: bool(true).describe('Keep the fleet even: while other connectors are live, claim only up to this connector\'s share (the sessions wanting a socket over the live connectors, each at most its capacity; `gateway.session_share`) and hand back what is over it, so a connector that restarted gets its part back. A dead connector\'s sessions are still taken at once, up to capacity. During a key rollout a peer counts only for the sessions whose key versions it holds (`CONNECTOR_ENCRYPTION_KEYS`), so no session waits on a connector that cannot open it. `false`: claim up to `CONNECTOR_CAPACITY` and never hand back.'),
  CONNECTOR_REBALANCE_TOLERANCE_PERCENT: int(0, 10).describe('Sessions are handed back only once this connector holds more than its share plus this percentage of it, rounded up (so at least one session unless 0); then down to the share. 0: any session over the share is handed back (the share is a ceiling, so the fleet still settles).'),
  CONNECTOR_REBALANCE_BATCH: int(1, 10).describe('Most sessions handed back at once (each: sends in flight finish, the socket closes, received messages are stored, then the lease is released).'),
  CONNECTOR_REBALANCE_INTERVAL_MS: int(100, 2_000).describe('Least time between two hand-back batches (with the batch, the pace at which a restarted connector gets its part back, so WhatsApp sees no burst of logins).'),
  CONNECTOR_LEASE_SECONDS: int(3, 20).describe('Lease length; a dead connector\'s sessions are taken over within it.'),
  CONNECTOR_RENEW_INTERVAL_MS: optionalInt(100).describe('How often all leases are renewed in one statement (default: a quarter of the lease).'),
  CONNECTOR_SWEEP_INTERVAL_MS: int(100, 2_000).describe('Polling sweep for new work; wake-ups only shorten it.'),
  CONNECTOR_CONNECT_CONCURRENCY: int(1, 16).describe('Sockets opened at once (limits the burst after a takeover).'),
  CONNECTOR_CONNECT_INTERVAL_MS: int(0, 40).describe('Least time between two new WhatsApp sockets of this connector (first connect, reconnect, restart after pairing): after a restart or takeover the logins reach WhatsApp as an even stream, 25 per second by default (1,000 sessions in 40 s), not a burst. 0: no pacing.'),
  CONNECTOR_SHUTDOWN_GRACE_MS: int(0, 10_000).describe('On SIGTERM/SIGINT, how long in-flight sends may finish before sockets end.'),
  CONNECTOR_DB_POOL: int(2, 10).describe('Postgres connections of this process.'),
  HTTP_PORT: int(0, 9464).describe('`/healthz`, `/readyz` and `/metrics` (Prometheus); 0 picks a free port.'),
  HTTP_HOST: z.string().default('0.0.0.0').describe('Interface for the health and metrics server.'),
  LOG_LEVEL: logLevel('info').describe('pino level of the connector.'),
  BAILEYS_LOG_LEVEL: logLevel('warn').describe('pino level of Baileys itself.'),
  WA_WEBSOCKET_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL').optional().describe('WhatsApp Web endpoint; only set it to use the simulator.'),
  WA_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/, 'must look like 2.3000.123').default(DEFAULT_WA_VERSION).describe('WhatsApp Web version announced at login, pinned (a stale one gets 405: update it deliberately).'),
  WA_KEEPALIVE_MS: int(1_000, 20_000).describe('Keepalive ping interval (seeds: 20 s).'),
  WA_CONNECT_TIMEOUT_MS: int(1_000, 120_000).describe('Connect timeout (seeds: 120 s); a timeout is retried with backoff.'),
  WA_QUERY_TIMEOUT_MS: int(1_000, 120_000).describe('Timeout of WhatsApp queries.'),
  WA_SEND_TIMEOUT_MS: int(1_000, 30_000).describe('Timeout of one send (seeds: 30 s).'),
  WA_QR_MAX: int(1, 3).describe('QR codes shown per link attempt before `qr_timeout`.'),
  WA_QR_TIMEOUT_MS: int(1_000, 180_000).describe('Overall deadline of a link attempt, from its first QR code (or pairing code) until linked; then `qr_timeout` (seeds: 3 min). The `WA_QR_MAX` codes share it: each is shown for `WA_QR_TIMEOUT_MS / WA_QR_MAX`.'),
  // Not the seed's 500 ms: Baileys serialises these requests behind the pause, and with 500 ms the
  // crash test (tests/connector/messages-crash.slow.test.ts) lost a message after a kill -9 in 6 of
  // 8 runs (requests queued behind each other were dropped when a socket closed); at Baileys' own
  // 250 ms it passed every run (2 here, and the previous release's 3 CI runs, which used it).
  WA_RETRY_REQUEST_DELAY_MS: int(0, 250).describe('Pause before asking a contact\'s device to resend a message this session could not decrypt (Baileys serialises these requests behind it). 250 ms, Baileys\' default; the seed\'s 500 ms lost messages after crashes in our crash test.'),
  WA_SYNC_HISTORY: bool(false).describe('Ask the phone for chat history on linking.'),
  BACKOFF_BASE_MS: int(1, 1_000).describe('First reconnect delay; doubles with full jitter.'),
  BACKOFF_MAX_MS: int(1, 30_000).describe('Reconnect delay cap.'),
  BACKOFF_STABLE_MS: int(0, 60_000).describe('A connection open this long resets the backoff.'),
  CONFLICT_MAX_TRIES: int(1, 3).describe('Reconnects after 440 (replaced) before the session is marked `conflict`.'),
  HEALTH_CONNECTED_MS: int(100, 60_000).describe('Health check interval of a connected socket (seeds: 60 s).'),
  HEALTH_CONNECTING_MS: int(100, 30_000).describe('Health check interval while connecting (seeds: 30 s).'),
  CREDS_SYNC_INTERVAL_MS: int(1_000, 300_000).describe('Periodic creds save, besides the save on every update (seeds: 5 min).'),
  SUPABASE_URL: z.url().optional().describe('Use Supabase Realtime for wake-ups (otherwise LISTEN/NOTIFY on DATABASE_URL); the project of the media store with `MEDIA_STORE=supabase`.'),
  SUPABASE_SECRET_KEY: z.string().min(1).optional().describe('Secret key for Realtime (required with SUPABASE_URL), and for the media store with `MEDIA_STORE=supabase`.'),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional().describe('Legacy alternative to SUPABASE_SECRET_KEY (Realtime, and the media store with `MEDIA_STORE=supabase`).'),
  JOBS_ENABLED: bool(true).describe('Run the scheduled jobs (each runs on one connector at a time).'),
  JOB_INACTIVE_CRON: cronExpr('15 3 * * *').describe('Inactive-session check (cron).'),
  JOB_KEY_HYGIENE_CRON: cronExpr('0 * * * *').describe('Signal key hygiene (cron).'),
  JOB_LEASE_SWEEP_CRON: cronExpr('* * * * *').describe('Expired-lease sweep (cron).'),
  JOB_RETENTION_CRON: cronExpr('45 3 * * *').describe('Retention of old events, messages, message bodies, number checks and idle rate-limit buckets (cron).'),
  INACTIVE_DAYS: int(1, 7).describe('A session unused this long is flagged inactive (seeds: 7 days).'),
  RETENTION_EVENTS_DAYS: int(1, 30).describe('Events older than this are deleted.'),
  RETENTION_AUDIT_LOG_DAYS: int(1, 365).describe('Audit log entries older than this are deleted by the retention job (`gateway.prune_audit_log`, the only way entries leave; it records that it did).'),
  RETENTION_MESSAGES_DAYS: int(1, 30).describe('Delivered/read and inbound messages and number checks older than this are deleted; failed and sent-but-never-delivered messages keep their row but lose their content.'),
  KEY_WARN_ROWS: int(1, 120).describe('Signal key rows of one session that raise a warning (seed: 120).'),
  KEY_PRUNE_ROWS: int(1, 150).describe('Rows at which hygiene prunes, only while disconnected (seed: 150).'),
  KEY_CRITICAL_ROWS: int(1, 180).describe('Rows that raise a critical alert (seed: 180).'),
  KEY_BACKUP_RETENTION_DAYS: int(1, 30).describe('Copies of deleted Signal keys (every cleanup backs up what it deletes, still encrypted) are kept this long; `ops.restore_signal_keys` puts a cleanup back within it.'),
  SIGNAL_WARNINGS_WARN_PER_HOUR: int(1, 10).describe('libsignal "Closing session" and Baileys "timed out waiting for message" lines of one session per clock hour that raise `alert.signal_warnings_high`.'),
  SIGNAL_WARNINGS_CRITICAL_PER_HOUR: int(1, 30).describe('…and `alert.signal_warnings_critical`.'),
  // The message path (outbound queue, inbound, media) and the webhook dispatcher.
  MESSAGES_CLAIM_BATCH: int(1, 50).describe('Most outbound messages claimed in one statement.'),
  MESSAGES_CLAIM_MAX_BYTES: int(1, 1024 * 1024).describe('Most message content bytes claimed in one statement (at least one row is always taken); rows hold media references, never media bytes.'),
  MESSAGES_VISIBILITY_SECONDS: int(10, 120).describe('A claimed message not completed within this comes back to the queue (a crashed connector\'s sends are retried with the same WhatsApp id).'),
  MESSAGES_POLL_INTERVAL_MS: int(50, 1_000).describe('Outbound queue polling; a wake-up on a new message only shortens it.'),
  MESSAGES_LANE_MAX: int(1, 20).describe('Most claimed messages waiting in one session\'s lane.'),
  MESSAGES_MIN_INTERVAL_MS: int(0, 1_000).describe('Pacing: minimum time between two sends of one session.'),
  MESSAGES_JITTER_MS: int(0, 1_000).describe('Pacing: random extra delay added to the minimum interval.'),
  MESSAGES_RECIPIENT_INTERVAL_MS: int(0, 3_000).describe('Pacing: minimum time between two sends to the same recipient.'),
  MESSAGES_RESTRICTED_SLOWDOWN_FACTOR: int(1, 4).describe('After a 463 (restricted), the session\'s intervals are multiplied by this…'),
  MESSAGES_RESTRICTED_SLOWDOWN_MS: int(0, 600_000).describe('…for this long.'),
  MESSAGES_RETRY_BASE_MS: int(100, 5_000).describe('First retry delay of a transient send failure; doubles with jitter.'),
  MESSAGES_RETRY_MAX_MS: int(100, 300_000).describe('Retry delay cap (the message fails after its max attempts).'),
  MESSAGES_NUMBER_CHECK_TTL_MS: int(0, 86_400_000).describe('How long a recipient\'s "is on WhatsApp" answer is cached per session (a negative one a tenth of it).'),
  MESSAGES_SEND_READ_RECEIPTS: bool(false).describe('Mark inbound messages read (blue ticks) when they are stored.'),
  MEDIA_MAX_BYTES: int(1, 10 * 1024 * 1024).describe('Largest media fetched by URL or read back from the media store; enforced while streaming. 10 MiB by default, the seed\'s limit, as for base64 uploads (`GATEWAY_MAX_MEDIA_BYTES`).'),
  MEDIA_FETCH_TIMEOUT_MS: int(100, 20_000).describe('Timeout of one media download.'),
  MEDIA_ALLOW_HTTP: bool(false).describe('Allow plain http media URLs (https only by default). Private addresses stay refused.'),
  MEDIA_RETENTION_INTERVAL_MS: int(1_000, 600_000).describe('How often uploads no queued or sending message needs are deleted from the media store.'),
  MEDIA_RETENTION_GRACE_SECONDS: int(0, 3_600).describe('An upload is kept at least this long after it was (re-)registered, so an upload racing its enqueue is never deleted.'),
  WEBHOOKS_ENABLED: bool(true).describe('Run the webhook dispatcher in this connector (any number of connectors may).'),
  WEBHOOK_POLL_INTERVAL_MS: int(50, 1_000).describe('Outbox polling; a write in this process only shortens it.'),
  WEBHOOK_CONCURRENCY: int(1, 16).describe('Deliveries in flight at once.'),
  WEBHOOK_PER_ENDPOINT_IN_FLIGHT: int(1, 8).describe('Deliveries of one endpoint in flight at once across the fleet (one slow endpoint cannot take every slot).'),
  WEBHOOK_TIMEOUT_MS: int(100, 10_000).describe('Timeout of one delivery POST.'),
  WEBHOOK_VISIBILITY_SECONDS: int(5, 30).describe('A claimed delivery not completed within this is claimed again; must exceed the timeout.'),
  WEBHOOK_BACKOFF_BASE_MS: int(10, 10_000).describe('First retry delay of a failed delivery; exponential with jitter.'),
  WEBHOOK_BACKOFF_MAX_MS: int(10, 3_600_000).describe('Retry delay cap.'),
  WEBHOOK_MAX_RETRY_AFTER_MS: int(0, 3_600_000).describe('Longest Retry-After honoured from a receiver.'),
  WEBHOOK_ALLOW_HTTP: bool(false).describe('Allow plain http webhook URLs (https only by default). Private addresses stay refused.'),
  GATEWAY_ALLOW_HTTP_MEDIA: bool(false).describe('The API\'s name for `MEDIA_ALLOW_HTTP`; either allows http media URLs here, so one environment serves both processes.'),
  GATEWAY_ALLOW_HTTP_WEBHOOKS: bool(false).describe('The API\'s name for `WEBHOOK_ALLOW_HTTP`; either allows http webhook URLs here.'),
  GATEWAY_ALLOW_PRIVATE_URLS: bool(false).describe('Development only: webhooks and media may reach loopback and private addresses (cloud metadata, link-local and reserved addresses stay refused). Printed loudly at start; refused unless `DATABASE_URL` is local.'),
  ...mediaStoreEnvShape,
  ...alertEmailEnvShape,
});

export interface MessagingConfig {
  outbound: OutboundConfig;
  sendReadReceipts: boolean;
  media: { maxBytes: number; timeoutMs: number; allowHttp: boolean; retentionIntervalMs: number; retentionGraceSeconds: number };
  webhooks: WebhookDispatcherConfig & { enabled: boolean; allowHttp: boolean };
}

export interface ConnectorConfig {
  connectorId: string;
  hostname: string;
  version: string;
  databaseUrl: string;
  dbPool: number;
  capacity: number;
  /** Keeping the fleet even (CONNECTOR_REBALANCE*): connector/sessions/manager.ts. */
  rebalance: { enabled: boolean; tolerancePercent: number; batch: number; intervalMs: number };
  leaseSeconds: number;
  renewIntervalMs: number;
  sweepIntervalMs: number;
  connectConcurrency: number;
  connectIntervalMs: number;
  shutdownGraceMs: number;
  http: { port: number; host: string };
  logLevel: string;
  baileysLogLevel: string;
  whatsapp: {
    websocketUrl?: string;
    version: [number, number, number];
    keepAliveMs: number;
    connectTimeoutMs: number;
    queryTimeoutMs: number;
    qrMax: number;
    qrTimeoutMs: number;
    retryRequestDelayMs: number;
    syncHistory: boolean;
  };
  backoff: { baseMs: number; maxMs: number; stableMs: number };
  conflictMaxTries: number;
  health: { connectedMs: number; connectingMs: number };
  credsSyncIntervalMs: number;
  realtime?: { url: string; key: string };
  jobs: {
    enabled: boolean;
    inactiveCron: string;
    keyHygieneCron: string;
    leaseSweepCron: string;
    retentionCron: string;
    inactiveDays: number;
    retentionEventsDays: number;
    retentionMessagesDays: number;
    retentionAuditLogDays: number;
  };
  keyThresholds: { warn: number; prune: number; critical: number };
  /** The message path and the webhook dispatcher (connector/messages, connector/webhooks). */
  messaging: MessagingConfig;
  /** GATEWAY_ALLOW_PRIVATE_URLS: webhooks and media may reach private addresses (development; local database only). */
  allowPrivateUrls: boolean;
  keyBackupRetentionDays: number;
  signalWarningThresholds: { warnPerHour: number; criticalPerHour: number };
  /** Alerts by email (ALERT_*): undefined when ALERT_SMTP_URL is unset. */
  alertEmail?: AlertEmailConfig;
  /** Creds and Signal keys (CREDENTIALS_ENCRYPTION_*): session code only. */
  keyring: Keyring;
  /** Webhook signing secrets (WEBHOOK_SECRETS_*): the webhook dispatcher only. */
  webhookKeyring: Keyring;
  /** Message content of encrypted tenants (MESSAGE_CONTENT_*): the message path only; unset until a tenant needs it. */
  contentKeyring?: Keyring;
}

export const CONNECTOR_VERSION = '0.1.0';

/** Parses and validates the environment; throws ConfigError naming the first bad variable. */
export async function loadConfig(env: EnvMap = process.env): Promise<ConnectorConfig> {
  const cleaned = cleanEnv(env);
  if (!cleaned.DATABASE_URL && cleaned.SUPABASE_DB_URL) cleaned.DATABASE_URL = cleaned.SUPABASE_DB_URL;
  const e = parseEnv(envSchema, cleaned);
  const { credentials: keyring, webhookSecrets: webhookKeyring } = await bothKeyringsFromEnv(cleaned);
  const contentKeyring = e.MESSAGE_CONTENT_KEY ? await contentKeyringOf(cleaned) : undefined;
  if (e.SUPABASE_URL && !(e.SUPABASE_SECRET_KEY ?? e.SUPABASE_SERVICE_ROLE_KEY)) {
    throw new ConfigError('SUPABASE_SECRET_KEY', 'is required when SUPABASE_URL is set (Realtime wake-ups)');
  }
  if (!(e.KEY_WARN_ROWS <= e.KEY_PRUNE_ROWS && e.KEY_PRUNE_ROWS <= e.KEY_CRITICAL_ROWS)) {
    throw new ConfigError('KEY_PRUNE_ROWS', 'thresholds must satisfy KEY_WARN_ROWS <= KEY_PRUNE_ROWS <= KEY_CRITICAL_ROWS');
  }
  const privateRefusal = e.GATEWAY_ALLOW_PRIVATE_URLS ? privateUrlsRefusal(e.DATABASE_URL, 'DATABASE_URL') : null;
  if (privateRefusal) throw new ConfigError(PRIVATE_URLS_VARIABLE, privateRefusal);
  if (e.SIGNAL_WARNINGS_WARN_PER_HOUR > e.SIGNAL_WARNINGS_CRITICAL_PER_HOUR) {
    throw new ConfigError('SIGNAL_WARNINGS_CRITICAL_PER_HOUR', 'must be at least SIGNAL_WARNINGS_WARN_PER_HOUR');
  }
  const leaseMs = e.CONNECTOR_LEASE_SECONDS * 1000;
  const renewIntervalMs = e.CONNECTOR_RENEW_INTERVAL_MS ?? Math.floor(leaseMs / 4);
  if (renewIntervalMs * 2 >= leaseMs) {
    throw new ConfigError('CONNECTOR_RENEW_INTERVAL_MS', 'must be less than half the lease, or one slow renewal loses every session');
  }
  if (e.WEBHOOK_TIMEOUT_MS >= e.WEBHOOK_VISIBILITY_SECONDS * 1000) {
    throw new ConfigError('WEBHOOK_VISIBILITY_SECONDS', 'must be longer than WEBHOOK_TIMEOUT_MS, or a slow receiver gets the event twice');
  }
  if (e.WA_SEND_TIMEOUT_MS + 5_000 >= e.MESSAGES_VISIBILITY_SECONDS * 1000) {
    throw new ConfigError('MESSAGES_VISIBILITY_SECONDS', 'must exceed WA_SEND_TIMEOUT_MS by more than 5 s');
  }
  const [major, minor, patch] = e.WA_VERSION.split('.').map(Number) as [number, number, number];
  return {
    connectorId: e.CONNECTOR_ID ?? randomUUID(),
    hostname: e.CONNECTOR_HOSTNAME ?? hostname(),
    version: CONNECTOR_VERSION,
    databaseUrl: e.DATABASE_URL,
    dbPool: e.CONNECTOR_DB_POOL,
    capacity: e.CONNECTOR_CAPACITY,
    rebalance: { enabled: e.CONNECTOR_REBALANCE, tolerancePercent: e.CONNECTOR_REBALANCE_TOLERANCE_PERCENT, batch: e.CONNECTOR_REBALANCE_BATCH, intervalMs: e.CONNECTOR_REBALANCE_INTERVAL_MS },
    leaseSeconds: e.CONNECTOR_LEASE_SECONDS,
    renewIntervalMs,
    sweepIntervalMs: e.CONNECTOR_SWEEP_INTERVAL_MS,
    connectConcurrency: e.CONNECTOR_CONNECT_CONCURRENCY,
    connectIntervalMs: e.CONNECTOR_CONNECT_INTERVAL_MS,
    shutdownGraceMs: e.CONNECTOR_SHUTDOWN_GRACE_MS,
    http: { port: e.HTTP_PORT, host: e.HTTP_HOST },
    logLevel: e.LOG_LEVEL,
    baileysLogLevel: e.BAILEYS_LOG_LEVEL,
    whatsapp: {
      websocketUrl: e.WA_WEBSOCKET_URL,
      version: [major, minor, patch],
      keepAliveMs: e.WA_KEEPALIVE_MS,
      connectTimeoutMs: e.WA_CONNECT_TIMEOUT_MS,
      queryTimeoutMs: e.WA_QUERY_TIMEOUT_MS,
      qrMax: e.WA_QR_MAX,
      qrTimeoutMs: e.WA_QR_TIMEOUT_MS,
      retryRequestDelayMs: e.WA_RETRY_REQUEST_DELAY_MS,
      syncHistory: e.WA_SYNC_HISTORY,
    },
    backoff: { baseMs: e.BACKOFF_BASE_MS, maxMs: e.BACKOFF_MAX_MS, stableMs: e.BACKOFF_STABLE_MS },
    conflictMaxTries: e.CONFLICT_MAX_TRIES,
    health: { connectedMs: e.HEALTH_CONNECTED_MS, connectingMs: e.HEALTH_CONNECTING_MS },
    credsSyncIntervalMs: e.CREDS_SYNC_INTERVAL_MS,
    realtime: e.SUPABASE_URL ? { url: e.SUPABASE_URL, key: (e.SUPABASE_SECRET_KEY ?? e.SUPABASE_SERVICE_ROLE_KEY)! } : undefined,
    jobs: {
      enabled: e.JOBS_ENABLED,
      inactiveCron: e.JOB_INACTIVE_CRON,
      keyHygieneCron: e.JOB_KEY_HYGIENE_CRON,
      leaseSweepCron: e.JOB_LEASE_SWEEP_CRON,
      retentionCron: e.JOB_RETENTION_CRON,
      inactiveDays: e.INACTIVE_DAYS,
      retentionEventsDays: e.RETENTION_EVENTS_DAYS,
      retentionMessagesDays: e.RETENTION_MESSAGES_DAYS,
      retentionAuditLogDays: e.RETENTION_AUDIT_LOG_DAYS,
    },
    keyThresholds: { warn: e.KEY_WARN_ROWS, prune: e.KEY_PRUNE_ROWS, critical: e.KEY_CRITICAL_ROWS },
    messaging: messagingConfig(e),
    allowPrivateUrls: e.GATEWAY_ALLOW_PRIVATE_URLS,
    keyBackupRetentionDays: e.KEY_BACKUP_RETENTION_DAYS,
    signalWarningThresholds: { warnPerHour: e.SIGNAL_WARNINGS_WARN_PER_HOUR, criticalPerHour: e.SIGNAL_WARNINGS_CRITICAL_PER_HOUR },
    alertEmail: alertEmailConfig(e),
    keyring,
    webhookKeyring,
    contentKeyring,
  };
}

/** The edge function holds the content key: the same bytes as the credentials key would let it open every session's creds. */
async function contentKeyringOf(env: EnvMap): Promise<Keyring> {
  const content = currentKeyFromEnv(env, KEYRING_PREFIX.messageContent);
  const credentials = currentKeyFromEnv(env, KEYRING_PREFIX.credentials);
  if (content.every((byte, i) => byte === credentials[i])) {
    throw new ConfigError(`${KEYRING_PREFIX.messageContent}_KEY`, `must differ from ${KEYRING_PREFIX.credentials}_KEY (the edge function holds it)`);
  }
  return keyringFromEnv(env, KEYRING_PREFIX.messageContent);
}

function messagingConfig(e: z.output<typeof envSchema>): MessagingConfig {
  return {
    outbound: {
      claimBatch: e.MESSAGES_CLAIM_BATCH,
      claimMaxBytes: e.MESSAGES_CLAIM_MAX_BYTES,
      visibilitySeconds: e.MESSAGES_VISIBILITY_SECONDS,
      pollIntervalMs: e.MESSAGES_POLL_INTERVAL_MS,
      sendTimeoutMs: e.WA_SEND_TIMEOUT_MS,
      laneMax: e.MESSAGES_LANE_MAX,
      pacing: {
        minIntervalMs: e.MESSAGES_MIN_INTERVAL_MS,
        jitterMs: e.MESSAGES_JITTER_MS,
        recipientIntervalMs: e.MESSAGES_RECIPIENT_INTERVAL_MS,
        slowdownFactor: e.MESSAGES_RESTRICTED_SLOWDOWN_FACTOR,
        slowdownMs: e.MESSAGES_RESTRICTED_SLOWDOWN_MS,
      },
      retryBaseMs: e.MESSAGES_RETRY_BASE_MS,
      retryMaxMs: e.MESSAGES_RETRY_MAX_MS,
      numberCheckTtlMs: e.MESSAGES_NUMBER_CHECK_TTL_MS,
    },
    sendReadReceipts: e.MESSAGES_SEND_READ_RECEIPTS,
    media: {
      maxBytes: e.MEDIA_MAX_BYTES,
      timeoutMs: e.MEDIA_FETCH_TIMEOUT_MS,
      // The API's name works here too, so one environment serves both.
      allowHttp: e.MEDIA_ALLOW_HTTP || e.GATEWAY_ALLOW_HTTP_MEDIA,
      retentionIntervalMs: e.MEDIA_RETENTION_INTERVAL_MS,
      retentionGraceSeconds: e.MEDIA_RETENTION_GRACE_SECONDS,
    },
    webhooks: {
      enabled: e.WEBHOOKS_ENABLED,
      allowHttp: e.WEBHOOK_ALLOW_HTTP || e.GATEWAY_ALLOW_HTTP_WEBHOOKS,
      pollIntervalMs: e.WEBHOOK_POLL_INTERVAL_MS,
      concurrency: e.WEBHOOK_CONCURRENCY,
      perEndpoint: e.WEBHOOK_PER_ENDPOINT_IN_FLIGHT,
      visibilitySeconds: e.WEBHOOK_VISIBILITY_SECONDS,
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      baseMs: e.WEBHOOK_BACKOFF_BASE_MS,
      maxMs: e.WEBHOOK_BACKOFF_MAX_MS,
      maxRetryAfterMs: e.WEBHOOK_MAX_RETRY_AFTER_MS,
    },
  };
}
