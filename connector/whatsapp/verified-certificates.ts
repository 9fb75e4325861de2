// Makes Baileys really verify signatures: the Noise certificate chain of the server (and the ADV
// account signature at pairing).
//
// Why: in 7.0.0-rc14 `Curve.verify` calls libsignal's `verifySignature` and returns true unless it
// throws; but `verifySignature` *returns* false for a bad signature instead of throwing, so any
// well-formed chain is accepted and a man in the middle could present its own.
//
// How: `Curve` is one mutable object exported by Baileys, and its noise handler looks up
// `Curve.verify` at call time, so replacing that property fixes every caller in-process without
// touching node_modules (a patch-at-install would need tooling and a package.json change). The
// replacement uses the same libsignal that Baileys loads (resolved from Baileys' own location) and
// returns its boolean. Guards make a changed Baileys fail loudly instead of silently unverified:
// the patch point must still be used by the noise handler, and a self-test must accept a good
// signature and refuse a forged one.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Curve } from '@whiskeysockets/baileys';

type VerifySignature = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;

const KEY_TYPE_PREFIX = 5;
let installed = false;

function loadLibsignalVerify(baileysEntry: string): VerifySignature {
  const requireFromBaileys = createRequire(baileysEntry);
  const curve = requireFromBaileys('libsignal/src/curve.js') as { verifySignature?: unknown };
  if (typeof curve.verifySignature !== 'function') {
    throw new Error('verified-certificates: libsignal curve.verifySignature not found; re-check the Baileys upgrade');
  }
  return curve.verifySignature as VerifySignature;
}

function assertNoiseHandlerUsesCurveVerify(baileysEntry: string): void {
  const source = readFileSync(new URL('./Utils/noise-handler.js', pathToFileURL(baileysEntry)), 'utf8');
  if (!source.includes('Curve.verify(WA_CERT_DETAILS.PUBLIC_KEY')) {
    throw new Error(
      'verified-certificates: Baileys no longer checks the noise certificate through Curve.verify; re-check the shim',
    );
  }
}

function selfTest(): void {
  const signer = Curve.generateKeyPair();
  const message = Buffer.from('verified-certificates self-test');
  const signature = Buffer.from(Curve.sign(signer.private, message));
  const forged = Buffer.from(signature);
  forged[10] = (forged[10] ?? 0) ^ 0xff;
  if (!Curve.verify(signer.public, message, signature) || Curve.verify(signer.public, message, forged)) {
    throw new Error('verified-certificates: self-test failed; Curve.verify does not verify signatures');
  }
}

/**
 * Remembers the last `max` signatures `verify` accepted, by their exact bytes, and answers a
 * repeat of one from memory. Why: every handshake checks the same two certificates of the
 * server's chain, and libsignal's verification is pure JavaScript (curve25519-js: 14 ms each at
 * load 3.7 on this 2-core machine, 39 ms at load 12), so 1,000 sessions reconnecting spent 28 s or
 * more of CPU proving the same two facts again. Verification is a pure function of (key, message, signature), so a repeat of an
 * accepted triple is accepted; anything else — another key, message or signature, or one that was
 * refused — is verified afresh. The three lengths are part of the memo key, so no two different
 * triples share one.
 */
export function memoizeVerified(verify: VerifySignature, max = 64): VerifySignature {
  const accepted = new Set<string>();
  return (publicKey, message, signature) => {
    const key = `${publicKey.length}.${message.length}.${signature.length}.${Buffer.concat([publicKey, message, signature]).toString('base64')}`;
    if (accepted.has(key)) return true;
    const ok = verify(publicKey, message, signature);
    if (ok) {
      // Oldest first out (a Set iterates in insertion order): the server's chain keeps coming back.
      if (accepted.size >= max) accepted.delete(accepted.values().next().value!);
      accepted.add(key);
    }
    return ok;
  };
}

/** Call once, before creating any Baileys socket. Idempotent. Throws if Baileys' shape changed. */
export function installCertificateVerification(): void {
  if (installed) return;
  if (typeof Curve?.verify !== 'function') {
    throw new Error('verified-certificates: Baileys no longer exports Curve.verify; re-check the shim');
  }
  // Baileys' lib/index.js path: its own libsignal and noise handler are found relative to it.
  const baileysEntry = createRequire(import.meta.url).resolve('@whiskeysockets/baileys');
  assertNoiseHandlerUsesCurveVerify(baileysEntry);
  const verifySignature = loadLibsignalVerify(baileysEntry);
  Curve.verify = memoizeVerified((publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean => {
    const prefixed = publicKey.length === 33 ? publicKey : Buffer.concat([Buffer.from([KEY_TYPE_PREFIX]), publicKey]);
    try {
      return verifySignature(Buffer.from(prefixed), message, signature) === true;
    } catch {
      return false;
    }
  });
  selfTest();
  installed = true;
}
