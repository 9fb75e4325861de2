// The connector end to end: real PostgreSQL, real Baileys sockets, the WhatsApp simulator.
// Linking by QR (published on the session row) and by pairing code, restart without a new QR,
// and no key material in the logs of the whole run.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { credsAd, encodeValue } from '../../connector/auth-state/codec.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import { LogCapture, sessionRow, startTestConnector, type TestConnector, testEnv, waitFor } from '../../scripts/harness/connector.ts';
import { scanPublishedQr, waitForStatus } from '../helpers/connector-sim.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createAgent, createRunningAgent, createUser, setPlan } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sim: Simulator;
let untrust: () => void;
let owner: string;
const logs = new LogCapture();
const running: TestConnector[] = [];

beforeAll(async () => {
  installCertificateVerification();
  db = await createTestDatabase();
  sim = await startSimulator();
  untrust = trustSimulatorRoot(sim);
  owner = await createUser(db.sql);
  await setPlan(db.sql, owner, 'max');
});
// A failed test must not leave its connector claiming the next test's sessions.
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop().catch(() => {})));
});
afterAll(async () => {
  untrust();
  await sim.stop();
  await db.drop();
});

async function connector(overrides: Record<string, string> = {}) {
  const c = await startTestConnector(testEnv(db.url, sim.url, { LOG_LEVEL: 'trace', BAILEYS_LOG_LEVEL: 'trace', ...overrides }), { logs });
  running.push(c);
  return c;
}

const qrEvents = async (agentId: string) =>
  (await db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = 'session.status' and payload->>'status' = 'qr'`)[0]!.n as number;

describe('connector: linking', () => {
  it('links by QR, then a restarted connector resumes the session without a new QR', async () => {
    const agentId = await createRunningAgent(db.sql, owner, 'qr');
    const first = await connector();
    await scanPublishedQr(db.sql, sim, agentId, '15551000001');
    const row = await waitForStatus(db.sql, agentId, 'connected');
    expect(row.phone_number).toBe('15551000001');
    expect(row.linked_jid).toBe('15551000001@s.whatsapp.net');
    expect(row.qr_code).toBeNull();
    expect(row.link_method).toBeNull();
    expect(first.connector.directory.open().map((s) => s.agentId)).toEqual([agentId]);
    expect(first.connector.directory.get(agentId)?.isOpen()).toBe(true);
    const [keys] = await db.sql`select count(*)::int as n from private.signal_keys where agent_id = ${agentId} and key_type = 'pre-key'`;
    expect(keys!.n).toBeGreaterThan(30);
    const [creds] = await db.sql`select count(*)::int as n from private.session_credentials where agent_id = ${agentId}`;
    expect(creds!.n).toBe(1);
    const qrsBefore = await qrEvents(agentId);
    expect(qrsBefore).toBe(1);

    await first.stop();
    await waitFor(() => sim.observe('15551000001').live === 0, 5_000, 'socket closed at the simulator');
    const second = await connector();
    await waitFor(() => second.connector.directory.get(agentId)?.isOpen(), 20_000, 'resumed');
    expect(await qrEvents(agentId)).toBe(qrsBefore);
    expect(sim.observe('15551000001')).toMatchObject({ live: 1, maxLive: 1, uploadedPreKeys: 812 });
    await waitForStatus(db.sql, agentId, 'connected', 5_000);
    await second.stop();
  });

  it('links by pairing code published on the session row', async () => {
    const agentId = await createAgent(db.sql, owner, 'code');
    await db.sql`select gateway.request_link(${owner}, ${agentId}, 'pairing_code', '15551000002')`;
    const c = await connector();
    const row = await waitForStatus(db.sql, agentId, 'pairing_code');
    expect(row.pairing_code).toMatch(/^[A-Z0-9]{8}$/);
    await sim.completePairingCode('15551000002', row.pairing_code as string);
    const linked = await waitForStatus(db.sql, agentId, 'connected');
    expect(linked.phone_number).toBe('15551000002');
    expect(linked.pairing_code).toBeNull();
    await c.stop();
  });

  it('stops after 3 QR codes with qr_timeout, wipes the attempt and does not loop', async () => {
    const agentId = await createRunningAgent(db.sql, owner, 'timeout');
    // qrMax 1 keeps the test short; the policy is the same for the default 3.
    const c = await connector({ WA_QR_MAX: '1', WA_QR_TIMEOUT_MS: '1000' });
    const row = await waitForStatus(db.sql, agentId, 'qr_timeout', 90_000);
    expect(row.desired_state).toBe('disconnected');
    expect(row.qr_code).toBeNull();
    // The lease is handed back right after the terminal status is written, not in its statement.
    const released = await waitFor(async () => {
      const r = await sessionRow(db.sql, agentId);
      return r.owner_connector_id === null ? r : undefined;
    }, 5_000, `lease release of ${agentId}`);
    expect(released.status).toBe('qr_timeout');
    const [creds] = await db.sql`select count(*)::int as n from private.session_credentials where agent_id = ${agentId}`;
    expect(creds!.n).toBe(0);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(c.connector.manager.holdings().filter((h) => h.agentId === agentId)).toEqual([]);
    expect(await qrEvents(agentId)).toBe(1);
    await c.stop();
  }, 120_000);

  it('tampered creds (they do not authenticate) are handed back with one alert, never failed, never a crash loop', async () => {
    const agentId = await createRunningAgent(db.sql, owner, 'tampered');
    const c1 = await connector();
    await scanPublishedQr(db.sql, sim, agentId, '15551000003');
    await waitForStatus(db.sql, agentId, 'connected');
    await c1.stop();
    await db.sql`update private.session_credentials set ciphertext = set_byte(ciphertext, 30, get_byte(ciphertext, 30) # 255) where agent_id = ${agentId}`;
    const c2 = await connector();
    const alert = await waitFor(async () => {
      const [ev] = await db.sql`select payload from public.events where agent_id = ${agentId} and type = 'alert.auth_state_unreadable'`;
      return ev;
    }, 10_000, 'unreadable alert');
    expect(alert.payload.reason).toMatch(/stored creds cannot be opened: ciphertext failed authentication/);
    await waitFor(async () => (await sessionRow(db.sql, agentId)).owner_connector_id === null, 5_000, 'lease handed back');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(c2.connector.manager.holdings().filter((h) => h.agentId === agentId)).toEqual([]);
    const [again] = await db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = 'alert.auth_state_unreadable'`;
    expect(again!.n).toBe(1);
    const row = await sessionRow(db.sql, agentId);
    expect(row.status).not.toBe('failed');
    expect(row.desired_state).toBe('connected');
    expect(sim.observe('15551000003').live).toBe(0);
    await c2.stop();
    await db.sql`update public.whatsapp_sessions set desired_state = 'disconnected' where agent_id = ${agentId}`;
  });

  it('creds that decrypt but are malformed mark the session failed with an event, never a crash loop', async () => {
    const agentId = await createRunningAgent(db.sql, owner, 'malformed');
    const c1 = await connector();
    await scanPublishedQr(db.sql, sim, agentId, '15551000004');
    await waitForStatus(db.sql, agentId, 'connected');
    await c1.stop();
    const sealed = await encodeValue(c1.config.keyring, { noiseKey: 'not a key pair' }, credsAd(agentId));
    await db.sql`update private.session_credentials set ciphertext = ${sealed.ciphertext}, key_version = ${sealed.keyVersion} where agent_id = ${agentId}`;
    const c2 = await connector();
    const row = await waitForStatus(db.sql, agentId, 'failed', 10_000);
    expect(row.desired_state).toBe('disconnected');
    const [ev] = await db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = 'alert.auth_state_corrupt'`;
    expect(ev!.n).toBe(1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(c2.connector.manager.holdings().filter((h) => h.agentId === agentId)).toEqual([]);
    const [again] = await db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = 'alert.auth_state_corrupt'`;
    expect(again!.n).toBe(1);
    expect(sim.observe('15551000004').live).toBe(0);
    await c2.stop();
  });

  it('leaves no key material and no full phone number in the logs of the run', async () => {
    const secrets: string[] = [];
    const rows = await db.sql`select agent_id from private.session_credentials`;
    expect(rows.length).toBeGreaterThan(0);
    // What the database holds in plaintext-equivalent: decrypt every creds row and collect keys.
    const { loadConfig } = await import('../../connector/config.ts');
    const { decodeValue, credsAd } = await import('../../connector/auth-state/codec.ts');
    const config = await loadConfig(testEnv(db.url));
    for (const r of await db.sql`select agent_id, ciphertext, key_version from private.session_credentials`) {
      const creds = (await decodeValue(config.keyring, r.ciphertext, r.key_version, credsAd(r.agent_id)).catch(() => undefined)) as Record<string, any> | undefined;
      if (!creds?.signedPreKey) continue; // the rows tampered with above
      for (const pair of [creds.noiseKey, creds.signedIdentityKey, creds.signedPreKey.keyPair, creds.pairingEphemeralKeyPair]) {
        secrets.push(Buffer.from(pair.private).toString('base64'), Buffer.from(pair.private).toString('hex'));
      }
      secrets.push(creds.advSecretKey);
    }
    const text = logs.text();
    expect(text.length).toBeGreaterThan(1000); // trace logging of Baileys was on
    for (const s of secrets) expect(text).not.toContain(s);
    for (const phone of ['15551000001', '15551000002', '15551000003', '15551000004']) expect(text).not.toContain(phone);
  });
});
