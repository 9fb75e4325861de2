// Building real connectors for tests and benchmarks: config from an env map (the same parser
// main.ts uses), composed like main.ts composes one (connector/compose.ts: a Postgres pool per
// connector, real Baileys sockets pointed at the simulator), with a captured log.
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type postgres from 'postgres';
import { composeConnector } from '../../connector/compose.ts';
import { type ConnectorConfig, loadConfig } from '../../connector/config.ts';
import type { Connector, ExtensionFactory } from '../../connector/connector.ts';

export const TEST_KEY_HEX = randomBytes(32).toString('hex');
export const TEST_WEBHOOK_KEY_HEX = randomBytes(32).toString('hex');

/** Env for a connector against `dbUrl` and (optionally) a simulator at `wsUrl`, fast timings. */
export function testEnv(dbUrl: string, wsUrl?: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: dbUrl,
    CREDENTIALS_ENCRYPTION_KEY: TEST_KEY_HEX,
    WEBHOOK_SECRETS_KEY: TEST_WEBHOOK_KEY_HEX,
    CONNECTOR_ID: randomUUID(),
    CONNECTOR_LEASE_SECONDS: '4',
    CONNECTOR_RENEW_INTERVAL_MS: '500',
    CONNECTOR_SWEEP_INTERVAL_MS: '300',
    CONNECTOR_DB_POOL: '4',
    BACKOFF_BASE_MS: '100',
    BACKOFF_MAX_MS: '800',
    BACKOFF_STABLE_MS: '2000',
    WA_CONNECT_TIMEOUT_MS: '10000',
    WA_KEEPALIVE_MS: '20000',
    HEALTH_CONNECTED_MS: '1000',
    HEALTH_CONNECTING_MS: '1000',
    JOBS_ENABLED: 'false',
    LOG_LEVEL: 'debug',
    BAILEYS_LOG_LEVEL: 'warn',
    HTTP_PORT: '0',
    ...(wsUrl ? { WA_WEBSOCKET_URL: wsUrl } : {}),
    ...overrides,
  };
}

/** Collects every log line (JSON text) so tests can assert on logs and on what never appears. */
export class LogCapture extends Writable {
  lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  text(): string {
    return this.lines.join('\n');
  }
}

export interface TestConnector {
  connector: Connector;
  config: ConnectorConfig;
  sql: postgres.Sql;
  logs: LogCapture;
  stop(): Promise<number>;
  /** As if the process died: sockets end, no lease released, pool closed. */
  crash(): Promise<void>;
}

/** Without `extensions`, the connector runs without the message path (session tests). */
export async function startTestConnector(
  env: Record<string, string>,
  opts: { extensions?: ExtensionFactory[]; logs?: LogCapture; start?: boolean } = {},
): Promise<TestConnector> {
  const config = await loadConfig(env);
  const logs = opts.logs ?? new LogCapture();
  const composed = composeConnector(config, { logStream: logs, extensions: opts.extensions ?? [], poolEndTimeoutSeconds: 2 });
  if (opts.start !== false) await composed.start();
  return { connector: composed.connector, config, sql: composed.sql, logs, stop: composed.stop, crash: composed.crash };
}

export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function sessionRow(sql: postgres.Sql, agentId: string) {
  const [row] = await sql`select * from public.whatsapp_sessions where agent_id = ${agentId}`;
  return row!;
}
