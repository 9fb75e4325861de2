// Real Baileys against the simulator: QR pairing, the 515 restart, login, pre-key upload, and a
// second login with the same creds.
import { afterEach, describe, expect, it } from 'vitest';
import {
  connectClient,
  endAllClients,
  makeTestAuthState,
  waitForClose,
  waitForOpen,
  waitForQr,
} from '../../scripts/harness/simulator-client.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const stack = useSimulatorStack();
afterEach(() => endAllClients());

describe('simulator: linking by QR', () => {
  it('shows a QR, is scanned, restarts with 515, logs in and uploads pre-keys', async () => {
    const auth = makeTestAuthState();
    const first = connectClient(stack.sim, auth);
    const qr = await waitForQr(first);
    expect(qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#sim-ref-/);
    const closed = waitForClose(first);
    const linked = await stack.sim.scan(qr, { phone: '15550001111' });
    expect(linked.jid).toBe('15550001111@s.whatsapp.net');
    expect((await closed).statusCode).toBe(515);
    expect(auth.creds.me?.id).toBe(`15550001111:${linked.deviceId}@s.whatsapp.net`);
    expect(auth.creds.account?.accountSignatureKey).toBeTruthy();

    const sock = connectClient(stack.sim, auth);
    await waitForOpen(sock);
    expect(stack.sim.observe('15550001111')).toMatchObject({ live: 1, maxLive: 1, uploadedPreKeys: 812 });
    expect(auth.creds.me?.lid).toMatch(/@lid$/);

    sock.end(undefined);
    await expect.poll(() => stack.sim.observe('15550001111').live).toBe(0);
    // Reconnect with the linked creds: no second upload, the server still holds the keys.
    const again = connectClient(stack.sim, auth);
    await waitForOpen(again);
    expect(stack.sim.observe('15550001111')).toMatchObject({ live: 1, maxLive: 1, uploadedPreKeys: 812 });
  });

  it('counts a session connected twice as two live connections', async () => {
    const auth = makeTestAuthState();
    const first = connectClient(stack.sim, auth);
    const closed = waitForClose(first);
    await stack.sim.scan(await waitForQr(first), { phone: '15550002222' });
    await closed;
    const a = connectClient(stack.sim, auth);
    const b = connectClient(stack.sim, auth);
    await Promise.all([waitForOpen(a), waitForOpen(b)]);
    expect(stack.sim.observe('15550002222')).toMatchObject({ live: 2, maxLive: 2 });
  });

  it('links without a socket: the creds it returns log in as a reconnect, with no pre-key upload', async () => {
    const auth = makeTestAuthState();
    const seeded = stack.sim.linkWithoutSocket(auth.creds, { phone: '15550003333', preKeys: 10 });
    expect(seeded.account.jid).toBe('15550003333@s.whatsapp.net');
    expect(seeded.creds.me?.id).toBe(`15550003333:${seeded.account.deviceId}@s.whatsapp.net`);
    expect(Object.keys(seeded.preKeys)).toHaveLength(10);
    expect(stack.sim.observe('15550003333')).toMatchObject({ live: 0, preKeys: 10, uploadedPreKeys: 10 });

    auth.creds = seeded.creds;
    await auth.keys.set({ 'pre-key': seeded.preKeys });
    const sock = connectClient(stack.sim, auth);
    await waitForOpen(sock);
    expect(stack.sim.observe('15550003333')).toMatchObject({ live: 1, maxLive: 1, preKeys: 10, uploadedPreKeys: 10 });
    expect(auth.creds.me?.lid).toMatch(/@lid$/);
  });

  it('refuses to scan a QR that no client is showing', async () => {
    await expect(stack.sim.scan('https://wa.me/settings/linked_devices#nope,AAAA,AAAA,AAAA,WEB')).rejects.toThrow(/no client/);
  });
});
