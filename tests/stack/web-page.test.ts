// The link page in a real browser (Debian's Chromium driven by playwright-core) against the local
// stack of `npm start` (embedded database, control plane, connector) pointed at the WhatsApp
// simulator: sign in with the link `npm start` prints (supabase-js reads the session from it),
// create an agent, link it by QR (the image follows the connector's next code; the simulated phone
// scans the code the page shows), see it connected — status arrives over the agent's private
// Realtime channel, not by polling — rename it, send a message, see it read and counted in the
// daily statistics, sign out.
// A screenshot is saved to test-artifacts/web-page.png.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/db/migrate.ts';
import { type LocalStack, startLocalStack } from '../../scripts/dev/stack.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const PHONE = '15550123456';
const CONTACT = '447700900777';
const SCREENSHOT = path.join(repoRoot, 'test-artifacts/web-page.png');

const simulator = useSimulatorStack({ simulator: { deliveredAfterMs: 200, readAfterMs: 600 }, scrubConsole: true });
let stack: LocalStack;
let browser: Browser;
const dataDir = mkdtempSync(path.join(tmpdir(), 'wa-gateway-web-'));

beforeAll(async () => {
  simulator.sim.addContact(CONTACT);
  stack = await startLocalStack({
    dataDir,
    port: 0,
    logLevel: 'error',
    env: { WA_WEBSOCKET_URL: simulator.sim.url, MESSAGES_MIN_INTERVAL_MS: '0', MESSAGES_JITTER_MS: '0', MESSAGES_RECIPIENT_INTERVAL_MS: '0', MESSAGES_POLL_INTERVAL_MS: '200', WA_QR_TIMEOUT_MS: '12000' },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the link page in Chromium', () => {
  it('signs in by link, creates an agent, links it by QR with live status (no polling), renames it, sends a message, shows it read and counted', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } }); // a phone screen
    const page = await context.newPage();
    const sessionGets: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'GET' && new URL(r.url()).pathname.endsWith('/session')) sessionGets.push(r.url());
    });
    await page.goto(stack.signInLink);
    await page.getByLabel('New agent').waitFor({ state: 'visible', timeout: 10_000 });
    expect(new URL(page.url()).hash).not.toContain('access_token'); // supabase-js took the session out of the address
    // The session persists (supabase-js storage): a reload stays signed in.
    await page.reload();
    await page.getByLabel('New agent').waitFor({ state: 'visible', timeout: 10_000 });

    await page.getByLabel('New agent').fill('Support line');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 10_000 }).toBe('disconnected');
    await expect.poll(() => page.locator('#live').getAttribute('data-live'), { timeout: 10_000 }).toBe('true');
    const agentId = new URL(page.url()).hash.slice(1);

    await page.getByRole('button', { name: 'Link with QR code' }).click();
    const qr = page.getByRole('img', { name: /QR code to scan/ });
    await qr.waitFor({ state: 'visible', timeout: 20_000 });
    const firstImage = await qr.getAttribute('src');
    expect(firstImage).toMatch(/^data:image\/png;base64,/);
    // Each code lives 4 s here (a 12 s window shared by 3 codes): the page shows the next one without a reload.
    await expect.poll(() => qr.getAttribute('src'), { timeout: 15_000 }).not.toBe(firstImage);
    const qrText = (await page.locator('#qr-text').textContent())?.trim() ?? '';
    expect(qrText.length).toBeGreaterThan(20);

    await simulator.sim.scan(qrText, { phone: PHONE });
    await expect.poll(() => page.locator('#status').textContent(), { timeout: 20_000 }).toBe('connected');
    expect(await qr.isVisible()).toBe(false);

    // Each session read follows an opening, an action or a broadcast of the agent's topic: with the
    // old 1.5 s polling the QR-to-connected run alone would add a read per 1.5 s on top.
    const [broadcasts] = await stack.sql`select count(*)::int as n from realtime.messages where topic = ${`agent:${agentId}`} and event = 'session_changed'`;
    expect(broadcasts!.n).toBeGreaterThan(2);
    expect(sessionGets.length).toBeLessThanOrEqual(broadcasts!.n + 3); // open, join, the link click
    // Nothing changes now, so nothing is read: longer than any polling interval the page ever had.
    const readsWhenIdle = sessionGets.length;
    await new Promise((r) => setTimeout(r, 6_000));
    expect(sessionGets.length).toBe(readsWhenIdle);

    await page.locator('#rename-form').getByLabel('Name').fill('Sales line');
    await page.getByRole('button', { name: 'Rename' }).click();
    await expect.poll(() => page.locator('#agent-title').textContent(), { timeout: 10_000 }).toBe('Sales line');
    await expect.poll(() => page.locator('#agent-list').textContent(), { timeout: 10_000 }).toContain('Sales line');

    const sendForm = page.locator('#send-form');
    await sendForm.getByLabel('To', { exact: true }).fill(`+${CONTACT}`);
    await sendForm.getByLabel('Text', { exact: true }).fill('Hello from the page');
    await sendForm.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => page.locator('#send-result').textContent(), { timeout: 10_000 }).toMatch(/^Queued /);
    const row = page.locator('#messages tbody tr', { hasText: 'Hello from the page' });
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 20_000 }).toBe('read');
    expect(simulator.sim.received(CONTACT).some((m) => (m.content.conversation ?? m.content.extendedTextMessage?.text) === 'Hello from the page')).toBe(true);
    await expect.poll(async () => (await page.locator('#events li').allTextContents()).join('\n'), { timeout: 10_000 }).toContain('message.status');
    const today = new Date().toISOString().slice(0, 10);
    const todayRow = page.locator(`#stats tbody tr[data-day="${today}"] td`);
    await expect.poll(async () => Number(await todayRow.nth(1).textContent()), { timeout: 10_000 }).toBeGreaterThanOrEqual(1); // sent

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT) && statSync(SCREENSHOT).size > 1000).toBe(true);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    await page.reload();
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    expect(await page.locator('#agents').isHidden()).toBe(true);
    await context.close();
  }, 90_000);

  it('an address-bar hash that is not an agent id never reaches an API path (a crafted link cannot redirect its calls)', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const apiPaths: string[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.pathname.includes('/v1/')) apiPaths.push(`${r.method()} ${url.pathname}${url.search}`);
    });
    const webhook = '8a6e0804-2bd0-4672-b79d-d97027f9071a';
    await page.goto(`${stack.url}/#../webhooks/${webhook}/test?`);
    await page.getByLabel('Token or API key').fill(stack.token);
    await page.getByRole('button', { name: 'Sign in' }).first().click();
    await expect.poll(() => apiPaths.some((p) => p.startsWith('GET /gateway/v1/agents')), { timeout: 10_000 }).toBe(true);
    await page.evaluate(() => { location.hash = '../../v1/keys?'; });
    await page.getByLabel('New agent').waitFor({ state: 'visible' });
    await new Promise((r) => setTimeout(r, 2_000)); // an open agent would have made its first calls
    expect(apiPaths.filter((p) => p.includes(webhook) || p.includes('/keys') || p.includes('..'))).toEqual([]);
    expect(await page.locator('#agent').isHidden()).toBe(true);
    await context.close();
  }, 60_000);
});
