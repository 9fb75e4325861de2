// Configuration, read once from the environment at start and validated with zod. A missing or
// malformed variable stops the process with a message naming it (ConfigError). Both encryption
// keyrings are built here too (required; never a random fallback): CREDENTIALS_ENCRYPTION_* for
// creds and Signal keys, WEBHOOK_SECRETS_* for webhook signing secrets — the edge function holds
// only the second, so the two keys must differ.
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { bothKeyringsFromEnv, ConfigError, type Keyring } from '../kernel/secret-box.ts';

export { ConfigError };

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
const cronExpr = (fallback: string) => z.string().regex(/^\S+( \S+){4,5}$/, 'must be a cron expression').default(fallback);

// WhatsApp Web version: pinned in config so an upgrade of Baileys never changes it silently.
// The default is the one Baileys 7.0.0-rc14 ships.
const DEFAULT_WA_VERSION = '2.3000.1043857760';

// A keyring's variables (secret-box.ts parses them exactly; zod makes the key required, names the
// variable when it is missing or malformed, and documents them).
const keyMaterial = z
  .string()
  .regex(/^\s*([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)\s*$/, 'must be 32 random bytes written as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)')
  .meta({ accepts: '32 bytes, hex or base64' });
const oldKeys = z.string().optional().meta({ accepts: '`version:key,…`' });

export const envSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL (the direct connection)'),
  CREDENTIALS_ENCRYPTION_KEY: keyMaterial,
  CREDENTIALS_ENCRYPTION_KEY_VERSION: int(1, 1),
  CREDENTIALS_ENCRYPTION_OLD_KEYS: oldKeys,
  WEBHOOK_SECRETS_KEY: keyMaterial,
  WEBHOOK_SECRETS_KEY_VERSION: int(1, 1),
  WEBHOOK_SECRETS_OLD_KEYS: oldKeys,
  CONNECTOR_ID: z.uuid().optional(),
  CONNECTOR_HOSTNAME: z.string().min(1).optional(),
  CONNECTOR_CAPACITY: int(0, 500),
  CONNECTOR_LEASE_SECONDS: int(3, 20),
  CONNECTOR_RENEW_INTERVAL_MS: z.coerce.number().int().min(100).optional(),
  CONNECTOR_SWEEP_INTERVAL_MS: int(100, 2_000),
  CONNECTOR_CONNECT_CONCURRENCY: int(1, 16),
  CONNECTOR_SHUTDOWN_GRACE_MS: int(0, 10_000),
  CONNECTOR_DB_POOL: int(2, 10),
  HTTP_PORT: int(0, 9464),
  HTTP_HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  BAILEYS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
  WA_WEBSOCKET_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL').optional(),
  WA_VERSION: z.string().regex(/^\d+\.\d+\.\d+$/, 'must look like 2.3000.123').default(DEFAULT_WA_VERSION),
  WA_KEEPALIVE_MS: int(1_000, 20_000),
  WA_CONNECT_TIMEOUT_MS: int(1_000, 120_000),
  WA_QUERY_TIMEOUT_MS: int(1_000, 120_000),
  WA_SEND_TIMEOUT_MS: int(1_000, 30_000),
  WA_QR_MAX: int(1, 3),
  WA_QR_TIMEOUT_MS: z.coerce.number().int().min(1_000).optional(),
  WA_SYNC_HISTORY: bool(false),
  BACKOFF_BASE_MS: int(1, 1_000),
  BACKOFF_MAX_MS: int(1, 30_000),
  BACKOFF_STABLE_MS: int(0, 60_000),
  CONFLICT_MAX_TRIES: int(1, 3),
  HEALTH_CONNECTED_MS: int(100, 60_000),
  HEALTH_CONNECTING_MS: int(100, 30_000),
  CREDS_SYNC_INTERVAL_MS: int(1_000, 300_000),
  SUPABASE_URL: z.url().optional(),
  SUPABASE_SECRET_KEY: z.string().min(1).optional(),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
  JOBS_ENABLED: bool(true),
  JOB_INACTIVE_CRON: cronExpr('15 3 * * *'),
  JOB_KEY_HYGIENE_CRON: cronExpr('0 * * * *'),
  JOB_LEASE_SWEEP_CRON: cronExpr('* * * * *'),
  JOB_RETENTION_CRON: cronExpr('45 3 * * *'),
  INACTIVE_DAYS: int(1, 7),
  RETENTION_EVENTS_DAYS: int(1, 30),
  RETENTION_MESSAGES_DAYS: int(1, 30),
  KEY_WARN_ROWS: int(1, 120),
  KEY_PRUNE_ROWS: int(1, 150),
  KEY_CRITICAL_ROWS: int(1, 180),
  KEY_BACKUP_RETENTION_DAYS: int(1, 30),
  SIGNAL_WARNINGS_WARN_PER_HOUR: int(1, 10),
  SIGNAL_WARNINGS_CRITICAL_PER_HOUR: int(1, 30),
});

export interface ConnectorConfig {
  connectorId: string;
  hostname: string;
  version: string;
  databaseUrl: string;
  dbPool: number;
  capacity: number;
  leaseSeconds: number;
  renewIntervalMs: number;
  sweepIntervalMs: number;
  connectConcurrency: number;
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
    sendTimeoutMs: number;
    qrMax: number;
    qrTimeoutMs?: number;
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
  };
  keyThresholds: { warn: number; prune: number; critical: number };
  keyBackupRetentionDays: number;
  signalWarningThresholds: { warnPerHour: number; criticalPerHour: number };
  /** Creds and Signal keys (CREDENTIALS_ENCRYPTION_*): session code only. */
  keyring: Keyring;
  /** Webhook signing secrets (WEBHOOK_SECRETS_*): the webhook dispatcher only. */
  webhookKeyring: Keyring;
}

export const CONNECTOR_VERSION = '0.1.0';

/** Parses and validates the environment; throws ConfigError naming the first bad variable. */
export async function loadConfig(env: Record<string, string | undefined> = process.env): Promise<ConnectorConfig> {
  // Empty strings count as unset, so `FOO=` in an env file means "use the default".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  if (!cleaned.DATABASE_URL && cleaned.SUPABASE_DB_URL) cleaned.DATABASE_URL = cleaned.SUPABASE_DB_URL;
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    throw new ConfigError(variable, issue.code === 'invalid_type' && cleaned[variable] === undefined ? 'is required' : issue.message);
  }
  const e = parsed.data;
  const { credentials: keyring, webhookSecrets: webhookKeyring } = await bothKeyringsFromEnv(cleaned);
  if (e.SUPABASE_URL && !(e.SUPABASE_SECRET_KEY ?? e.SUPABASE_SERVICE_ROLE_KEY)) {
    throw new ConfigError('SUPABASE_SECRET_KEY', 'is required when SUPABASE_URL is set (Realtime wake-ups)');
  }
  if (!(e.KEY_WARN_ROWS <= e.KEY_PRUNE_ROWS && e.KEY_PRUNE_ROWS <= e.KEY_CRITICAL_ROWS)) {
    throw new ConfigError('KEY_PRUNE_ROWS', 'thresholds must satisfy KEY_WARN_ROWS <= KEY_PRUNE_ROWS <= KEY_CRITICAL_ROWS');
  }
  if (e.SIGNAL_WARNINGS_WARN_PER_HOUR > e.SIGNAL_WARNINGS_CRITICAL_PER_HOUR) {
    throw new ConfigError('SIGNAL_WARNINGS_CRITICAL_PER_HOUR', 'must be at least SIGNAL_WARNINGS_WARN_PER_HOUR');
  }
  const leaseMs = e.CONNECTOR_LEASE_SECONDS * 1000;
  const renewIntervalMs = e.CONNECTOR_RENEW_INTERVAL_MS ?? Math.floor(leaseMs / 4);
  if (renewIntervalMs * 2 >= leaseMs) {
    throw new ConfigError('CONNECTOR_RENEW_INTERVAL_MS', 'must be less than half the lease, or one slow renewal loses every session');
  }
  const [major, minor, patch] = e.WA_VERSION.split('.').map(Number) as [number, number, number];
  return {
    connectorId: e.CONNECTOR_ID ?? randomUUID(),
    hostname: e.CONNECTOR_HOSTNAME ?? hostname(),
    version: CONNECTOR_VERSION,
    databaseUrl: e.DATABASE_URL,
    dbPool: e.CONNECTOR_DB_POOL,
    capacity: e.CONNECTOR_CAPACITY,
    leaseSeconds: e.CONNECTOR_LEASE_SECONDS,
    renewIntervalMs,
    sweepIntervalMs: e.CONNECTOR_SWEEP_INTERVAL_MS,
    connectConcurrency: e.CONNECTOR_CONNECT_CONCURRENCY,
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
      sendTimeoutMs: e.WA_SEND_TIMEOUT_MS,
      qrMax: e.WA_QR_MAX,
      qrTimeoutMs: e.WA_QR_TIMEOUT_MS,
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
    },
    keyThresholds: { warn: e.KEY_WARN_ROWS, prune: e.KEY_PRUNE_ROWS, critical: e.KEY_CRITICAL_ROWS },
    keyBackupRetentionDays: e.KEY_BACKUP_RETENTION_DAYS,
    signalWarningThresholds: { warnPerHour: e.SIGNAL_WARNINGS_WARN_PER_HOUR, criticalPerHour: e.SIGNAL_WARNINGS_CRITICAL_PER_HOUR },
    keyring,
    webhookKeyring,
  };
}
