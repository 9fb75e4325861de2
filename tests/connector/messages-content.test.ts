// Content → Baileys mapping per type, inbound description, status mapping and pacing.
import { generateWAMessageContent, proto, type WAMessage } from '@whiskeysockets/baileys';
import { describe, expect, it } from 'vitest';
import { type ContentDeps, mapContent, type StoredTarget, vcardOf } from '../../connector/messages/content.ts';
import { SendError } from '../../connector/messages/errors.ts';
import { describeContent, toInboundRecord } from '../../connector/messages/inbound.ts';
import { Pacer } from '../../connector/messages/pacer.ts';
import { statusOf } from '../../connector/messages/session-events.ts';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const own: StoredTarget = { key: { remoteJid: '447700900123@s.whatsapp.net', fromMe: true, id: '3EB0OWN' }, message: { conversation: 'original' } };
const theirs: StoredTarget = { key: { remoteJid: '447700900123@s.whatsapp.net', fromMe: false, id: 'THEIRS' }, message: { conversation: 'hi' } };

const deps: ContentDeps = {
  loadMedia: async (media) => ({ data: 'data' in media && media.data ? Buffer.from(media.data, 'base64') : PNG, mimetype: media.mimetype ?? 'image/png' }),
  findTarget: async (id) => (id === own.key.id ? own : id === theirs.key.id ? theirs : undefined),
};

async function failure(promise: Promise<unknown>): Promise<SendError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SendError) return error;
    throw error;
  }
  throw new Error('expected a SendError');
}

describe('content mapping', () => {
  it('text with mentions, no link preview fetched by Baileys, and a reply quoting the stored message', async () => {
    const m = await mapContent('text', { text: 'hi @4915123456789 see https://example.com', mentions: ['4915123456789'], replyTo: 'THEIRS' }, deps);
    expect(m.content).toEqual({ text: 'hi @4915123456789 see https://example.com', linkPreview: null, mentions: ['4915123456789@s.whatsapp.net'] });
    expect(m.quoted).toEqual({ key: theirs.key, message: theirs.message } satisfies WAMessage);
    // Baileys accepts it and builds an extended text with the mention and no preview.
    const wa = await generateWAMessageContent(m.content, { upload: async () => ({ mediaUrl: '', directPath: '' }) } as never);
    expect(wa.extendedTextMessage?.contextInfo?.mentionedJid).toEqual(['4915123456789@s.whatsapp.net']);
    expect(wa.extendedTextMessage?.title ?? null).toBeNull();
  });

  it('image, video, audio, voice and document carry bytes, MIME type, caption and file name', async () => {
    const image = await mapContent('image', { media: { data: PNG.toString('base64'), mimetype: 'image/png' }, caption: 'pic' }, deps);
    expect(image.content).toMatchObject({ image: PNG, mimetype: 'image/png', caption: 'pic' });
    expect(image.usedInlineMedia).toBe(true);
    const byUrl = await mapContent('image', { media: { url: 'https://cdn.example/x.png' } }, deps);
    expect(byUrl.usedInlineMedia).toBe(false);
    const video = await mapContent('video', { media: { url: 'https://x/v.mp4', mimetype: 'video/mp4' }, gifPlayback: true }, deps);
    expect(video.content).toMatchObject({ video: PNG, mimetype: 'video/mp4', gifPlayback: true });
    expect((await mapContent('audio', { media: { url: 'https://x/a.mp3', mimetype: 'audio/mpeg' } }, deps)).content).toMatchObject({ audio: PNG, ptt: false });
    expect((await mapContent('voice', { media: { url: 'https://x/a.ogg', mimetype: 'audio/ogg' } }, deps)).content).toMatchObject({ audio: PNG, ptt: true });
    const doc = await mapContent('document', { media: { url: 'https://x/d', mimetype: 'application/pdf', filename: 'from-media.pdf' }, filename: 'report.pdf', caption: 'Q3' }, deps);
    expect(doc.content).toMatchObject({ document: PNG, mimetype: 'application/pdf', fileName: 'report.pdf', caption: 'Q3' });
    const doc2 = await mapContent('document', { media: { url: 'https://x/d', mimetype: 'application/pdf', filename: 'from-media.pdf' } }, deps);
    expect(doc2.content).toMatchObject({ fileName: 'from-media.pdf' });
  });

  it('location, contact (vCard), poll', async () => {
    const loc = await mapContent('location', { latitude: 52.52, longitude: 13.405, name: 'Berlin', address: 'Mitte' }, deps);
    expect(loc.content).toEqual({ location: { degreesLatitude: 52.52, degreesLongitude: 13.405, name: 'Berlin', address: 'Mitte' } });
    const contact = await mapContent('contact', { contacts: [{ name: 'Ada, Countess', phone: '447700900123', organization: 'Analytical', email: 'ada@example.com' }] }, deps);
    const card = (contact.content as { contacts: { displayName: string; contacts: Array<{ vcard: string }> } }).contacts;
    expect(card.displayName).toBe('Ada, Countess');
    expect(card.contacts[0]!.vcard).toBe(vcardOf({ name: 'Ada, Countess', phone: '447700900123', organization: 'Analytical', email: 'ada@example.com' }));
    expect(card.contacts[0]!.vcard).toContain('FN:Ada\\, Countess');
    expect(card.contacts[0]!.vcard).toContain('TEL;type=CELL;type=VOICE;waid=447700900123:+447700900123');
    const two = await mapContent('contact', { contacts: [{ name: 'A', phone: '1555000111' }, { name: 'B', phone: '1555000222' }] }, deps);
    expect((two.content as { contacts: { displayName: string } }).contacts.displayName).toBe('2 contacts');
    const poll = await mapContent('poll', { name: 'Lunch?', options: ['yes', 'no'], selectableCount: 1 }, deps);
    expect(poll.content).toEqual({ poll: { name: 'Lunch?', values: ['yes', 'no'], selectableCount: 1 } });
  });

  it('reaction, edit and delete target the stored message key', async () => {
    expect((await mapContent('reaction', { messageId: 'THEIRS', emoji: '👍' }, deps)).content).toEqual({ react: { text: '👍', key: theirs.key } });
    expect((await mapContent('reaction', { messageId: 'THEIRS', emoji: '' }, deps)).content).toEqual({ react: { text: '', key: theirs.key } });
    expect((await mapContent('edit', { messageId: '3EB0OWN', text: 'fixed' }, deps)).content).toEqual({ text: 'fixed', edit: own.key, linkPreview: null });
    expect((await mapContent('delete', { messageId: '3EB0OWN', forEveryone: true }, deps)).content).toEqual({ delete: own.key });
  });

  it('fails permanently with a code for what cannot be sent', async () => {
    expect((await failure(mapContent('edit', { messageId: 'THEIRS', text: 'x' }, deps))).code).toBe('unsupported_content');
    expect((await failure(mapContent('delete', { messageId: '3EB0OWN', forEveryone: false }, deps))).code).toBe('unsupported_content');
    expect((await failure(mapContent('reaction', { messageId: 'NOPE', emoji: 'x' }, deps))).code).toBe('target_not_found');
    expect((await failure(mapContent('text', { text: 'x', replyTo: 'NOPE' }, deps))).code).toBe('target_not_found');
    expect((await failure(mapContent('sticker', {}, deps))).code).toBe('unsupported_content');
    const e = await failure(mapContent('image', {}, deps));
    expect(e.permanent).toBe(true);
  });
});

describe('inbound description', () => {
  it('describes text, media metadata, location, contacts, reactions, replies, edits and revokes; skips protocol noise', () => {
    expect(describeContent({ conversation: 'hi' })).toMatchObject({ type: 'text', content: { text: 'hi' } });
    const img = describeContent({ imageMessage: { mimetype: 'image/jpeg', caption: 'c', fileLength: 1024, width: 4, height: 3, fileSha256: Buffer.from('abc') } });
    expect(img).toMatchObject({ type: 'image', content: { mimetype: 'image/jpeg', caption: 'c', size: 1024, width: 4, height: 3, sha256: 'YWJj' } });
    expect(describeContent({ audioMessage: { ptt: true, mimetype: 'audio/ogg' } })?.type).toBe('voice');
    expect(describeContent({ locationMessage: { degreesLatitude: 1, degreesLongitude: 2 } })).toMatchObject({ type: 'location', content: { latitude: 1, longitude: 2 } });
    expect(describeContent({ reactionMessage: { key: { id: 'X' }, text: '❤' } })).toMatchObject({ type: 'reaction', content: { messageId: 'X', emoji: '❤' } });
    expect(describeContent({ contactMessage: { displayName: 'A', vcard: 'BEGIN:VCARD' } })).toMatchObject({ type: 'contact' });
    expect(describeContent({ protocolMessage: { type: proto.Message.ProtocolMessage.Type.REVOKE, key: { id: 'R' } } })).toMatchObject({ type: 'delete', content: { messageId: 'R' } });
    expect(describeContent({ protocolMessage: { type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION } })).toBeUndefined();
    expect(describeContent(undefined)).toBeUndefined();
  });

  it('keeps the sender phone and LID of a LID-addressed message, the reply context and the time', () => {
    const rec = toInboundRecord({
      key: { remoteJid: '123456789@lid', remoteJidAlt: '447700900123@s.whatsapp.net', fromMe: false, id: 'IN1' },
      message: { extendedTextMessage: { text: 'yes', contextInfo: { stanzaId: '3EB0OWN' } } },
      messageTimestamp: 1_764_000_000,
    });
    expect(rec).toEqual({
      wa_message_id: 'IN1',
      chat_jid: '123456789@lid',
      sender_phone: '447700900123',
      sender_lid: '123456789@lid',
      from_me: false,
      type: 'text',
      content: { text: 'yes' },
      quoted_wa_message_id: '3EB0OWN',
      sent_at: new Date(1_764_000_000_000).toISOString(),
    });
  });
});

describe('status mapping and pacing', () => {
  it('maps Baileys statuses: 0 failed, 1 (pending, not acked) nothing, 2 sent, 3 delivered, 4/5 read', () => {
    expect([0, 1, 2, 3, 4, 5, 6, null].map((n) => statusOf(n))).toEqual(['failed', undefined, 'sent', 'delivered', 'read', 'read', undefined, undefined]);
  });

  it('spaces sends by the minimum interval plus jitter, per recipient, and slows down after a 463', () => {
    const pacer = new Pacer({ minIntervalMs: 1000, jitterMs: 500, recipientIntervalMs: 3000, slowdownFactor: 4, slowdownMs: 60_000 }, () => 0.5);
    expect(pacer.delay('a', 0)).toBe(0);
    pacer.sent('a', 0);
    expect(pacer.delay('b', 0)).toBe(1250); // 1000 + 0.5 × 500
    expect(pacer.delay('a', 0)).toBe(3000);
    expect(pacer.delay('b', 1250)).toBe(0);
    expect(pacer.delay('a', 1250)).toBe(1750);
    pacer.restricted(1250);
    expect(pacer.slowed(1250)).toBe(true);
    expect(pacer.delay('b', 1250)).toBe(5000 - 1250); // 4 × 1250 after the last send
    expect(pacer.delay('a', 1250)).toBe(12_000 - 1250);
    expect(pacer.slowed(61_250)).toBe(false);
    expect(pacer.delay('a', 61_250)).toBe(0);
  });
});
