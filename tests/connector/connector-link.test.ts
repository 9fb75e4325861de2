// The connector end to end: real PostgreSQL, real Baileys sockets, the WhatsApp simulator.
// Linking by QR (published on the session row) and by pairing code, restart without a new QR,
// and no key material in the logs of the whole run.
import { afterEach, describe, expect, it } from 'vitest';
import { credsAd, encodeValue } from '../../connector/auth-state/codec.ts';
import { LogCapture, sessionRow, testEnv, waitFor } from '../../scripts/harness/connector.ts';
import { scanPublishedQr, waitForStatus } from '../helpers/connector-sim.ts';
import { createAgent, createRunningAgent } from '../helpers/fixtures.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const logs = new LogCapture();

const stack = useSimulatorStack({ database: true });
// A failed test must not leave its connector claiming the next test's sessions.
afterEach(() => stack.stopConnectors());

const connector = (overrides: Record<string, string> = {}) => stack.connector({ LOG_LEVEL: 'trace', BAILEYS_LOG_LEVEL: 'trace', ...overrides }, { logs });

const qrEvents = async (agentId: string) =>
  (await stack.db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = 'session.status' and payload->>'status' = 'qr'`)[0]!.n as number;

describe('connector: linking', () => {
  it('links by QR, then a restarted connector resumes the session without a new QR', async () => {
    const agentId = await createRunningAgent(stack.db.sql, stack.owner, 'qr');
    const first = await connector();
    await scanPublishedQr(stack.db.sql, stack.sim, agentId, '15551000001');
    const row = await waitForStatus(stack.db.sql, agentId, 'connected');
    expect(row.phone_number).toBe('15551000001');
    expect(row.linked_jid).toBe('15551000001@s.whatsapp.net');
    expect(row.qr_code).toBeNull();
    expect(row.link_method).toBeNull();
    expect(first.connector.directory.open().map((s) => s.agentId)).toEqual([agentId]);
    expect(first.connector.directory.get(agentId)?.isOpen()).toBe(true);
    const [keys] = await stack.db.sql`select count(*)::int as n from private.signal_keys where agent_id = ${agentId} and key_type = 'pre-key'`;
    expect(keys!.n).toBeGreaterThan(30);
    const [creds] = await stack.db.sql`select count(*)::int as n from private.session_credentials where agent_id = ${agentId}`;
    expect(creds!.n).toBe(1);
    const qrsBefore = await qrEvents(agentId);
    expect(qrsBefore).toBe(1);

    await first.stop();
    await waitFor(() => stack.sim.observe('15551000001').live === 0, 5_000, 'socket closed at the simulator');
    const second = await connector();
    await waitFor(() => second.connector.directory.get(agentId)?.isOpen(), 20_000, 'resumed');
    expect(await qrEvents(agentId)).toBe(qrsBefore);
    expect(stack.sim.observe('15551000001')).toMatchObject({ live: 1, maxLive: 1, uploadedPreKeys: 812 });
    await waitForStatus(stack.db.sql, agentId, 'connected', 5_000);
    await second.stop();
  });

  it('links by pairing code published on the session row', async () => {
    const agentId = await createAgent(stack.db.sql, stack.owner, 'code');
    await stack.db.sql`select gateway.request_link(${stack.owner}, ${agentId}, 'pairing_code', '15551000002')`;
    const c = await connector();
    const row = await waitForStatus(stack.db.sql, agentId, 'pairing_code');
    expect(row.pairing_code).toMatch(/^[A-Z0-9]{8}$/);
    await stack.sim.completePairingCode('15551000002', row.pairing_code as string);
    const linked = await waitForStatus(stack.db.sql, agentId, 'connected');
    expect(linked.phone_number).toBe('15551000002');
    expect(linked.pairing_code).toBeNull();
    await c.stop();
  });

  it('stops after 3 QR codes with qr_timeout, wipes the attempt and does not loop', async () => {
    const agentId = await createRunningAgent(stack.db.sql, stack.owner, 'timeout');
    // qrMax 1 keeps the test short; the policy is the same for the default 3.
    const c = await connector({ WA_QR_MAX: '1', WA_QR_TIMEOUT_MS: '1000' });
    const row = await waitForStatus(stack.db.sql, agentId, 'qr_timeout', 90_000);
    expect(row.desired_state).toBe('disconnected');
    expect(row.qr_code).toBeNull();
    // The lease is handed back right after the terminal status is written, not in its statement.
    const released = await waitFor(async () => {
      const r = await sessionRow(stack.db.sql, agentId);
      return r.owner_connector_id === null ? r : undefined;
    }, 5_000, `lease release of ${agentId}`);
    expect(released.status).toBe('qr_timeout');
    const [creds] = await stack.db.sql`select count(*)::int as n from private.session_credentials where agent_id = ${agentId}`;
    expect(creds!.n).toBe(0);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(c.connector.manager.holdings().filter((h) => h.agentId === agentId)).toEqual([]);
    expect(await qrEvents(agentId)).toBe(1);
    await c.stop();
  }, 120_000);

  it('a link attempt ends with qr_timeout once its window has passed; its codes share the window', async () => {
    const agentId = await createRunningAgent(stack.db.sql, stack.owner, 'window');
    const window = 3_000;
    const c = await connector({ WA_QR_MAX: '3', WA_QR_TIMEOUT_MS: String(window) });
    const shown = await waitForStatus(stack.db.sql, agentId, 'qr');
    // Read after the code was published, so an expiry within the window is always below this bound.
    expect(new Date(shown.qr_expires_at).getTime()).toBeLessThanOrEqual(Date.now() + window);
    const row = await waitForStatus(stack.db.sql, agentId, 'qr_timeout', 30_000);
    expect(row.desired_state).toBe('disconnected');
    expect(row.qr_code).toBeNull();
    expect(await qrEvents(agentId)).toBeLessThanOrEqual(3);
    const [creds] = await stack.db.sql`select count(*)::int as n from private.session_credentials where agent_id = ${agentId}`;
    expect(creds!.n).toBe(0);
    await c.stop();
  });

  it('tampered creds (they do not authenticate) are handed back with one alert, never failed, never a crash loop', async () => {
    const agentId = await createRunningAgent(stack.db.sql, stack.owner, 'tampered');
    const c1 = await connector();
    await scanPublishedQr(stack.db.sql, stack.sim, agentId, '15551000003');
    await waitForStatus(stack.db.sql, agentId, 'connected');
    await c1.stop();
    await stack.db.sql`update private.session_credentials set ciphertext = set_byte(ciphertext, 30, get_byte(ciphertext, 30) # 255) where agent_id = ${agentId}`;
    const c2 = await connector();
    const alert = await waitFor(async () => {
      const [ev] = await stack.db.sql`select payload from public.events where agent_id = ${agentId} and type = 'alert.auth_state_unreadable'`;
      return ev;
    }, 10_000, 'unreadable alert');
    expect(alert.payload.reason).toMatch(/stored creds cannot be opened: ciphertext failed authentication/);
    await waitFor(async () => (await sessionRow(stack.db.sql, agentId)).owner_connector_id === null, 5_000, 'lease handed back');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(c2.connector.manager.holdings().filter((h) => h.agentId === agentId)).toEqual([]);
    const [again] = await stack.db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = 'alert.auth_state_unreadable'`;
    expect(again!.n).toBe(1);
    const row = await sessionRow(stack.db.sql, agentId);
    expect(row.status).not.toBe('failed');
    expect(row.desired_state).toBe('connected');
    expect(stack.sim.observe('15551000003').live).toBe(0);
    await c2.stop();
    await stack.db.sql`update public.whatsapp_sessions set desired_state = 'disconnected' where agent_id = ${agentId}`;
  });

  it('creds that decrypt but are malformed mark the session failed with an event, never a crash loop', async () => {
    const agentId = await createRunningAgent(stack.db.sql, stack.owner, 'malformed');
    const c1 = await connector();
    await scanPublishedQr(stack.db.sql, stack.sim, agentId, '15551000004');
    await waitForStatus(stack.db.sql, agentId, 'connected');
    await c1.stop();
    const sealed = await encodeValue(c1.config.keyring, { noiseKey: 'not a key pair' }, credsAd(agentId));
    await stack.db.sql`update private.session_credentials set ciphertext = ${sealed.ciphertext}, key_version = ${sealed.keyVersion} where agent_id = ${agentId}`;
    const c2 = await connector();
    const row = await waitForStatus(stack.db.sql, agentId, 'failed', 10_000);
    expect(row.desired_state).toBe('disconnected');
    const [ev] = await stack.db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = 'alert.auth_state_corrupt'`;
    expect(ev!.n).toBe(1);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(c2.connector.manager.holdings().filter((h) => h.agentId === agentId)).toEqual([]);
    const [again] = await stack.db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = 'alert.auth_state_corrupt'`;
    expect(again!.n).toBe(1);
    expect(stack.sim.observe('15551000004').live).toBe(0);
    await c2.stop();
  });

  it('leaves no key material and no full phone number in the logs of the run', async () => {
    const secrets: string[] = [];
    const rows = await stack.db.sql`select agent_id from private.session_credentials`;
    expect(rows.length).toBeGreaterThan(0);
    // What the database holds in plaintext-equivalent: decrypt every creds row and collect keys.
    const { loadConfig } = await import('../../connector/config.ts');
    const { decodeValue, credsAd } = await import('../../connector/auth-state/codec.ts');
    const config = await loadConfig(testEnv(stack.db.url));
    for (const r of await stack.db.sql`select agent_id, ciphertext, key_version from private.session_credentials`) {
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
