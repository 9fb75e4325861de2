// Real Baileys against the simulator: QR pairing, the 515 restart, login, pre-key upload, and a
// second login with the same creds.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import {
  connectClient,
  endAllClients,
  makeTestAuthState,
  waitForClose,
  waitForOpen,
  waitForQr,
} from '../../scripts/harness/simulator-client.ts';

let sim: Simulator;
let untrust: () => void;

beforeAll(async () => {
  sim = await startSimulator();
  untrust = trustSimulatorRoot(sim);
});
afterEach(() => endAllClients());
afterAll(async () => {
  untrust();
  await sim.stop();
});

describe('simulator: linking by QR', () => {
  it('shows a QR, is scanned, restarts with 515, logs in and uploads pre-keys', async () => {
    const auth = makeTestAuthState();
    const first = connectClient(sim, auth);
    const qr = await waitForQr(first);
    expect(qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#sim-ref-/);
    const closed = waitForClose(first);
    const linked = await sim.scan(qr, { phone: '15550001111' });
    expect(linked.jid).toBe('15550001111@s.whatsapp.net');
    expect((await closed).statusCode).toBe(515);
    expect(auth.creds.me?.id).toBe(`15550001111:${linked.deviceId}@s.whatsapp.net`);
    expect(auth.creds.account?.accountSignatureKey).toBeTruthy();

    const sock = connectClient(sim, auth);
    await waitForOpen(sock);
    expect(sim.observe('15550001111')).toMatchObject({ live: 1, maxLive: 1, uploadedPreKeys: 812 });
    expect(auth.creds.me?.lid).toMatch(/@lid$/);

    sock.end(undefined);
    await expect.poll(() => sim.observe('15550001111').live).toBe(0);
    // Reconnect with the linked creds: no second upload, the server still holds the keys.
    const again = connectClient(sim, auth);
    await waitForOpen(again);
    expect(sim.observe('15550001111')).toMatchObject({ live: 1, maxLive: 1, uploadedPreKeys: 812 });
  });

  it('counts a session connected twice as two live connections', async () => {
    const auth = makeTestAuthState();
    const first = connectClient(sim, auth);
    const closed = waitForClose(first);
    await sim.scan(await waitForQr(first), { phone: '15550002222' });
    await closed;
    const a = connectClient(sim, auth);
    const b = connectClient(sim, auth);
    await Promise.all([waitForOpen(a), waitForOpen(b)]);
    expect(sim.observe('15550002222')).toMatchObject({ live: 2, maxLive: 2 });
  });

  it('refuses to scan a QR that no client is showing', async () => {
    await expect(sim.scan('https://wa.me/settings/linked_devices#nope,AAAA,AAAA,AAAA,WEB')).rejects.toThrow(/no client/);
  });
});
