// A simulated phone signs its pre-key only when a peer needs it: signing is pure-JavaScript
// curve25519 (tens of ms), and linking hundreds of accounts made one phone per account.
import { Curve } from '@whiskeysockets/baileys';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { Directory } from '../../simulator/directory.ts';

afterEach(() => vi.restoreAllMocks());

describe('simulated Signal devices', () => {
  it('an account made by a scan signs nothing until its phone is asked for its bundle, then signs once', async () => {
    const sign = vi.spyOn(Curve, 'sign');
    const account = new Directory().getOrCreateAccount('15559990001');
    expect(sign).not.toHaveBeenCalled();
    const first = await account.phoneDevice.bundleNode('15559990001@s.whatsapp.net');
    const second = await account.phoneDevice.bundleNode('15559990001@s.whatsapp.net');
    expect(sign).toHaveBeenCalledTimes(1);
    const signature = (node: typeof first) => JSON.stringify((node.content as typeof first[]).find((c) => c.tag === 'skey'));
    expect(signature(second)).toBe(signature(first));
    // The signature is the identity key's over the signed pre-key, as a client checks it (with the
    // connector's real verification: Baileys' own Curve.verify accepts any signature).
    installCertificateVerification();
    const skey = (first.content as typeof first[]).find((c) => c.tag === 'skey')!.content as typeof first[];
    const value = skey.find((c) => c.tag === 'value')!.content as Uint8Array;
    const sig = skey.find((c) => c.tag === 'signature')!.content as Uint8Array;
    expect(Curve.verify(account.phoneDevice.identityKeyPair.public, Buffer.concat([Buffer.from([5]), value]), sig)).toBe(true);
    expect(Curve.verify(Curve.generateKeyPair().public, Buffer.concat([Buffer.from([5]), value]), sig)).toBe(false);
  });
});
