/**
 * npm run demo — the whole flow offline, against the WhatsApp simulator instead of WhatsApp:
 * create an agent, show its QR, scan it with the simulated phone, connected, send a text to a
 * simulated contact, delivered, read, an inbound reply, and a signed webhook received and
 * verified by a local receiver. Every step goes through the HTTP API as a customer would, the
 * receiver included: the stack runs with the development switches GATEWAY_ALLOW_PRIVATE_URLS and
 * GATEWAY_ALLOW_HTTP_WEBHOOKS, so the API accepts and the connector delivers to
 * http://127.0.0.1:<port>/hook. The receiver verifies with the `standardwebhooks` package alone.
 * Exits 0 when every step passed, 1 with the failing step otherwise.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import QRCode from 'qrcode';
import { Webhook } from 'standardwebhooks';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { createLogger } from '../../connector/logging/logger.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import { startLocalStack } from './stack.ts';

const say = (text: string) => process.stdout.write(`${text}\n`);
installConsoleScrub(createLogger({ level: 'silent' }));
installCertificateVerification();

const PHONE = '15550100200';
const CONTACT = '447700900123';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let stepName = 'starting';
const step = (name: string) => {
  stepName = name;
};
async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const dataDir = mkdtempSync(path.join(tmpdir(), 'wa-gateway-demo-'));
const sim = await startSimulator({ deliveredAfterMs: 400, readAfterMs: 1_200 });
const untrust = trustSimulatorRoot(sim);
sim.addContact(CONTACT);

// The customer's webhook receiver: verifies every request's signature before believing it.
let secret = '';
const verified: Array<{ type: string; data: Record<string, unknown> }> = [];
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    try {
      verified.push(new Webhook(secret).verify(body, req.headers as Record<string, string>) as (typeof verified)[number]);
      res.writeHead(204).end();
    } catch {
      res.writeHead(401).end();
    }
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

const stack = await startLocalStack({
  dataDir,
  port: Number(process.env.PORT ?? 0),
  logLevel: 'error',
  env: {
    WA_WEBSOCKET_URL: sim.url,
    MESSAGES_MIN_INTERVAL_MS: '0',
    MESSAGES_JITTER_MS: '0',
    MESSAGES_RECIPIENT_INTERVAL_MS: '0',
    MESSAGES_POLL_INTERVAL_MS: '200',
    WEBHOOK_POLL_INTERVAL_MS: '200',
    GATEWAY_ALLOW_PRIVATE_URLS: 'true',
    GATEWAY_ALLOW_HTTP_WEBHOOKS: 'true',
  },
});

async function api<T = Record<string, unknown>>(method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.apiBase}${route}`, {
    method,
    headers: { authorization: `Bearer ${stack.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = (await res.json().catch(() => ({}))) as T;
  if (!res.ok) throw new Error(`${method} ${route} answered ${res.status}: ${JSON.stringify(data)}`);
  return data;
}

let failed = false;
try {
  say(`wa-gateway demo — API ${stack.apiBase}, WhatsApp simulator ${sim.url}\n`);

  step('create an agent');
  const agent = await api<{ id: string }>('POST', '/v1/agents', { name: 'demo number' });
  say(`1. agent created: ${agent.id}`);

  step('register a webhook receiver');
  const hook = await api<{ secret: string }>('POST', '/v1/webhooks', {
    url: receiverUrl, agentId: agent.id, eventTypes: ['message.received', 'message.status', 'session.status'], description: 'demo receiver',
  });
  secret = hook.secret;
  say(`2. webhook receiver listening at ${receiverUrl}`);

  step('show the QR code');
  await api('POST', `/v1/agents/${agent.id}/session/link`, { method: 'qr' });
  const qrText = await until('a QR code', async () => (await api<{ qr: { text: string } | null }>('GET', `/v1/agents/${agent.id}/session`)).qr?.text);
  say(`3. QR code published:\n${await QRCode.toString(qrText, { type: 'terminal', small: true })}`);

  step('scan');
  await sim.scan(qrText, { phone: PHONE });
  say(`4. scanned by the simulated phone +${PHONE}`);

  step('connected');
  await until('status connected', async () => (await api<{ status: string }>('GET', `/v1/agents/${agent.id}/session`)).status === 'connected');
  say('5. session connected');

  step('send');
  const sent = await api<{ id: string; waMessageId: string }>('POST', `/v1/agents/${agent.id}/messages`, { to: `+${CONTACT}`, type: 'text', text: 'Hello from wa-gateway' });
  say(`6. message accepted (202): ${sent.id}`);
  const statusOf = async () => (await api<{ status: string }>('GET', `/v1/agents/${agent.id}/messages/${sent.id}`)).status;

  step('delivered');
  await until('delivered', async () => ['delivered', 'read'].includes(await statusOf()));
  const got = sim.received(CONTACT).find((m) => m.id === sent.waMessageId);
  say(`7. delivered: the contact decrypted "${got?.content.conversation ?? got?.content.extendedTextMessage?.text}"`);

  step('read');
  await until('read', async () => (await statusOf()) === 'read');
  say('8. read');

  step('inbound reply');
  const reply = await sim.inject(PHONE, { from: CONTACT, text: 'Hi! Got it.' });
  await until('the inbound reply', async () => {
    const [row] = await stack.sql`select 1 from public.inbound_messages where agent_id = ${agent.id} and wa_message_id = ${reply.id}`;
    return row !== undefined;
  });
  say('9. inbound reply stored: "Hi! Got it."');

  step('webhook received');
  await until('a verified message.received webhook', async () => verified.some((e) => e.type === 'message.received'));
  say(`10. webhooks received and verified by signature: ${[...new Set(verified.map((e) => e.type))].join(', ')}`);
  say('\ndemo passed: every step worked offline.');
} catch (error) {
  failed = true;
  process.stderr.write(`\ndemo failed at "${stepName}": ${(error as Error).message}\n`);
} finally {
  await stack.stop();
  await sim.stop();
  untrust();
  receiver.close();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
