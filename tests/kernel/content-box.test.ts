import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CONTENT_UNREADABLE, isSealed, openContent, openContentOrMark, sealContent } from '../../kernel/content-box.ts';
import { associatedData, createKeyring, DecryptionError } from '../../kernel/secret-box.ts';

const key = () => new Uint8Array(randomBytes(32));
const ad = associatedData.messageContent('agent-1', 'message-1');

describe('message content box', () => {
  it('seals content into an envelope that names no plaintext and opens it again', async () => {
    const ring = await createKeyring({ version: 3, key: key() });
    const content = { text: 'the secret plan', mentions: ['491701234567'] };
    const sealed = await sealContent(ring, content, ad);
    expect(isSealed(sealed)).toBe(true);
    expect(sealed.sealed.v).toBe(3);
    expect(JSON.stringify(sealed)).not.toContain('secret');
    expect(JSON.stringify(sealed)).not.toContain('491701234567');
    expect(await openContent(ring, sealed as never, ad)).toEqual(content);
  });

  it('keeps only the media store key of an upload visible', async () => {
    const ring = await createKeyring({ version: 1, key: key() });
    const content = { caption: 'holiday', media: { key: 'owner/abc', sha256: 'ff', size: 10, mimetype: 'image/png', filename: 'beach.png' } };
    const sealed = await sealContent(ring, content, ad);
    expect(sealed.media).toEqual({ key: 'owner/abc' });
    expect(JSON.stringify(sealed)).not.toContain('beach');
  });

  it('returns unsealed content as it is, without a keyring', async () => {
    expect(await openContent(undefined, { text: 'plain' }, ad)).toEqual({ text: 'plain' });
    expect(await openContent(undefined, { content_removed: true }, ad)).toEqual({ content_removed: true });
  });

  it('fails closed: another row, an unknown key version, a tampered byte, no keyring', async () => {
    const ring = await createKeyring({ version: 1, key: key() });
    const sealed = await sealContent(ring, { text: 'x' }, ad);
    await expect(openContent(ring, sealed as never, associatedData.messageContent('agent-1', 'message-2'))).rejects.toThrow(DecryptionError);
    await expect(openContent(ring, sealed as never, associatedData.inboundContent('agent-1', 'message-1'))).rejects.toThrow(DecryptionError);
    await expect(openContent(ring, { sealed: { ...sealed.sealed, v: 2 } } as never, ad)).rejects.toThrow(/no key configured for version 2/);
    const bytes = Buffer.from(sealed.sealed.ct, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    await expect(openContent(ring, { sealed: { v: 1, ct: bytes.toString('base64') } } as never, ad)).rejects.toThrow(DecryptionError);
    await expect(openContent(undefined, sealed as never, ad)).rejects.toThrow(/MESSAGE_CONTENT_KEY/);
    const other = await createKeyring({ version: 1, key: key() });
    await expect(openContent(other, sealed as never, ad)).rejects.toThrow(DecryptionError);
  });

  it('marks what cannot be opened instead of failing a listing', async () => {
    const ring = await createKeyring({ version: 1, key: key() });
    const sealed = await sealContent(ring, { text: 'x' }, ad);
    const errors: Error[] = [];
    expect(await openContentOrMark(undefined, sealed as never, ad, (e) => errors.push(e))).toEqual(CONTENT_UNREADABLE);
    expect(errors).toHaveLength(1);
  });

  it('opens content sealed with an older key version of the ring', async () => {
    const old = key();
    const before = await createKeyring({ version: 1, key: old });
    const sealed = await sealContent(before, { text: 'kept' }, ad);
    const after = await createKeyring({ version: 2, key: key() }, [{ version: 1, key: old }]);
    expect(await openContent(after, sealed as never, ad)).toEqual({ text: 'kept' });
  });
});
