// The generated TypeScript client (clients/typescript: types from docs/openapi.json by
// openapi-typescript, calls by openapi-fetch) runs the quick-start flow against the local stack
// of `npm start` pointed at the WhatsApp simulator: create an agent, link it with a pairing code,
// send a message, follow it to `read`, and meet an error in the one JSON shape. The document is
// the one the running stack serves.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatewayClient } from '../../clients/typescript/index.ts';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { type LocalStack, startLocalStack } from '../../scripts/dev/stack.ts';
import { OPENAPI_FILE } from '../../scripts/docs/openapi.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';

const PHONE = '15550124567';
const CONTACT = '447700900888';

let sim: Simulator;
let untrust: () => void;
let stack: LocalStack;
const dataDir = mkdtempSync(path.join(tmpdir(), 'wa-gateway-client-'));

beforeAll(async () => {
  installConsoleScrub(pino({ level: 'silent' }));
  installCertificateVerification();
  sim = await startSimulator({ deliveredAfterMs: 100, readAfterMs: 300 });
  untrust = trustSimulatorRoot(sim);
  sim.addContact(CONTACT);
  stack = await startLocalStack({
    dataDir,
    port: 0,
    logLevel: 'error',
    env: { WA_WEBSOCKET_URL: sim.url, MESSAGES_MIN_INTERVAL_MS: '0', MESSAGES_JITTER_MS: '0', MESSAGES_RECIPIENT_INTERVAL_MS: '0', MESSAGES_POLL_INTERVAL_MS: '200' },
  });
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await sim?.stop();
  untrust?.();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the generated TypeScript client', () => {
  it('is generated from the document the gateway serves', async () => {
    const served = await (await fetch(`${stack.apiBase}/openapi.json`)).json();
    expect(served).toEqual(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
  });

  it('runs the quick start: agent, pairing code, send, read', async () => {
    const gateway = createGatewayClient({ baseUrl: stack.apiBase, token: stack.token });

    const created = await gateway.POST('/v1/agents', { body: { name: 'typed client' } });
    expect(created.response.status).toBe(201);
    const agentId = created.data!.id;

    const link = await gateway.POST('/v1/agents/{agentId}/session/link', { params: { path: { agentId } }, body: { method: 'pairing_code', phone: `+${PHONE}` } });
    expect(link.response.status).toBeLessThan(300);
    let code: string | undefined;
    await expect.poll(async () => {
      const { data } = await gateway.GET('/v1/agents/{agentId}/session', { params: { path: { agentId } } });
      code = data?.pairingCode ?? undefined;
      return code;
    }, { timeout: 20_000 }).toMatch(/^[A-Z0-9-]{8,9}$/);
    await sim.completePairingCode(PHONE, code!);
    await expect.poll(async () => (await gateway.GET('/v1/agents/{agentId}/session', { params: { path: { agentId } } })).data?.status, { timeout: 20_000 }).toBe('connected');

    const sent = await gateway.POST('/v1/agents/{agentId}/messages', { params: { path: { agentId } }, body: { to: `+${CONTACT}`, type: 'text', text: 'Hello from the typed client' } });
    expect(sent.response.status).toBe(202);
    const messageId = sent.data!.id;
    await expect.poll(async () => (await gateway.GET('/v1/agents/{agentId}/messages/{messageId}', { params: { path: { agentId, messageId } } })).data?.status, { timeout: 20_000 }).toBe('read');
    expect(sim.received(CONTACT).some((m) => (m.content.conversation ?? m.content.extendedTextMessage?.text) === 'Hello from the typed client')).toBe(true);

    const missing = await gateway.GET('/v1/agents/{agentId}', { params: { path: { agentId: '00000000-0000-4000-8000-000000000000' } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error).toMatchObject({ error: { code: 'not_found', requestId: expect.any(String) } });
  }, 90_000);
});
