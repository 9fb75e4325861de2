// The shim turns Baileys' Curve.verify from "accepts any well-formed signature" (rc14) into a real
// check. Runs in its own process (vitest forks), so "before" really is Baileys as shipped.
import { Curve } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';

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
