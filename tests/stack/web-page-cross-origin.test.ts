// The link page as a web app on its own origin (the way a customer's app meets the gateway): the
// page's files are served from one origin, the API, Auth and Realtime from the stack on another,
// allowed by GATEWAY_CORS_ORIGINS. In real Chromium it signs in, creates and links an agent by QR,
// and sees the status change over the agent's private Realtime channel, without polling.
import { readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';
import { type LocalStack, startLocalStack } from '../../scripts/dev/stack.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const simulator = useSimulatorStack({ scrubConsole: true });
const dataDir = mkdtempSync(path.join(tmpdir(), 'wa-gateway-web-origin-'));
let stack: LocalStack;
let site: Server;
let siteOrigin: string;
let pageConfig = '{}';
let browser: Browser;

/** The web app's own origin: web/ and the supabase-js bundle, with a config.json naming the stack. */
const FILES: Record<string, [string, string]> = {
  '/': ['web/index.html', 'text/html'],
  '/app.js': ['web/app.js', 'text/javascript'],
  '/styles.css': ['web/styles.css', 'text/css'],
  '/vendor/supabase.js': ['node_modules/@supabase/supabase-js/dist/umd/supabase.js', 'text/javascript'],
};

beforeAll(async () => {
  site = createServer((req, res) => {
    const path_ = new URL(req.url ?? '/', 'http://x').pathname;
    if (path_ === '/config.json') return res.writeHead(200, { 'content-type': 'application/json' }).end(pageConfig);
    const file = FILES[path_];
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file[1] }).end(readFileSync(path.join(repoRoot, file[0])));
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  // localhost, not 127.0.0.1: another host as well as another port than the stack's.
  siteOrigin = `http://localhost:${(site.address() as AddressInfo).port}`;
  stack = await startLocalStack({
    dataDir,
    port: 0,
    logLevel: 'error',
    env: { WA_WEBSOCKET_URL: simulator.sim.url, GATEWAY_CORS_ORIGINS: siteOrigin, WA_QR_TIMEOUT_MS: '30000' },
  });
  // The same settings the stack gives its own page: absolute URLs of the API, Auth and Realtime.
  pageConfig = JSON.stringify(await (await fetch(`${stack.url}/config.json`)).json());
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  site?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

it('a page on another origin signs in, links an agent by QR and sees it connect over Realtime, without polling', async () => {
  const page = await browser.newPage();
  const crossOrigin: string[] = [];
  const sessionGets: string[] = [];
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.origin === stack.url) crossOrigin.push(url.pathname);
    if (r.method() === 'GET' && url.pathname.endsWith('/session')) sessionGets.push(r.url());
  });
  await page.goto(`${siteOrigin}/${new URL(stack.signInLink).hash}`);
  await page.getByLabel('New agent').waitFor({ state: 'visible', timeout: 15_000 });

  await page.getByLabel('New agent').fill('Across origins');
  await page.getByRole('button', { name: 'Create' }).click();
  await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('disconnected');
  await expect.poll(() => page.locator('#live').getAttribute('data-live'), { timeout: 10_000 }).toBe('true');
  const agentId = new URL(page.url()).hash.slice(1);

  await page.getByRole('button', { name: 'Link with QR code' }).click();
  const qr = page.getByRole('img', { name: /QR code to scan/ });
  await qr.waitFor({ state: 'visible', timeout: 20_000 });
  const qrText = (await page.locator('#qr-text').textContent())?.trim() ?? '';
  await simulator.sim.scan(qrText, { phone: '15550127777' });
  await expect.poll(() => page.locator('#status').textContent(), { timeout: 20_000 }).toBe('connected');

  // Every call went to the stack's origin (API and Auth, preflighted), and session reads followed
  // broadcasts of the agent's topic rather than a timer.
  expect(new URL(page.url()).origin).toBe(siteOrigin);
  expect(crossOrigin.some((p) => p.startsWith('/gateway/v1/agents'))).toBe(true);
  expect(crossOrigin).toContain('/auth/v1/user');
  const [broadcasts] = await stack.sql`select count(*)::int as n from realtime.messages where topic = ${`agent:${agentId}`} and event = 'session_changed'`;
  expect(sessionGets.length).toBeLessThanOrEqual(broadcasts!.n + 3);
  const readsWhenIdle = sessionGets.length;
  await new Promise((r) => setTimeout(r, 4_000));
  expect(sessionGets.length).toBe(readsWhenIdle);
  await page.close();
}, 90_000);
