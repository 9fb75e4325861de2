// Linking by pairing code: the companion asks for a code, the "phone" enters it, keys are
// exchanged, pair-success, 515, login. Runs with signature verification installed, so the ADV
// account signature the simulator produces must be genuinely valid.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
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
  installCertificateVerification();
  sim = await startSimulator();
  untrust = trustSimulatorRoot(sim);
});
afterEach(() => endAllClients());
afterAll(async () => {
  untrust();
  await sim.stop();
});

describe('simulator: linking by pairing code', () => {
  it('completes pairing with the right code and logs in', async () => {
    const auth = makeTestAuthState();
    const sock = connectClient(sim, auth);
    await waitForQr(sock); // registration is under way; a pairing code may now be requested
    const code = await sock.requestPairingCode('15550200001');
    expect(code).toMatch(/^[A-Z0-9]{8}$/);
    const closed = waitForClose(sock);
    const linked = await sim.completePairingCode('15550200001', code);
    expect(linked.jid).toBe('15550200001@s.whatsapp.net');
    expect((await closed).statusCode).toBe(515);
    expect(auth.creds.registered).toBe(true);
    await waitForOpen(connectClient(sim, auth));
    expect(sim.observe('15550200001').live).toBe(1);
  });

  it('does not link with a wrong code', async () => {
    const auth = makeTestAuthState();
    const sock = connectClient(sim, auth);
    await waitForQr(sock);
    await sock.requestPairingCode('15550200002');
    await expect(sim.completePairingCode('15550200002', 'WRONGCOD')).rejects.toThrow(/pairing code mismatch/);
    expect(sim.observe('15550200002').live).toBe(0);
  });

  it('QR pairing also passes real signature verification', async () => {
    const auth = makeTestAuthState();
    const first = connectClient(sim, auth);
    const closed = waitForClose(first);
    await sim.scan(await waitForQr(first), { phone: '15550200003' });
    expect((await closed).statusCode).toBe(515);
    await waitForOpen(connectClient(sim, auth));
  });
});
