// The simulator's Noise server against Baileys' own client-side noise handler, without sockets:
// both sides must derive the same keys, and a wrong root must be refused once verification is on.
import { Curve, makeNoiseHandler, NOISE_WA_HEADER, proto, WA_CERT_DETAILS } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { createCertificates } from '../../simulator/cert-chain.ts';
import { FrameReader, NoiseServerSession } from '../../simulator/noise-server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';

const logger = pino({ level: 'silent' });
let untrust: (() => void) | undefined;
afterEach(() => untrust?.());

function handshake(certificates = createCertificates()) {
  const ephemeral = Curve.generateKeyPair();
  const noiseKey = Curve.generateKeyPair();
  const client = makeNoiseHandler({ keyPair: ephemeral, NOISE_HEADER: NOISE_WA_HEADER, logger: logger as any });
  const server = new NoiseServerSession(certificates.staticKeyPair, certificates.certChain);
  const serverHello = server.acceptClientHello(proto.HandshakeMessage.encode({ clientHello: { ephemeral: ephemeral.public } }).finish());
  const keyEnc = client.processHandshake(proto.HandshakeMessage.decode(serverHello), noiseKey);
  const payload = client.encrypt(proto.ClientPayload.encode({ username: 15550001111, device: 3, passive: true }).finish());
  const finish = server.acceptClientFinish(proto.HandshakeMessage.encode({ clientFinish: { static: keyEnc, payload } }).finish());
  return { client, server, finish, noiseKey };
}

describe('NoiseServerSession', () => {
  it('completes the XX handshake with Baileys and exchanges transport frames both ways', async () => {
    const certificates = createCertificates();
    untrust = trustSimulatorRoot(certificates);
    const { client, server, finish, noiseKey } = handshake(certificates);
    expect(Buffer.from(finish.clientNoiseKey).equals(noiseKey.public)).toBe(true);
    expect(Number(finish.payload.username)).toBe(15550001111);
    expect(finish.payload.device).toBe(3);
    await client.finishInit();
    // client → server: encodeFrame adds the intro header once, then length-prefixed ciphertext.
    const reader = new FrameReader();
    const [frame] = reader.push(client.encodeFrame(Buffer.from('from client')));
    expect(server.decryptFrame(frame!).toString()).toBe('from client');
    // server → client
    const fromServer = server.encryptFrame(Buffer.from('from server'));
    expect(client.decrypt(fromServer).toString()).toBe('from server');
  });

  it('is refused by a verifying client when the chain is not signed by the trusted root', () => {
    installCertificateVerification();
    const forged = createCertificates({ untrustedRoot: true });
    untrust = trustSimulatorRoot(forged);
    expect(() => handshake(forged)).toThrow(/certificate signature invalid/);
    expect(WA_CERT_DETAILS.PUBLIC_KEY.equals(Buffer.from(forged.rootPublicKey))).toBe(true);
  });
});
