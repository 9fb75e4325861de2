// The Prometheus metrics operators alert on (docs/monitoring.md), scraped from /metrics as
// Prometheus would while a real connector (messages and webhooks on) drives real Baileys sockets
// against the simulator: the per-agent gauge goes to 1 on connect, a 428 counts as
// connectionClosed and its reconnect is timed as after="close", a lost message is a send timeout
// and then sent, a 463 nack is a failed send, webhook deliveries count, a 401 counts as loggedOut
// and the agent's series go away; failed API authentications made through the real API app show
// up in the fleet gauges the connector reads from the database.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServer } from '../../connector/http/server.ts';
import { createMessagingExtension } from '../../connector/messages/messaging.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import { startTestConnector, TEST_WEBHOOK_KEY_HEX, type TestConnector, testEnv, waitFor } from '../../scripts/harness/connector.ts';
import { createKeyring } from '../../kernel/secret-box.ts';
import { type ApiHarness, createApiHarness } from '../helpers/api.ts';
import { scanPublishedQr, waitForStatus } from '../helpers/connector-sim.ts';
import { createRunningAgent, setPlan } from '../helpers/fixtures.ts';
import { createEndpoint } from '../helpers/messages-webhooks.ts';
import { startTestServer, type TestServer } from '../helpers/messages-http.ts';

const ACCOUNT = '15550009101';
const CONTACT = '447700900911';

let api: ApiHarness;
let sim: Simulator;
let untrust: () => void;
let tc: TestConnector;
let http: Awaited<ReturnType<typeof startHttpServer>>;
let receiver: TestServer;
let owner: string;
let agentId: string;

/** Prometheus text exposition → the sum of the samples of `name` whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  let found: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) found = (found ?? 0) + Number(m[3]);
  }
  return found;
}
const scrape = async () => {
  const res = await fetch(`${http.url}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
  return res.text();
};
const current = async (name: string, labels?: Record<string, string>) => sample(await scrape(), name, labels) ?? 0;
const until = (name: string, labels: Record<string, string>, test: (v: number | undefined) => boolean, timeoutMs = 15_000) =>
  waitFor(async () => {
    const v = sample(await scrape(), name, labels);
    return test(v) ? (v ?? true) : undefined;
  }, timeoutMs, `${name}${JSON.stringify(labels)}`);

beforeAll(async () => {
  installCertificateVerification();
  api = await createApiHarness();
  sim = await startSimulator();
  untrust = trustSimulatorRoot(sim);
  sim.addContact(CONTACT);
  receiver = await startTestServer();
  const user = await api.user();
  owner = user.id;
  await setPlan(api.db.sql, owner, 'max');
  const webhookRing = await createKeyring({ version: 1, key: Buffer.from(TEST_WEBHOOK_KEY_HEX, 'hex') });
  await createEndpoint(api.db.sql, webhookRing, { owner, url: `${receiver.url}/hook` });
  const env = testEnv(api.db.url, sim.url, {
    LOG_LEVEL: 'info',
    WEBHOOK_ALLOW_HTTP: 'true',
    WEBHOOK_POLL_INTERVAL_MS: '100',
    MESSAGES_POLL_INTERVAL_MS: '100',
    MESSAGES_RETRY_BASE_MS: '100',
    WA_SEND_TIMEOUT_MS: '1000',
    MESSAGES_MIN_INTERVAL_MS: '0',
    MESSAGES_JITTER_MS: '0',
    MESSAGES_RECIPIENT_INTERVAL_MS: '0',
  });
  tc = await startTestConnector(env, { extensions: [createMessagingExtension({ addressPolicy: { allowLoopbackForTests: true } })] });
  http = await startHttpServer({ registry: tc.connector.metrics.registry, ready: () => tc.connector.ready() }, 0, '127.0.0.1');
}, 60_000);

afterAll(async () => {
  await http?.close();
  await tc?.stop();
  await receiver?.close();
  untrust?.();
  await sim?.stop();
  await api?.close();
});

describe('connector metrics on /metrics', () => {
  it('failed API authentications show in the fleet gauges, read from the database at scrape time', async () => {
    // No scrape before the failures: the first one after them runs the query (then 10 s of reuse).
    // A real client with a wrong key, through the real API app, until the limit refuses it.
    let refused = false;
    for (let i = 0; i < 40 && !refused; i++) {
      const res = await api.call('GET', '/v1/agents', { token: 'wag_live_not_a_real_key_000000000000', headers: { 'x-forwarded-for': '203.0.113.50' } });
      expect([401, 429]).toContain(res.status);
      refused = res.status === 429;
    }
    expect(refused).toBe(true);
    const text = await scrape();
    expect(sample(text, 'wa_gateway_fleet_auth_failing_clients')).toBe(1);
    expect(sample(text, 'wa_gateway_fleet_auth_blocked_clients')).toBe(1);
    expect(sample(text, 'wa_gateway_fleet_stats_errors_total')).toBe(0);
  });

  it('a linked session is 1 in wa_gateway_session_connected, with its transition time; connects and claim-to-open are counted', async () => {
    agentId = await createRunningAgent(api.db.sql, owner, 'metrics');
    await scanPublishedQr(api.db.sql, sim, agentId, ACCOUNT);
    await waitForStatus(api.db.sql, agentId, 'connected');
    await until('wa_gateway_session_connected', { agent_id: agentId }, (v) => v === 1);
    const text = await scrape();
    const since = sample(text, 'wa_gateway_session_last_transition_timestamp_seconds', { agent_id: agentId })!;
    expect(since).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(since).toBeLessThanOrEqual(Date.now() / 1000 + 1);
    expect(sample(text, 'wa_gateway_session_connects_total')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'wa_gateway_session_reconnect_duration_seconds_count', { after: 'claim' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'wa_gateway_sessions', { status: 'connected' })).toBe(1);
    expect(sample(text, 'wa_gateway_heartbeat_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    await until('wa_gateway_fleet_sessions_connected', {}, (v) => v !== undefined && v >= 1, 20_000);
  }, 60_000);

  it('webhook deliveries are counted by outcome', async () => {
    await until('wa_gateway_webhook_deliveries_total', { outcome: 'delivered' }, (v) => v !== undefined && v >= 1);
    expect(receiver.requests.length).toBeGreaterThanOrEqual(1);
  });

  it('a 428 counts as connectionClosed; its reconnect is timed as after="close"; the gauge is 1 again', async () => {
    const labels = { code: '428', reason: 'connectionClosed', action: 'backoff' };
    const before = await current('wa_gateway_session_disconnects_total', labels);
    const timedBefore = await current('wa_gateway_session_reconnect_duration_seconds_count', { after: 'close' });
    expect(sim.fault(ACCOUNT, 'close')).toBe(1);
    await until('wa_gateway_session_disconnects_total', labels, (v) => v === before + 1);
    await until('wa_gateway_session_reconnect_duration_seconds_count', { after: 'close' }, (v) => v === timedBefore + 1);
    await until('wa_gateway_session_connected', { agent_id: agentId }, (v) => v === 1);
  }, 30_000);

  it('a message WhatsApp never acknowledges is a send timeout, then sent; a 463 nack is a failed send', async () => {
    await waitFor(() => tc.connector.directory.get(agentId)?.isOpen(), 10_000, 'open');
    const timeoutsBefore = await current('wa_gateway_message_send_timeouts_total');
    const sentBefore = await current('wa_gateway_message_send_attempts_total', { outcome: 'sent' });
    sim.fault(ACCOUNT, 'lose_next_message');
    const [lost] = await api.db.sql`select id from gateway.enqueue_message(${owner}, ${agentId}, ${CONTACT}, 'text', ${api.db.sql.json({ text: 'lost once' })})`;
    await until('wa_gateway_message_send_timeouts_total', {}, (v) => v === timeoutsBefore + 1);
    expect(await current('wa_gateway_message_send_attempts_total', { outcome: 'retry', error_code: 'send_timeout' })).toBeGreaterThanOrEqual(1);
    await until('wa_gateway_message_send_attempts_total', { outcome: 'sent' }, (v) => v === sentBefore + 1);
    expect((await api.db.sql`select status from public.messages where id = ${lost!.id}`)[0]!.status).not.toBe('queued');

    sim.fault(ACCOUNT, 'nack_next_463');
    await api.db.sql`select id from gateway.enqueue_message(${owner}, ${agentId}, ${CONTACT}, 'text', ${api.db.sql.json({ text: 'refused' })})`;
    await until('wa_gateway_message_send_attempts_total', { outcome: 'failed', error_code: '463' }, (v) => v === 1);
  }, 30_000);

  it('a 401 counts as loggedOut (action logout) and the agent\'s per-agent series go away', async () => {
    const labels = { code: '401', reason: 'loggedOut', action: 'logout' };
    const before = await current('wa_gateway_session_disconnects_total', labels);
    sim.fault(ACCOUNT, 'device_removed');
    await waitForStatus(api.db.sql, agentId, 'logged_out', 10_000);
    await until('wa_gateway_session_disconnects_total', labels, (v) => v === before + 1);
    await until('wa_gateway_session_connected', { agent_id: agentId }, (v) => v === undefined);
    expect(sample(await scrape(), 'wa_gateway_session_last_transition_timestamp_seconds', { agent_id: agentId })).toBeUndefined();
  }, 30_000);
});
