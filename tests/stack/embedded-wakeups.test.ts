// The embedded database of `npm start` wakes the connector: with the outbound queue's polling and
// the connector's sweep pushed out to a minute, a link request and a queued message still reach
// the simulator, because the trigger's notifications (raised by statements that arrive over the
// PGlite socket) are read in-process and nudge the sweep and the outbound worker.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { type LocalStack, startLocalStack } from '../../scripts/dev/stack.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';

const PHONE = '15550124571';
const CONTACT = '447700900871';
// Far beyond every wait below: only a wake-up can make the connector act in time.
const POLL_MS = '60000';

let sim: Simulator;
let untrust: () => void;
let stack: LocalStack;
const dataDir = mkdtempSync(path.join(tmpdir(), 'wa-gateway-embedded-wakeups-'));

beforeAll(async () => {
  installConsoleScrub(pino({ level: 'silent' }));
  installCertificateVerification();
  sim = await startSimulator();
  untrust = trustSimulatorRoot(sim);
  sim.addContact(CONTACT);
  stack = await startLocalStack({
    dataDir,
    port: 0,
    logLevel: 'error',
    env: {
      WA_WEBSOCKET_URL: sim.url,
      MESSAGES_MIN_INTERVAL_MS: '0',
      MESSAGES_JITTER_MS: '0',
      MESSAGES_RECIPIENT_INTERVAL_MS: '0',
      MESSAGES_POLL_INTERVAL_MS: POLL_MS,
      CONNECTOR_SWEEP_INTERVAL_MS: POLL_MS,
    },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await sim?.stop();
  untrust?.();
  rmSync(dataDir, { recursive: true, force: true });
});

async function api(method: string, route: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${stack.apiBase}${route}`, {
    method,
    headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('the embedded database wakes the connector', () => {
  it('links an agent and sends a queued message with polling and sweeps a minute apart', async () => {
    expect(stack.embedded).toBe(true);
    const created = await api('POST', '/v1/agents', { name: 'woken' });
    expect(created.status).toBe(201);
    const agentId = created.json.id as string;

    const link = await api('POST', `/v1/agents/${agentId}/session/link`, { method: 'pairing_code', phone: `+${PHONE}` });
    expect(link.status).toBeLessThan(300);
    let code: string | undefined;
    await expect
      .poll(async () => {
        code = ((await api('GET', `/v1/agents/${agentId}/session`)).json.pairingCode as string | null) ?? undefined;
        return code;
      }, { timeout: 20_000 })
      .toMatch(/^[A-Z0-9-]{8,9}$/);
    await sim.completePairingCode(PHONE, code!);
    await expect.poll(async () => (await api('GET', `/v1/agents/${agentId}/session`)).json.status, { timeout: 20_000 }).toBe('connected');

    const sent = await api('POST', `/v1/agents/${agentId}/messages`, { to: `+${CONTACT}`, type: 'text', text: 'woken, not polled' });
    expect(sent.status).toBe(202);
    await expect
      .poll(() => sim.received(CONTACT).some((m) => (m.content.conversation ?? m.content.extendedTextMessage?.text) === 'woken, not polled'), { timeout: 20_000 })
      .toBe(true);
  }, 90_000);
});
