// The simulator's Noise certificate chain: a test root signs an intermediate, the intermediate signs
// a leaf naming the server's static key. Baileys checks the intermediate against
// WA_CERT_DETAILS.PUBLIC_KEY and requires issuerSerial 0, so a client trusts this chain only after a
// test (or the trust preload) swaps our root in.
import { Curve, type KeyPair, proto, WA_CERT_DETAILS } from '@whiskeysockets/baileys';

export interface SimulatorCertificates {
  /** The root a client must trust (32-byte Curve25519 public key). */
  rootPublicKey: Uint8Array;
  /** The server's Noise static key pair, named by the leaf. */
  staticKeyPair: KeyPair;
  /** Encoded proto.CertChain sent inside the server hello. */
  certChain: Uint8Array;
}

const ONE_YEAR_S = 365 * 24 * 3600;

function signedCertificate(signer: KeyPair, details: proto.CertChain.NoiseCertificate.IDetails) {
  const encoded = proto.CertChain.NoiseCertificate.Details.encode(details).finish();
  return { details: encoded, signature: Curve.sign(signer.private, encoded) };
}

/**
 * @param untrustedRoot when true, the chain is signed by a throwaway key while `rootPublicKey` still
 *   names the advertised root: a client that really verifies signatures must refuse it.
 */
export function createCertificates(opts: { untrustedRoot?: boolean } = {}): SimulatorCertificates {
  const root = Curve.generateKeyPair();
  const signingRoot = opts.untrustedRoot ? Curve.generateKeyPair() : root;
  const intermediate = Curve.generateKeyPair();
  const staticKeyPair = Curve.generateKeyPair();
  const now = Math.floor(Date.now() / 1000);
  const validity = { notBefore: now - 60, notAfter: now + ONE_YEAR_S };
  const chain = proto.CertChain.encode({
    intermediate: signedCertificate(signingRoot, {
      serial: 1,
      issuerSerial: WA_CERT_DETAILS.SERIAL,
      key: intermediate.public,
      ...validity,
    }),
    leaf: signedCertificate(intermediate, { serial: 2, issuerSerial: 1, key: staticKeyPair.public, ...validity }),
  }).finish();
  return { rootPublicKey: root.public, staticKeyPair, certChain: chain };
}
