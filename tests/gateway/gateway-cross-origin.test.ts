// A web app on another origin calls the API from a real browser (Debian's Chromium through
// playwright-core): the page is served from one port, the API from another, so every call with an
// Authorization header is preceded by a CORS preflight, answered by the gateway itself.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../../edge-functions/gateway/config.ts';
import { type ApiHarness, createApiHarness } from '../helpers/api.ts';

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
const page = (title: string) => `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${title}</body></html>`;

let browser: Browser;
let api: ApiHarness;
let apiUrl: string;
let appOrigin: string;
let otherOrigin: string;
const servers: Array<{ close(): void }> = [];

beforeAll(async () => {
  const appSite = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page('the web app')));
  const otherSite = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page('somebody else')));
  servers.push(appSite, otherSite);
  appOrigin = `http://127.0.0.1:${await listen(appSite)}`;
  otherOrigin = `http://127.0.0.1:${await listen(otherSite)}`;
  api = await createApiHarness({ corsOrigins: [appOrigin], limits: { failedAuth: { capacity: 3, windowSeconds: 300 } } as never });
  const apiServer = await new Promise<{ close(): void; port: number }>((resolve) => {
    const s = serve({ fetch: api.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ close: () => s.close(), port: info.port }));
  });
  servers.push(apiServer);
  // localhost, not 127.0.0.1: a different host as well as a different port from both sites.
  apiUrl = `http://localhost:${apiServer.port}/gateway`;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const s of servers) s.close();
  await api?.close();
});

/** fetch() run inside a page of `origin`, as the web app's own code would. */
async function fetchFrom(origin: string, path: string, init: { method?: string; token?: string; body?: unknown }) {
  const tab = await browser.newPage();
  try {
    await tab.goto(`${origin}/`);
    return await tab.evaluate(
      async ({ url, method, token, body }) => {
        try {
          const headers: Record<string, string> = { authorization: `Bearer ${token}` };
          if (body !== undefined) headers['content-type'] = 'application/json';
          const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
          return { status: res.status, requestId: res.headers.get('x-request-id'), json: await res.json() };
        } catch (error) {
          return { refused: String(error) };
        }
      },
      { url: `${apiUrl}${path}`, method: init.method ?? 'GET', token: init.token ?? '', body: init.body },
    );
  } finally {
    await tab.close();
  }
}

describe('the API called from a browser on another origin', () => {
  it('answers the allowed origin: create and list an agent with a bearer token (preflighted), and the request id header is readable', async () => {
    const user = await api.user();
    const created = await fetchFrom(appOrigin, '/v1/agents', { method: 'POST', token: user.token, body: { name: 'from the browser' } });
    expect(created).toMatchObject({ status: 201, json: { name: 'from the browser' } });
    expect((created as { requestId: string }).requestId).toMatch(/^[0-9a-f-]{36}$/);
    const listed = await fetchFrom(appOrigin, '/v1/agents', { token: user.token });
    expect(listed).toMatchObject({ status: 200 });
    expect(JSON.stringify((listed as { json: unknown }).json)).toContain('from the browser');
  });

  it('gives a page of an origin not configured nothing: the browser refuses the response and nothing is created', async () => {
    const user = await api.user();
    const refused = await fetchFrom(otherOrigin, '/v1/agents', { method: 'POST', token: user.token, body: { name: 'smuggled' } });
    expect(refused).toMatchObject({ refused: expect.stringContaining('Failed to fetch') });
    const [row] = await api.db.sql<{ count: number }[]>`select count(*)::int from public.agents where name = 'smuggled'`;
    expect(row?.count).toBe(0);
  });

  it('answers preflights before authentication, so they never spend the failed-auth budget', async () => {
    for (let i = 0; i < 10; i++) {
      const res = await api.app.request('/gateway/v1/agents', {
        method: 'OPTIONS',
        headers: { origin: appOrigin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type', 'x-forwarded-for': '203.0.113.9' },
      });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe(appOrigin);
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    }
    // The budget (3 here) is intact: a wrong token from the same address is a 401, not a 429.
    const wrong = await api.call('GET', '/v1/agents', { token: 'not-a-token', headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(wrong.status).toBe(401);
  });

  it('sends the usual security headers with every answer', async () => {
    const user = await api.user();
    const res = await api.call('GET', '/v1/agents', { token: user.token });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });
});

describe('GATEWAY_CORS_ORIGINS', () => {
  it('accepts exact origins or `*` alone, and names the variable for anything else', () => {
    const corsOrigins = (value: string | undefined) => configFromEnv({ GATEWAY_CORS_ORIGINS: value }).corsOrigins;
    expect(corsOrigins(undefined)).toEqual([]);
    expect(corsOrigins('https://app.example.com, http://localhost:5173')).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(corsOrigins('*')).toEqual(['*']);
    expect(() => corsOrigins('*,https://a.example')).toThrow(/GATEWAY_CORS_ORIGINS/);
    expect(() => corsOrigins('https://app.example.com/')).toThrow(/GATEWAY_CORS_ORIGINS: "https:\/\/app.example.com\/" is not an origin/);
    expect(() => corsOrigins('app.example.com')).toThrow(/GATEWAY_CORS_ORIGINS/);
  });

  it('with `*`, allows any origin and never credentials', async () => {
    const open = await createApiHarness({ corsOrigins: ['*'] });
    try {
      const res = await open.app.request('/gateway/v1/agents', { method: 'OPTIONS', headers: { origin: 'https://anyone.example', 'access-control-request-method': 'GET' } });
      expect(res.status).toBe(204);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(res.headers.get('access-control-allow-credentials')).toBeNull();
    } finally {
      await open.close();
    }
  });
});
