// GATEWAY_ALLOW_PRIVATE_URLS, the development switch for webhooks to this machine: off, the API and
// the connector refuse private addresses; on with a local database, `npm start`'s stack accepts
// a receiver on 127.0.0.1 through the API and delivers to it (verified with the standardwebhooks
// package alone, through a secret rotation); on with a database elsewhere, nothing starts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../connector/config.ts';
import { createUrlGuard, GuardError } from '../../connector/net/guard.ts';
import { depsFromEnv } from '../../edge-functions/gateway/deps.ts';
import { PRIVATE_URLS_ALLOWED } from '../../kernel/address-policy.ts';
import { startLocalStack } from '../../scripts/dev/stack.ts';
import { createApiHarness, errorOf } from '../helpers/api.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { type Receiver, signatureIsValid, startReceiver } from '../helpers/messages-webhooks.ts';

const KEY = '55'.repeat(32);
const REMOTE = 'postgresql://postgres:pw@192.0.2.1:5432/postgres'; // TEST-NET-1: never answers
const connectorEnv = (databaseUrl: string, on: boolean) => ({
  DATABASE_URL: databaseUrl, CREDENTIALS_ENCRYPTION_KEY: KEY, WEBHOOK_SECRETS_KEY: '66'.repeat(32), GATEWAY_ALLOW_PRIVATE_URLS: on ? 'true' : undefined,
});

describe('GATEWAY_ALLOW_PRIVATE_URLS off (the default)', () => {
  it('the API refuses a webhook on this machine or a private network with 422, even with http allowed', async () => {
    const api = await createApiHarness({ allowHttpWebhooks: true });
    try {
      const u = await api.user();
      for (const url of ['http://127.0.0.1:8080/hook', 'http://localhost:8080/hook', 'http://192.168.1.20/hook', 'http://[::1]:8080/hook']) {
        const res = await api.call('POST', '/v1/webhooks', { token: u.token, body: { url } });
        expect({ url, status: res.status, code: (await errorOf(res)).code }).toEqual({ url, status: 422, code: 'invalid_url' });
      }
    } finally {
      await api.close();
    }
  });

  it('the connector refuses to connect to them, and its configuration says off', async () => {
    const guard = createUrlGuard({ allowHttp: true });
    for (const url of ['http://127.0.0.1:8080/hook', 'http://10.0.0.5/hook']) {
      await expect(guard.vet(url)).rejects.toMatchObject({ code: 'forbidden_address' });
    }
    expect((await loadConfig(connectorEnv('postgresql://postgres@127.0.0.1:5432/x', false))).allowPrivateUrls).toBe(false);
  });
});

describe('GATEWAY_ALLOW_PRIVATE_URLS=true', () => {
  it('opens this machine and private networks, never link-local metadata', async () => {
    const api = await createApiHarness({ allowHttpWebhooks: true, allowPrivateUrls: true });
    try {
      const u = await api.user();
      for (const url of ['http://127.0.0.1:8080/hook', 'http://192.168.1.20/hook', 'http://[::1]:8080/hook']) {
        expect({ url, status: (await api.call('POST', '/v1/webhooks', { token: u.token, body: { url } })).status }).toEqual({ url, status: 201 });
      }
      for (const url of ['http://169.254.169.254/latest/meta-data', 'http://metadata.google.internal/x']) {
        expect({ url, status: (await api.call('POST', '/v1/webhooks', { token: u.token, body: { url } })).status }).toEqual({ url, status: 422 });
      }
    } finally {
      await api.close();
    }
    const guard = createUrlGuard({ allowHttp: true, addressPolicy: PRIVATE_URLS_ALLOWED });
    await expect(guard.vet('http://127.0.0.1:8080/hook')).resolves.toMatchObject({ address: '127.0.0.1' });
    await expect(guard.vet('http://169.254.169.254/x')).rejects.toBeInstanceOf(GuardError);
  });

  it('is read by the connector with a local database, and the API\'s http switch name works there too', async () => {
    expect((await loadConfig(connectorEnv('postgresql://postgres@127.0.0.1:5432/x', true))).allowPrivateUrls).toBe(true);
    expect((await loadConfig(connectorEnv('postgresql:///x?host=/var/run/postgresql', true))).allowPrivateUrls).toBe(true);
    const local = connectorEnv('postgresql://postgres@127.0.0.1:5432/x', false);
    expect((await loadConfig({ ...local, GATEWAY_ALLOW_HTTP_WEBHOOKS: 'true' })).messaging.webhooks.allowHttp).toBe(true);
    expect((await loadConfig({ ...local, WEBHOOK_ALLOW_HTTP: 'true' })).messaging.webhooks.allowHttp).toBe(true);
    expect((await loadConfig(local)).messaging.webhooks.allowHttp).toBe(false);
  });

  it('with a database on another host, the connector, the API and npm start refuse to start, naming the variable', async () => {
    await expect(loadConfig(connectorEnv(REMOTE, true))).rejects.toMatchObject({ variable: 'GATEWAY_ALLOW_PRIVATE_URLS' });
    await expect(
      depsFromEnv({ SUPABASE_DB_URL: REMOTE, SUPABASE_URL: 'https://p.supabase.test', WEBHOOK_SECRETS_KEY: KEY, MEDIA_STORE: 'folder', MEDIA_STORE_DIR: tmpdir(), GATEWAY_ALLOW_PRIVATE_URLS: 'true' }),
    ).rejects.toThrow(/^GATEWAY_ALLOW_PRIVATE_URLS:? is for development against a database on this machine, but SUPABASE_DB_URL points at 192\.0\.2\.1/);

    const connector = spawnSync(process.execPath, ['--import', 'tsx', 'connector/main.ts'], {
      env: { ...process.env, ...connectorEnv(REMOTE, true), LOG_LEVEL: 'info' }, encoding: 'utf8', timeout: 60_000,
    });
    expect(connector.status).toBe(78);
    expect(`${connector.stdout}${connector.stderr}`).toMatch(/configuration error: GATEWAY_ALLOW_PRIVATE_URLS: is for development against a database on this machine/);

    const dataDir = mkdtempSync(path.join(tmpdir(), 'wg-private-'));
    try {
      const start = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/dev/start.ts'], {
        env: { ...process.env, DATABASE_URL: REMOTE, DEV_ALLOW_REMOTE_DATABASE: '1', GATEWAY_ALLOW_PRIVATE_URLS: 'true', DATA_DIR: dataDir, PORT: '0' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(start.status).toBe(78);
      expect(start.stderr).toMatch(/configuration error: GATEWAY_ALLOW_PRIVATE_URLS is for development against a database on this machine, but DATABASE_URL points at 192\.0\.2\.1/);
      expect(start.stdout).not.toMatch(/API key/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('npm start with GATEWAY_ALLOW_PRIVATE_URLS and GATEWAY_ALLOW_HTTP_WEBHOOKS on a local database', () => {
  let db: TestDatabase;
  let receiver: Receiver;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'wg-private-stack-'));
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await receiver?.close();
    await db?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a receiver on 127.0.0.1 is registered through the API and verifies every delivery, through a secret rotation', async () => {
    const stack = await startLocalStack({
      dataDir, databaseUrl: db.url, port: 0, logLevel: 'silent',
      env: { JOBS_ENABLED: 'false', GATEWAY_ALLOW_PRIVATE_URLS: 'true', GATEWAY_ALLOW_HTTP_WEBHOOKS: 'true', WEBHOOK_POLL_INTERVAL_MS: '100' },
    });
    try {
      const api = async <T>(method: string, route: string, body?: unknown): Promise<T> => {
        const res = await fetch(`${stack.apiBase}${route}`, {
          method, headers: { authorization: `Bearer ${stack.token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined,
        });
        expect(res.ok, `${method} ${route}: ${res.status}`).toBe(true);
        return (await res.json()) as T;
      };
      let secret = '';
      receiver = await startReceiver(() => secret);
      const hook = await api<{ id: string; secret: string }>('POST', '/v1/webhooks', { url: `${receiver.url}/hook`, eventTypes: ['webhook.*'] });
      secret = hook.secret;
      const test = async () => {
        const { eventId } = await api<{ eventId: string }>('POST', `/v1/webhooks/${hook.id}/test`);
        await expect.poll(() => receiver.requests.some((r) => JSON.parse(r.body).id === eventId), { timeout: 10_000 }).toBe(true);
        return receiver.requests.find((r) => JSON.parse(r.body).id === eventId)!;
      };
      const first = await test();
      expect(signatureIsValid(first, hook.secret)).toBe(true);

      const rotated = await api<{ secret: string }>('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { overlapSeconds: 3600 });
      const during = await test();
      expect(signatureIsValid(during, hook.secret)).toBe(true);
      expect(signatureIsValid(during, rotated.secret)).toBe(true);

      const again = await api<{ secret: string }>('POST', `/v1/webhooks/${hook.id}/rotate-secret`, { overlapSeconds: 0 });
      const after = await test();
      expect(signatureIsValid(after, again.secret)).toBe(true);
      expect(signatureIsValid(after, rotated.secret)).toBe(false);
      expect(signatureIsValid(after, hook.secret)).toBe(false);

      // Every delivery of this run is delivered — the rotation notices (webhook.secret_rotated)
      // too, which nothing above waited for — and verified with one of the secrets it was meant
      // for, with the standardwebhooks package alone.
      const counts = async () =>
        (await db.sql<{ delivered: number; total: number }[]>`select count(*) filter (where status = 'delivered')::int as delivered, count(*)::int as total
          from public.webhook_deliveries where endpoint_id = ${hook.id}`)[0]!;
      await expect.poll(async () => { const c = await counts(); return c.delivered === c.total ? c.total : -1; }, { timeout: 10_000 }).toBe(5);
      const secrets = [hook.secret, rotated.secret, again.secret];
      expect(receiver.requests.length).toBeGreaterThanOrEqual(5);
      for (const r of receiver.requests) expect(secrets.some((s) => signatureIsValid(r, s))).toBe(true);
    } finally {
      await stack.stop();
    }
  });
});
