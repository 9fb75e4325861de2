// The shim turns Baileys' Curve.verify from "accepts any well-formed signature" (rc14) into a real
// check. Runs in its own process (vitest forks), so "before" really is Baileys as shipped.
import { createRequire } from 'node:module';
import { Curve } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { installCertificateVerification, memoizeVerified } from '../../connector/whatsapp/verified-certificates.ts';

// Counts libsignal's verifications: the shim takes libsignal's function when it is installed, so
// the counter is put in first (the same module instance: resolved from Baileys, as the shim does).
const curve = createRequire(createRequire(import.meta.url).resolve('@whiskeysockets/baileys'))('libsignal/src/curve.js') as {
  verifySignature: (...args: unknown[]) => unknown;
};
const libsignalVerify = curve.verifySignature;
let libsignalVerifications = 0;
curve.verifySignature = (...args: unknown[]) => {
  libsignalVerifications++;
  return libsignalVerify(...args);
};

const signer = Curve.generateKeyPair();
const message = Buffer.from('intermediate certificate details');
const signature = Buffer.from(Curve.sign(signer.private, message));
const forged = Buffer.from(Curve.sign(Curve.generateKeyPair().private, message));

describe('installCertificateVerification', () => {
  it('is needed: as shipped, Curve.verify accepts a signature by another key (if this fails, Baileys fixed it)', () => {
    expect(Curve.verify(signer.public, message, forged)).toBe(true);
  });

  it('after install, accepts the right signature and refuses forged or malformed ones', () => {
    installCertificateVerification();
    expect(Curve.verify(signer.public, message, signature)).toBe(true);
    expect(Curve.verify(signer.public, message, forged)).toBe(false);
    expect(Curve.verify(signer.public, Buffer.from('other details'), signature)).toBe(false);
    expect(Curve.verify(signer.public, message, Buffer.alloc(10))).toBe(false);
  });

  it('is idempotent', () => {
    installCertificateVerification();
    const patched = Curve.verify;
    installCertificateVerification();
    expect(Curve.verify).toBe(patched);
  });
});

describe('memoizeVerified', () => {
  const counting = () => {
    const calls: string[] = [];
    const verify = (key: Uint8Array, msg: Uint8Array, sig: Uint8Array) => {
      calls.push(Buffer.from(msg).toString());
      return Buffer.from(sig).toString() === `signed:${Buffer.from(msg).toString()}:${Buffer.from(key).toString()}`;
    };
    return { calls, verify };
  };
  const b = (text: string) => Buffer.from(text);

  it('answers a repeat of an accepted signature from memory, and checks everything else afresh', () => {
    const { calls, verify } = counting();
    const memo = memoizeVerified(verify);
    expect(memo(b('root'), b('leaf'), b('signed:leaf:root'))).toBe(true);
    expect(memo(b('root'), b('leaf'), b('signed:leaf:root'))).toBe(true);
    expect(calls).toEqual(['leaf']); // the second came from memory
    // Refused ones are not remembered; another key, message or signature is a new question.
    expect(memo(b('root'), b('leaf'), b('forged'))).toBe(false);
    expect(memo(b('root'), b('leaf'), b('forged'))).toBe(false);
    expect(memo(b('other'), b('leaf'), b('signed:leaf:root'))).toBe(false);
    expect(memo(b('root'), b('leaf2'), b('signed:leaf:root'))).toBe(false);
    expect(calls).toEqual(['leaf', 'leaf', 'leaf', 'leaf', 'leaf2']);
    // Bytes moved between the three parts are not the same triple.
    expect(memo(b('roo'), b('tleaf'), b('signed:leaf:root'))).toBe(false);
  });

  it('keeps at most `max` signatures, dropping the oldest', () => {
    const { calls, verify } = counting();
    const memo = memoizeVerified(verify, 2);
    for (const m of ['a', 'b', 'c']) memo(b('k'), b(m), b(`signed:${m}:k`));
    memo(b('k'), b('c'), b('signed:c:k'));
    memo(b('k'), b('a'), b('signed:a:k'));
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
  });

  it('is what the installed Curve.verify does: the chain checked at each handshake is verified once', () => {
    installCertificateVerification();
    const key = Curve.generateKeyPair();
    const details = Buffer.from('leaf certificate details');
    const sig = Buffer.from(Curve.sign(key.private, details));
    const before = libsignalVerifications;
    for (let i = 0; i < 5; i++) expect(Curve.verify(key.public, details, sig)).toBe(true);
    expect(libsignalVerifications - before).toBe(1);
    expect(Curve.verify(key.public, details, Buffer.from(Curve.sign(Curve.generateKeyPair().private, details)))).toBe(false);
    expect(libsignalVerifications - before).toBe(2);
  });
});
