// With the connector's certificate shim installed, Baileys refuses a server whose chain is not
// signed by the trusted root, and still accepts the simulator's properly signed chain.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { type Simulator, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import { connectClient, endAllClients, makeTestAuthState, waitForClose, waitForQr } from '../../scripts/harness/simulator-client.ts';

let trusted: Simulator;
let forged: Simulator;

beforeAll(async () => {
  installCertificateVerification();
  trusted = await startSimulator();
  forged = await startSimulator({ untrustedRoot: true });
});
afterEach(() => endAllClients());
afterAll(async () => {
  await trusted.stop();
  await forged.stop();
});

describe('simulator: certificate chain with verification installed', () => {
  it('connects when the chain is signed by the trusted root', async () => {
    const untrust = trustSimulatorRoot(trusted);
    try {
      const qr = await waitForQr(connectClient(trusted, makeTestAuthState()));
      expect(qr).toContain('sim-ref-');
    } finally {
      untrust();
    }
  });

  it('refuses a chain signed by another key, even though the advertised root is trusted', async () => {
    const untrust = trustSimulatorRoot(forged);
    try {
      const sock = connectClient(forged, makeTestAuthState());
      let sawQr = false;
      sock.ev.on('connection.update', (u) => {
        if (u.qr) sawQr = true;
      });
      const { error } = await waitForClose(sock);
      expect(error?.message).toMatch(/certificate signature invalid/);
      expect(sawQr).toBe(false);
    } finally {
      untrust();
    }
  });

  it('refuses the simulator when its root is not trusted (WhatsApp root still in place)', async () => {
    const sock = connectClient(trusted, makeTestAuthState());
    const { error } = await waitForClose(sock);
    expect(error?.message).toMatch(/certificate signature invalid/);
  });
});
