// Linking by pairing code: the companion asks for a code, the "phone" enters it, keys are
// exchanged, pair-success, 515, login. Runs with signature verification installed, so the ADV
// account signature the simulator produces must be genuinely valid.
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

describe('simulator: linking by pairing code', () => {
  it('completes pairing with the right code and logs in', async () => {
    const auth = makeTestAuthState();
    const sock = connectClient(stack.sim, auth);
    await waitForQr(sock); // registration is under way; a pairing code may now be requested
    const code = await sock.requestPairingCode('15550200001');
    expect(code).toMatch(/^[A-Z0-9]{8}$/);
    const closed = waitForClose(sock);
    const linked = await stack.sim.completePairingCode('15550200001', code);
    expect(linked.jid).toBe('15550200001@s.whatsapp.net');
    expect((await closed).statusCode).toBe(515);
    expect(auth.creds.registered).toBe(true);
    await waitForOpen(connectClient(stack.sim, auth));
    expect(stack.sim.observe('15550200001').live).toBe(1);
  });

  it('does not link with a wrong code', async () => {
    const auth = makeTestAuthState();
    const sock = connectClient(stack.sim, auth);
    await waitForQr(sock);
    await sock.requestPairingCode('15550200002');
    await expect(stack.sim.completePairingCode('15550200002', 'WRONGCOD')).rejects.toThrow(/pairing code mismatch/);
    expect(stack.sim.observe('15550200002').live).toBe(0);
  });

  it('QR pairing also passes real signature verification', async () => {
    const auth = makeTestAuthState();
    const first = connectClient(stack.sim, auth);
    const closed = waitForClose(first);
    await stack.sim.scan(await waitForQr(first), { phone: '15550200003' });
    expect((await closed).statusCode).toBe(515);
    await waitForOpen(connectClient(stack.sim, auth));
  });
});
