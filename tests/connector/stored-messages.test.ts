// getMessage for Baileys' retry receipts: our queue row is the message store.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealContent } from '../../kernel/content-box.ts';
import { associatedData, createKeyring } from '../../kernel/secret-box.ts';
import { rebuildMessage, storedMessageLookup } from '../../connector/whatsapp/stored-messages.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createRunningAgent, createUser, setPlan } from '../helpers/fixtures.ts';

let db: TestDatabase;
let owner: string;
let agent: string;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = await createUser(db.sql);
  await setPlan(db.sql, owner, 'max');
  agent = await createRunningAgent(db.sql, owner);
});
afterAll(async () => db?.drop());

const enqueue = async (type: string, content: Record<string, unknown>) =>
  (await db.sql`select wa_message_id from gateway.enqueue_message(${owner}, ${agent}, '15550001111', ${type}, ${db.sql.json(content as never)})`)[0]!
    .wa_message_id as string;

describe('stored messages for retry receipts', () => {
  it('rebuilds a sent text and location by WhatsApp id; not media, not other agents, not inbound keys', async () => {
    const lookup = storedMessageLookup(db.sql, agent);
    const text = await enqueue('text', { text: 'hello again' });
    const place = await enqueue('location', { latitude: 51.5, longitude: -0.12, name: 'Here' });
    const image = await enqueue('image', { media: { url: 'https://example.com/a.png' }, caption: 'c' });
    expect(await lookup({ id: text, fromMe: true, remoteJid: '15550001111@s.whatsapp.net' })).toEqual({ conversation: 'hello again' });
    expect(await lookup({ id: place, fromMe: true })).toEqual({ locationMessage: { degreesLatitude: 51.5, degreesLongitude: -0.12, name: 'Here' } });
    expect(await lookup({ id: image, fromMe: true })).toBeUndefined();
    expect(await lookup({ id: text, fromMe: false })).toBeUndefined();
    const otherAgent = await createRunningAgent(db.sql, owner);
    expect(await storedMessageLookup(db.sql, otherAgent)({ id: text, fromMe: true })).toBeUndefined();
  });

  it('opens an encrypted tenant\'s sealed row with the content key (bug: Baileys got nothing to re-send); without the key or with another, nothing', async () => {
    const keyring = await createKeyring({ version: 1, key: randomBytes(32) });
    const id = randomUUID();
    const sealed = await sealContent(keyring, { text: 'sealed hello' }, associatedData.messageContent(agent, id));
    await db.sql`insert into public.content_policies (owner_id, policy, encrypted_at) values (${owner}, 'encrypted', now())`;
    try {
      const [row] = await db.sql`select wa_message_id from gateway.enqueue_message(${owner}, ${agent}, '15550001111', 'text', ${db.sql.json(sealed as never)}, null, null, ${id}::uuid)`;
      const waId = row!.wa_message_id as string;
      expect(await storedMessageLookup(db.sql, agent, keyring)({ id: waId, fromMe: true })).toEqual({ conversation: 'sealed hello' });
      expect(await storedMessageLookup(db.sql, agent)({ id: waId, fromMe: true })).toBeUndefined();
      const other = await createKeyring({ version: 1, key: randomBytes(32) });
      expect(await storedMessageLookup(db.sql, agent, other)({ id: waId, fromMe: true })).toBeUndefined();
    } finally {
      await db.sql`delete from public.content_policies where owner_id = ${owner}`;
    }
  });

  it('refuses content it cannot rebuild completely', () => {
    expect(rebuildMessage('text', {})).toBeUndefined();
    expect(rebuildMessage('location', { latitude: 'north' })).toBeUndefined();
    expect(rebuildMessage('document', { media: { url: 'https://example.com/x.pdf' } })).toBeUndefined();
  });
});
