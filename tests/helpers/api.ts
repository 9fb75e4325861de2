/**
 * The gateway app against a real test database, with JWTs minted from a key pair generated per
 * file and a keyring made of random bytes.
 *
 *   const api = await createApiHarness();
 *   const user = await api.user();
 *   const res = await api.call('POST', '/v1/agents', { token: user.token, body: { name: 'a' } });
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { createJwtVerifier } from '../../edge-functions/_shared/auth/jwt.ts';
import { createFolderMediaStore } from '../../kernel/node/media-folder-store.ts';
import type { MediaStore } from '../../kernel/media/store.ts';
import { requestHashKey } from '../../kernel/content-box.ts';
import { createKeyring, type Keyring } from '../../kernel/secret-box.ts';
import { createApp } from '../../edge-functions/gateway/app.ts';
import type { Clock, GatewayApp, GatewayConfig, Logger } from '../../edge-functions/gateway/types.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { createUser } from './fixtures.ts';

export const SUPABASE_URL = 'https://project.supabase.test';
/** The database role of the edge function (migration gateway_api_role). */
export const API_ROLE = 'gateway_api';

export interface LogRecord {
  level: string;
  obj: object;
  msg?: string;
}

export interface ApiHarness {
  db: TestDatabase;
  app: GatewayApp;
  keyring: Keyring;
  /** The MESSAGE_CONTENT keyring, when the harness was given a content key. */
  contentKeyring?: Keyring;
  /** The folder media store base64 uploads go to (a temporary directory per harness). */
  mediaStore: MediaStore;
  mediaDir: string;
  logs: LogRecord[];
  /** With recordStatements: every statement the app ran, with its parameters, in order (tests empty it to count a request's). */
  statements: { query: string; parameters: unknown[] }[];
  clock: Clock & { offsetMs: number };
  user(): Promise<{ id: string; token: string }>;
  token(sub: string, claims?: Record<string, unknown>, options?: { expiresIn?: string; issuer?: string; audience?: string }): Promise<string>;
  call(method: string, path: string, options?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> }): Promise<Response>;
  agent(token: string, name?: string): Promise<string>;
  apiKey(token: string, body?: Record<string, unknown>): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

/**
 * `contentKey`: the gateway's MESSAGE_CONTENT key (unset: none configured; the harness exposes its
 * keyring). `db`: run against a database the caller owns (e.g. a simulator stack's); close()
 * then leaves it. `recordStatements`: fill `statements` (round trips per request).
 */
export async function createApiHarness(
  config: Partial<GatewayConfig> = {},
  options: { contentKey?: { version: number; key: Uint8Array }; db?: TestDatabase; recordStatements?: boolean } = {},
): Promise<ApiHarness> {
  const db = options.db ?? (await createTestDatabase());
  const contentKeyring = options.contentKey ? await createKeyring(options.contentKey) : undefined;
  const contentHashKey = options.contentKey ? await requestHashKey(options.contentKey.key) : undefined;
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'ES256', use: 'sig' };
  const keyring = await createKeyring({ version: 1, key: new Uint8Array(randomBytes(32)) });
  const logs: LogRecord[] = [];
  const logger: Logger = {
    info: (obj, msg) => logs.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => logs.push({ level: 'warn', obj, msg }),
    error: (obj, msg) => logs.push({ level: 'error', obj, msg }),
  };
  const clock = {
    offsetMs: 0,
    now: () => new Date(Date.now() + clock.offsetMs),
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms)),
  };
  const statements: ApiHarness['statements'] = [];
  // As the edge function connects in production: its own role, so a missing grant fails here.
  // postgres.js's debug hook also makes its errors' query and parameters enumerable: only on request.
  const record = options.recordStatements ? { debug: (_connection: number, query: string, parameters: unknown[]) => statements.push({ query, parameters }) } : {};
  const sql = db.connect({ max: 8, prepare: false, username: API_ROLE, ...record });
  const mediaDir = mkdtempSync(path.join(tmpdir(), 'wg-media-'));
  const mediaStore = createFolderMediaStore(mediaDir);
  const app = createApp({
    mediaStore,
    sql,
    clock,
    verifyJwt: createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks: { keys: [jwk] } }),
    keyring,
    contentKeyring,
    requestHashKey: contentHashKey,
    logger,
    // Test DNS: *.internal.test resolves to a private address, everything else to a public one.
    resolveHost: async (host) => (host.endsWith('.internal.test') ? ['10.0.0.5'] : host.endsWith('.nxdomain.test') ? [] : ['93.184.216.34']),
    config: { numberCheckWaitMs: 300, numberCheckPollMs: 50, ...config },
  });

  const token: ApiHarness['token'] = (sub, claims = {}, options = {}) =>
    new SignJWT({ role: 'authenticated', ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: 'test-key' })
      .setSubject(sub)
      .setIssuer(options.issuer ?? `${SUPABASE_URL}/auth/v1`)
      .setAudience(options.audience ?? 'authenticated')
      .setIssuedAt()
      .setExpirationTime(options.expiresIn ?? '1h')
      .sign(privateKey);

  const call: ApiHarness['call'] = (method, path, options = {}) => {
    const headers: Record<string, string> = { 'x-forwarded-for': '198.51.100.7', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    return Promise.resolve(app.request(`/gateway${path}`, { method, headers, body }));
  };

  return {
    db,
    app,
    keyring,
    contentKeyring,
    mediaStore,
    mediaDir,
    logs,
    statements,
    clock,
    token,
    call,
    async user() {
      const id = await createUser(db.sql);
      return { id, token: await token(id) };
    },
    async agent(t, name = 'agent') {
      const res = await call('POST', '/v1/agents', { token: t, body: { name } });
      if (res.status !== 201) throw new Error(`agent creation failed: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { id: string }).id;
    },
    async apiKey(t, body = { name: 'key' }) {
      const res = await call('POST', '/v1/keys', { token: t, body });
      if (res.status !== 201) throw new Error(`key creation failed: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; key: string };
    },
    async close() {
      rmSync(mediaDir, { recursive: true, force: true });
      if (!options.db) await db.drop();
    },
  };
}

/** The error body every failure must have. */
export async function errorOf(res: Response): Promise<{ code: string; message: string; details?: unknown; requestId: string }> {
  const body = (await res.json()) as { error: { code: string; message: string; details?: unknown; requestId: string } };
  return body.error;
}
