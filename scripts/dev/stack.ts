/**
 * The whole gateway in one Node process, for `npm start`, `npm run demo` and the browser test:
 * the control plane (the edge function's Hono app on @hono/node-server, plus the link page from
 * web/), the connector with its message path, and a database — the embedded PGlite under
 * `.data/` or a real Postgres when DATABASE_URL is set (bootstrapped and migrated if needed).
 *
 * Development identity, kept under the data folder (mode 0600) so a restart keeps working
 * sessions: a local user, a sign-in token for it (HS256 JWT, the legacy Supabase scheme, so the
 * page and curl can manage agents as a user), an API key with every scope, and the credentials
 * encryption key. These are local development credentials only.
 *
 * Supabase Auth and Realtime are answered by local stand-ins (local-supabase.ts) for the page.
 *
 * PGlite serves one connection: the control plane and the connector share ONE postgres.js client
 * with max 1; the connector's wake-ups are the embedded database's notifications, read in this
 * process (no LISTEN connection).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Logger } from 'pino';
import postgres, { type Sql } from 'postgres';
import { composeConnector } from '../../connector/compose.ts';
import type { Connector } from '../../connector/connector.ts';
import { loadConfig } from '../../connector/config.ts';
import { createLogger } from '../../connector/logging/logger.ts';
import type { AddressPolicy } from '../../kernel/address-policy.ts';
import { createJwtVerifier } from '../../edge-functions/_shared/auth/jwt.ts';
import { generateApiKey } from '../../edge-functions/_shared/auth/api-keys.ts';
import { mediaStoreFromEnv } from '../../kernel/media/config.ts';
import { isLocalDatabaseUrl, PRIVATE_URLS_VARIABLE, PRIVATE_URLS_WARNING, privateUrlsRefusal, privateUrlsRequested } from '../../kernel/private-urls.ts';
import { KEYRING_PREFIX, type Keyring, keyringFromEnv } from '../../kernel/secret-box.ts';
import { rotateKeys } from '../../connector/auth-state/rotate.ts';
import { createApp } from '../../edge-functions/gateway/app.ts';
import { configFromEnv } from '../../edge-functions/gateway/config.ts';
import { applyBootstrap, pushMigrations, repoRoot } from '../db/migrate.ts';
import { type EmbeddedDatabase, startEmbeddedDatabase } from './embedded-db.ts';
import { createLocalSupabase } from './local-supabase.ts';

export interface LocalStackOptions {
  /** Where the embedded database and the development secrets live (default `.data/`). */
  dataDir?: string;
  /** A real Postgres instead of the embedded one (on this machine unless allowRemoteDatabase). */
  databaseUrl?: string;
  /**
   * Accept a databaseUrl on another host. Off by default: the stack would join that database's
   * connector fleet with its own random encryption key and mint a non-expiring `*` API key there.
   */
  allowRemoteDatabase?: boolean;
  port?: number;
  host?: string;
  /** Extra environment for the connector and the control plane (e.g. the simulator's URL). */
  env?: Record<string, string | undefined>;
  logLevel?: string;
  /** Development only: let webhooks and media reach this machine (demo receivers). */
  addressPolicy?: AddressPolicy;
  /** Benchmarks: the embedded database without wake-ups (the connector polls), as before they existed. */
  embeddedPollOnly?: boolean;
}

export interface LocalStack {
  url: string;
  apiBase: string;
  /** Signs in as the local user (page, curl): manages agents, keys and webhooks. */
  token: string;
  /** Opens the page signed in as the local user (supabase-js reads the session from the link). */
  signInLink: string;
  /** For servers: every scope, all agents of the local user. */
  apiKey: string;
  userId: string;
  sql: Sql;
  /** Seals webhook signing secrets (the edge function's only keyring). */
  webhookKeyring: Keyring;
  connector: Connector;
  embedded: boolean;
  stop(): Promise<void>;
}

interface DevSecrets {
  userId: string;
  /** CREDENTIALS_ENCRYPTION_KEY (version 1). */
  encryptionKey: string;
  /** WEBHOOK_SECRETS_KEY; absent from a data directory made before the keyrings were split. */
  webhookSecretsKey?: string;
  webhookSecretsKeyVersion?: number;
  jwtSecret: string;
  apiKey?: string;
}

const LOCAL_SUPABASE_URL = 'http://localhost.invalid';

function loadSecrets(file: string): DevSecrets {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DevSecrets;
  const secrets: DevSecrets = {
    userId: randomUUID(),
    encryptionKey: randomBytes(32).toString('hex'),
    webhookSecretsKey: randomBytes(32).toString('hex'),
    webhookSecretsKeyVersion: 1,
    jwtSecret: randomBytes(32).toString('hex'),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

/**
 * A data directory from before the keyrings were split has its webhook secrets sealed with the
 * credentials key (version 1): give it a webhook key (version 2) and re-seal them, the same move
 * README "Rotating the encryption keys" describes for a deployment.
 */
async function ensureWebhookSecretsKey(sql: Sql, secrets: DevSecrets, file: string): Promise<void> {
  if (secrets.webhookSecretsKey) return;
  const webhookSecretsKey = randomBytes(32).toString('hex');
  const report = await rotateKeys(sql, {
    credentials: await keyringFromEnv({ CREDENTIALS_ENCRYPTION_KEY: secrets.encryptionKey }, KEYRING_PREFIX.credentials),
    webhookSecrets: await keyringFromEnv(
      { WEBHOOK_SECRETS_KEY: webhookSecretsKey, WEBHOOK_SECRETS_KEY_VERSION: '2', WEBHOOK_SECRETS_OLD_KEYS: `1:${secrets.encryptionKey}` },
      KEYRING_PREFIX.webhookSecrets,
    ),
  });
  if (report.failed > 0) throw new Error(`${report.failed} stored secrets could not be opened while moving webhook secrets to their own key`);
  Object.assign(secrets, { webhookSecretsKey, webhookSecretsKeyVersion: 2 });
  saveSecrets(file, secrets);
}

function saveSecrets(file: string, secrets: DevSecrets): void {
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  chmodSync(file, 0o600);
}

async function ensureSchema(url: string): Promise<void> {
  const probe = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await probe`select to_regclass('supabase_migrations.schema_migrations') is not null as migrated`;
    if (!row!.migrated) await applyBootstrap(url);
  } finally {
    await probe.end();
  }
  await pushMigrations(url);
}

async function ensureIdentity(sql: Sql, secrets: DevSecrets, file: string): Promise<string> {
  await sql`insert into auth.users (id, email) values (${secrets.userId}, 'developer@localhost') on conflict (id) do nothing`;
  const prefix = secrets.apiKey?.split('_')[1];
  const [existing] = prefix ? await sql`select 1 from private.api_keys where prefix = ${prefix} and revoked_at is null` : [];
  if (secrets.apiKey && existing) return secrets.apiKey;
  const { key, prefix: newPrefix, hash } = await generateApiKey();
  await sql`select id from gateway.create_api_key(${secrets.userId}, null, 'development', ${newPrefix}, ${Buffer.from(hash)}, ${['*']}::text[])`;
  secrets.apiKey = key;
  saveSecrets(file, secrets);
  return key;
}

/** Thrown before anything is touched when the stack is pointed at a database on another host. */
export class RemoteDatabaseRefused extends Error {
  readonly variable = 'DATABASE_URL';
  constructor(host: string) {
    super(
      `points at ${host}, not this machine: npm start would join that database's connector fleet with a development key and create a development API key there. ` +
        'Use a local database, or set DEV_ALLOW_REMOTE_DATABASE=1 if this really is a throwaway database.',
    );
    this.name = 'RemoteDatabaseRefused';
  }
}

export { isLocalDatabaseUrl };

/** GATEWAY_ALLOW_PRIVATE_URLS=true with a database on another host: refused before connecting. */
export class PrivateUrlsRefused extends Error {
  readonly variable = PRIVATE_URLS_VARIABLE;
  constructor(problem: string) {
    super(problem);
    this.name = 'PrivateUrlsRefused';
  }
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (options.databaseUrl && !options.allowRemoteDatabase && !isLocalDatabaseUrl(options.databaseUrl)) {
    let host = 'another host';
    try {
      host = new URL(options.databaseUrl).hostname || host;
    } catch {}
    throw new RemoteDatabaseRefused(host);
  }
  const allowPrivateUrls = privateUrlsRequested(options.env ?? {});
  const refusal = allowPrivateUrls && options.databaseUrl ? privateUrlsRefusal(options.databaseUrl, 'DATABASE_URL') : null;
  if (refusal) throw new PrivateUrlsRefused(refusal);
  const dataDir = path.resolve(options.dataDir ?? path.join(repoRoot, '.data'));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secretsFile = path.join(dataDir, 'dev-secrets.json');
  const secrets = loadSecrets(secretsFile);
  const logLevel = options.logLevel ?? 'warn';

  let embeddedDb: EmbeddedDatabase | undefined;
  let databaseUrl = options.databaseUrl;
  if (databaseUrl) await ensureSchema(databaseUrl);
  else {
    embeddedDb = await startEmbeddedDatabase(path.join(dataDir, 'pglite'));
    databaseUrl = embeddedDb.url;
  }
  const embedded = embeddedDb !== undefined;
  const sql = postgres(databaseUrl, { max: embedded ? 1 : 10, onnotice: () => {}, connection: { application_name: 'wa-gateway-local' } });
  await ensureWebhookSecretsKey(sql, secrets, secretsFile);
  const env: Record<string, string | undefined> = {
    LOG_LEVEL: logLevel,
    BAILEYS_LOG_LEVEL: 'silent',
    HTTP_PORT: '0',
    // Without wake-ups, the sweep is how new link requests are noticed.
    CONNECTOR_SWEEP_INTERVAL_MS: embedded && options.embeddedPollOnly ? '1000' : undefined,
    // Uploads go to a folder under the data directory unless the environment names a store.
    MEDIA_STORE: 'folder',
    MEDIA_STORE_DIR: path.join(dataDir, 'media'),
    ...options.env,
    DATABASE_URL: databaseUrl,
    CREDENTIALS_ENCRYPTION_KEY: secrets.encryptionKey,
    WEBHOOK_SECRETS_KEY: secrets.webhookSecretsKey,
    WEBHOOK_SECRETS_KEY_VERSION: String(secrets.webhookSecretsKeyVersion ?? 1),
  };
  const cleanEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>;

  const apiKey = await ensureIdentity(sql, secrets, secretsFile);
  const logger: Logger = createLogger({ level: logLevel });
  if (allowPrivateUrls) logger.warn({ variable: PRIVATE_URLS_VARIABLE }, PRIVATE_URLS_WARNING);
  const webhookKeyring = await keyringFromEnv(cleanEnv, KEYRING_PREFIX.webhookSecrets);
  const mediaStore = await mediaStoreFromEnv(cleanEnv);
  const gateway = createApp({
    sql,
    mediaStore,
    verifyJwt: createJwtVerifier({ supabaseUrl: LOCAL_SUPABASE_URL, jwks: { keys: [] }, legacySecret: secrets.jwtSecret }),
    keyring: webhookKeyring,
    config: configFromEnv(cleanEnv),
    logger: { info: (o, m) => logger.info(o, m), warn: (o, m) => logger.warn(o, m), error: (o, m) => logger.error(o, m) },
    resolveHost: async (host) => (await lookup(host, { all: true })).map((a) => a.address),
  });

  const composed = composeConnector(await loadConfig(cleanEnv), {
    sql,
    logger: logger.child({ module: 'connector' }),
    mediaStore,
    addressPolicy: options.addressPolicy,
    wakeups: embeddedDb ? (options.embeddedPollOnly ? 'poll-only' : embeddedDb.wakeups) : 'auto',
  });
  const { connector } = composed;

  // Stand-ins for Supabase Auth and Realtime, so the page runs supabase-js as on Supabase.
  const localSupabase = await createLocalSupabase({ sql, jwtSecret: secrets.jwtSecret, userId: secrets.userId, email: 'developer@localhost', issuer: `${LOCAL_SUPABASE_URL}/auth/v1` });
  const webDir = path.join(repoRoot, 'web');
  const pages: Record<string, string> = { '/': 'index.html', '/index.html': 'index.html', '/app.js': 'app.js', '/styles.css': 'styles.css' };
  const types: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };
  let origin = '';
  const server = new Hono();
  server.get('/config.json', (c) => c.json({ apiBase: `${origin}/gateway`, supabaseUrl: origin, supabasePublishableKey: localSupabase.anonKey, localAuth: true }));
  server.get('/vendor/supabase.js', (c) =>
    c.body(readFileSync(path.join(repoRoot, 'node_modules/@supabase/supabase-js/dist/umd/supabase.js')), 200, { 'content-type': types.js!, 'cache-control': 'no-store' }));
  server.route('/', localSupabase.app);
  server.all('/gateway/*', (c) => gateway.fetch(c.req.raw));
  server.get('*', (c) => {
    const file = pages[c.req.path];
    if (!file) return c.json({ error: { code: 'not_found', message: 'Not found' } }, 404);
    return c.body(readFileSync(path.join(webDir, file)), 200, { 'content-type': types[file.split('.').pop()!]!, 'cache-control': 'no-store' });
  });

  const host = options.host ?? '127.0.0.1';
  const http = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: server.fetch, port: options.port ?? 8787, hostname: host }, () => resolve(s));
  });
  localSupabase.attach(http as unknown as HttpServer);
  const port = (http.address() as AddressInfo).port;
  origin = `http://${host}:${port}`;
  await composed.start();

  const token = await localSupabase.accessToken(30 * 86_400);
  const signInLink = await localSupabase.signInLink(origin, token);

  let stopped = false;
  return {
    url: origin,
    apiBase: `${origin}/gateway`,
    token,
    signInLink,
    apiKey,
    userId: secrets.userId,
    sql,
    webhookKeyring,
    connector,
    embedded,
    async stop() {
      if (stopped) return;
      stopped = true;
      await composed.stop().catch((error) => logger.error({ err: error }, 'connector stop failed'));
      await localSupabase.stop();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        (http as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await sql.end({ timeout: 5 });
      await embeddedDb?.stop();
    },
  };
}
