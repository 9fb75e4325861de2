/**
 * The gateway edge function under the real Deno runtime: depsFromEnv (pino, postgres.js, jose,
 * secret-box), Deno.serve, and HTTP from outside against real Postgres. Builds its own database
 * from the bootstrap and migrations, so it needs only a server:
 *   TEST_DATABASE_URL_DENO   a database to use as is (already migrated), or
 *   TEST_DATABASE_URL        an admin URL (default postgresql://postgres@127.0.0.1:5432/postgres)
 *
 *   npm run test:deno
 */
import assert from './assert.ts';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import postgres from 'postgres';
import { createApp } from '../../edge-functions/gateway/app.ts';
import { depsFromEnv } from '../../edge-functions/gateway/deps.ts';
import { associatedData, KEYRING_PREFIX, keyringFromEnv, openText } from '../../kernel/secret-box.ts';

const root = new URL('../../', import.meta.url);
const adminUrl = Deno.env.get('TEST_DATABASE_URL') ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const given = Deno.env.get('TEST_DATABASE_URL_DENO');
const dbName = `wg_deno_${crypto.randomUUID().replaceAll('-', '').slice(0, 12)}`;
const withDb = (url: string, name: string) => {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
};

async function prepareDatabase(): Promise<string> {
  if (given) return given;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${dbName}"`);
  await admin.end();
  const url = withDb(adminUrl, dbName);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await sql.unsafe(await Deno.readTextFile(new URL('supabase/bootstrap/plain-postgres.sql', root)));
  const files = [...Deno.readDirSync(new URL('supabase/migrations/', root))].map((e) => e.name).filter((n) => n.endsWith('.sql')).sort();
  for (const file of files) await sql.unsafe(await Deno.readTextFile(new URL(`supabase/migrations/${file}`, root)));
  await sql.end();
  return url;
}

async function dropDatabase(): Promise<void> {
  if (given) return;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${dbName}" with (force)`);
  await admin.end();
}

Deno.test('gateway under Deno: auth, send and status over real HTTP and Postgres', async (t) => {
  const url = await prepareDatabase();
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'deno', alg: 'ES256' };
  const supabaseUrl = 'https://deno.supabase.test';
  const errors: object[] = [];
  // As in production: the edge function's own role, not the database owner.
  const apiUrl = new URL(url);
  apiUrl.username = 'gateway_api';
  apiUrl.password = '';
  // Only the webhook keyring: the edge function never holds CREDENTIALS_ENCRYPTION_KEY.
  const webhookKeyHex = [...crypto.getRandomValues(new Uint8Array(32))].map((b) => b.toString(16).padStart(2, '0')).join('');
  const deps = await depsFromEnv({
    SUPABASE_DB_URL: apiUrl.toString(),
    SUPABASE_URL: supabaseUrl,
    SUPABASE_JWKS: JSON.stringify({ keys: [jwk] }),
    WEBHOOK_SECRETS_KEY: webhookKeyHex,
    MEDIA_STORE: 'folder',
    // Created on the first upload only; this test sends none (the run has no --allow-write).
    MEDIA_STORE_DIR: `${Deno.env.get('TMPDIR') ?? '/tmp'}/wg-deno-media`,
  }, { logger: { info: () => {}, warn: () => {}, error: (obj) => errors.push(obj) } });
  const server = Deno.serve({ port: 0, hostname: '127.0.0.1', onListen: () => {} }, createApp(deps).fetch);
  const base = `http://127.0.0.1:${server.addr.port}/gateway`;
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  try {
    const [user] = await sql`insert into auth.users (email) values ('deno@example.test') returning id`;
    const userId = user!.id as string;
    const token = await new SignJWT({ role: 'authenticated' })
      .setProtectedHeader({ alg: 'ES256', kid: 'deno' })
      .setSubject(userId)
      .setIssuer(`${supabaseUrl}/auth/v1`)
      .setAudience('authenticated')
      .setExpirationTime('5m')
      .sign(privateKey);
    const call = async (method: string, path: string, auth?: string, body?: unknown, headers: Record<string, string> = {}) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
    };

    let agent = '';
    let apiKey = '';
    await t.step('auth: missing and forged credentials are 401; a JWT and an API key work', async () => {
      const none = await call('GET', '/v1/agents');
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'unauthenticated');
      assert.equal((await call('GET', '/v1/agents', `${token.slice(0, -3)}abc`)).status, 401);
      const created = await call('POST', '/v1/agents', token, { name: 'deno agent' });
      assert.equal(created.status, 201);
      agent = created.body.id;
      const key = await call('POST', '/v1/keys', token, { name: 'deno', scopes: ['messages:send', 'sessions:read'] });
      assert.equal(key.status, 201);
      apiKey = key.body.key;
      assert.equal((await call('GET', `/v1/agents/${agent}/session`, apiKey)).status, 200);
      assert.equal((await call('GET', `/v1/agents/${crypto.randomUUID()}/session`, apiKey)).status, 404);
    });

    await t.step('send: 202 queued, idempotent replay, 409 for a different body, 400 for bad input', async () => {
      const body = { to: '+49 151 23456789', type: 'text', text: 'from deno' };
      const first = await call('POST', `/v1/agents/${agent}/messages`, apiKey, body, { 'idempotency-key': 'deno-1' });
      assert.equal(first.status, 202);
      assert.equal(first.body.status, 'queued');
      assert.equal(first.headers.get('ratelimit-limit'), '30');
      const again = await call('POST', `/v1/agents/${agent}/messages`, apiKey, body, { 'idempotency-key': 'deno-1' });
      assert.equal(again.status, 202);
      assert.equal(again.body.id, first.body.id);
      assert.equal((await call('POST', `/v1/agents/${agent}/messages`, apiKey, { ...body, text: 'other' }, { 'idempotency-key': 'deno-1' })).status, 409);
      assert.equal((await call('POST', `/v1/agents/${agent}/messages`, apiKey, { ...body, to: 'nope' })).status, 400);
      const [row] = await sql`select recipient, content from public.messages where id = ${first.body.id}`;
      assert.equal(row!.recipient, '4915123456789');
      assert.deepEqual(row!.content, { text: 'from deno' });
    });

    await t.step('status: QR text and PNG image from the session row', async () => {
      await sql`update public.whatsapp_sessions set status = 'qr', qr_code = '2@deno,qr' where agent_id = ${agent}`;
      const status = await call('GET', `/v1/agents/${agent}/session`, token);
      assert.equal(status.status, 200);
      assert.equal(status.body.status, 'qr');
      assert.equal(status.body.qr.text, '2@deno,qr');
      assert.match(status.body.qr.image, /^data:image\/png;base64,/);
    });

    await t.step('webhooks: the signing secret is sealed with WEBHOOK_SECRETS_KEY (no credentials key here)', async () => {
      const created = await call('POST', '/v1/webhooks', token, { url: 'https://hooks.example.com/deno', eventTypes: ['*'] });
      assert.equal(created.status, 201);
      const [row] = await sql`select ciphertext, key_version from private.webhook_secrets where endpoint_id = ${created.body.id}`;
      const ring = await keyringFromEnv({ WEBHOOK_SECRETS_KEY: webhookKeyHex }, KEYRING_PREFIX.webhookSecrets);
      assert.equal(await openText(ring, new Uint8Array(row!.ciphertext), row!.key_version, associatedData.webhookSecret(created.body.id)), created.body.secret);
    });

    await t.step('health and OpenAPI document', async () => {
      assert.equal((await call('GET', '/health')).body.status, 'ok');
      const doc = await call('GET', '/openapi.json');
      assert.equal(doc.body.openapi, '3.1.0');
      assert.ok(doc.body.paths['/v1/agents/{agentId}/messages']);
      assert.deepEqual(errors, []);
    });
  } finally {
    await sql.end();
    await deps.sql.end();
    await server.shutdown();
    await dropDatabase();
  }
});
