// Data subject requests in SQL (gateway.export_data_subject, gateway.erase_data_subject): one
// contact's rows across the tenant's agents, under both the phone and the LID form, and nothing
// of another tenant or another contact; erase removes exactly those, keeps the statistics, is
// idempotent and records a hash of the contact, never the number.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { createAgent, createUser, sqlState } from '../helpers/fixtures.ts';

const PHONE = '447700900111';
const LID = '98765432101234@lid';
const OTHER = '447700900222';
const GROUP = '120363000000000001@g.us';

let db: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
});
afterAll(async () => db?.drop());

const sha = (c: string) => c.repeat(64).slice(0, 64);

interface World {
  owner: string;
  a1: string;
  a2: string;
  stranger: string;
  strangerAgent: string;
  sharedKey: string;
  ownKey: string;
}

async function outbound(owner: string, agent: string, recipient: string, content: object = { text: 'hello' }): Promise<string> {
  const [row] = await sql`
    insert into public.messages (agent_id, owner_id, wa_message_id, recipient, type, content, status)
    values (${agent}, ${owner}, ${`3EB0${randomUUID().replace(/-/g, '').slice(0, 16)}`}, ${recipient}, 'text', ${sql.json(content as never)}, 'sent')
    returning id`;
  await sql`select gateway.emit_event(${owner}, ${agent}, 'message.status', 'info', ${sql.json({ message_id: row!.id, status: 'sent' })})`;
  return row!.id as string;
}

async function inbound(owner: string, agent: string, m: { chat: string; phone?: string; lid?: string; fromMe?: boolean; text?: string }): Promise<string> {
  const [row] = await sql`
    insert into public.inbound_messages (agent_id, owner_id, wa_message_id, chat_jid, sender_phone, sender_lid, from_me, type, content)
    values (${agent}, ${owner}, ${`IN${randomUUID().slice(0, 8)}`}, ${m.chat}, ${m.phone ?? null}, ${m.lid ?? null}, ${m.fromMe ?? false}, 'text',
            ${sql.json({ text: m.text ?? 'hi' })})
    returning id`;
  await sql`select gateway.emit_event(${owner}, ${agent}, 'message.received', 'info',
    ${sql.json({ id: row!.id, chat_jid: m.chat, sender_phone: m.phone ?? null, sender_lid: m.lid ?? null })})`;
  return row!.id as string;
}

async function media(owner: string, c: string): Promise<string> {
  const key = `${owner}/${sha(c)}`;
  await sql`select gateway.register_media(${owner}, ${key}, ${sha(c)}, 10)`;
  return key;
}

const mediaContent = (key: string) => ({ caption: 'x', media: { key, sha256: key.split('/')[1], size: 10, mimetype: 'image/png' } });

async function signalKey(agent: string, type: string, id: string): Promise<void> {
  await sql`insert into private.signal_keys (agent_id, key_type, key_id, ciphertext, key_version) values (${agent}, ${type}, ${id}, '\\x00', 1)`;
}

/** A tenant with two agents that both talked to the contact (by number and by LID), and a second tenant. */
async function world(): Promise<World> {
  const owner = await createUser(sql);
  const a1 = await createAgent(sql, owner, 'one');
  const a2 = await createAgent(sql, owner, 'two');
  const stranger = await createUser(sql);
  const strangerAgent = await createAgent(sql, stranger, 'theirs');
  await sql`insert into public.webhook_endpoints (owner_id, url) values (${owner}, 'https://hooks.example.test/a')`;
  await sql`insert into public.webhook_endpoints (owner_id, url) values (${stranger}, 'https://hooks.example.test/b')`;

  const ownKey = await media(owner, 'a');
  const sharedKey = await media(owner, 'b');
  await outbound(owner, a1, PHONE, mediaContent(ownKey));
  await outbound(owner, a1, PHONE, mediaContent(sharedKey));
  await outbound(owner, a2, LID);
  await outbound(owner, a1, OTHER, mediaContent(sharedKey));
  await outbound(owner, a1, GROUP);
  await outbound(stranger, strangerAgent, PHONE);

  await inbound(owner, a1, { chat: `${PHONE}@s.whatsapp.net`, phone: PHONE });
  await inbound(owner, a1, { chat: `${PHONE}@s.whatsapp.net`, fromMe: true }); // sent from the phone to them
  await inbound(owner, a2, { chat: LID, phone: PHONE, lid: LID }); // pairs the two forms
  await inbound(owner, a2, { chat: GROUP, lid: LID }); // their message in a group
  await inbound(owner, a2, { chat: GROUP, phone: OTHER, text: `@${PHONE} look` }); // someone else's, mentioning them
  await inbound(owner, a1, { chat: `${OTHER}@s.whatsapp.net`, phone: OTHER });
  await inbound(stranger, strangerAgent, { chat: `${PHONE}@s.whatsapp.net`, phone: PHONE });

  await sql`insert into public.number_checks (agent_id, owner_id, numbers, status, result)
            values (${a1}, ${owner}, ${[PHONE]}::text[], 'done', ${sql.json([{ number: PHONE, exists: true, jid: `${PHONE}@s.whatsapp.net` }])})`;
  await sql`insert into public.number_checks (agent_id, owner_id, numbers, status, result)
            values (${a2}, ${owner}, ${[PHONE, OTHER]}::text[], 'done',
                    ${sql.json([{ number: PHONE, exists: true, jid: `${PHONE}@s.whatsapp.net` }, { number: OTHER, exists: false, jid: null }])})`;
  await sql`insert into public.number_checks (agent_id, owner_id, numbers) values (${strangerAgent}, ${stranger}, ${[PHONE]}::text[])`;

  await signalKey(a1, 'session', `${PHONE}.0`);
  await signalKey(a1, 'session', `${PHONE}.12`);
  await signalKey(a2, 'session', '98765432101234_1.0');
  await signalKey(a2, 'identity-key', '98765432101234_1.0');
  await signalKey(a2, 'lid-mapping', PHONE);
  await signalKey(a2, 'lid-mapping', '98765432101234_reverse');
  await signalKey(a2, 'tctoken', `${PHONE}@s.whatsapp.net`);
  await signalKey(a1, 'session', `${OTHER}.0`);
  await signalKey(a1, 'session', `${PHONE}0.0`); // a longer number that starts with theirs
  await signalKey(strangerAgent, 'session', `${PHONE}.0`);

  await sql`insert into public.daily_stats (agent_id, day, owner_id, queued, sent, received) values (${a1}, current_date - 1, ${owner}, 7, 6, 5)`;
  return { owner, a1, a2, stranger, strangerAgent, sharedKey, ownKey };
}

const exportOf = async (owner: string, contact: string, agent: string | null = null) => {
  const [row] = await sql`select request_id, document, counts from gateway.export_data_subject(${owner}, ${owner}, ${contact}, ${agent})`;
  return row as { request_id: string; document: Record<string, any>; counts: Record<string, number> };
};
const eraseOf = async (owner: string, contact: string, agent: string | null = null) => {
  const [row] = await sql`select request_id, counts, media_keys from gateway.erase_data_subject(${owner}, ${owner}, ${contact}, ${agent})`;
  return row as { request_id: string; counts: Record<string, number>; media_keys: string[] };
};

/** Everything of a tenant, to compare before and after. */
async function snapshot(owner: string) {
  const agents = (await sql`select id from public.agents where owner_id = ${owner}`).map((r) => r.id as string);
  return {
    messages: (await sql`select id, recipient from public.messages where owner_id = ${owner} order by recipient collate "C"`).map((r) => `${r.recipient}`),
    inbound: await sql`select chat_jid, sender_phone, sender_lid, from_me from public.inbound_messages where owner_id = ${owner} order by chat_jid collate "C", wa_message_id`,
    checks: await sql`select numbers, result from public.number_checks where owner_id = ${owner} order by created_at, id`,
    events: Number((await sql`select count(*) as n from public.events where owner_id = ${owner}`)[0]!.n),
    deliveries: Number((await sql`select count(*) as n from public.webhook_deliveries where owner_id = ${owner}`)[0]!.n),
    keys: (await sql`select key_type || ' ' || key_id as k from private.signal_keys where agent_id = any (${agents}::uuid[]) order by (key_type || ' ' || key_id) collate "C"`).map((r) => r.k as string),
    media: (await sql`select key from private.media_objects where owner_id = ${owner} order by key collate "C"`).map((r) => r.key as string),
    stats: await sql`select agent_id, day, queued, sent, delivered, read, failed, received, api_calls from public.daily_stats where owner_id = ${owner} order by agent_id, day`,
  };
}

describe('export_data_subject', () => {
  it('finds the contact under both forms across two agents, nothing of another tenant or contact, and no key material', async () => {
    const w = await world();
    const { document, counts } = await exportOf(w.owner, PHONE);
    expect(document.contact).toEqual({ phones: [PHONE], lids: [LID] });
    expect(document.outbound_messages.map((m: any) => m.recipient).sort()).toEqual([LID, PHONE, PHONE].sort());
    expect(new Set(document.outbound_messages.map((m: any) => m.agent_id))).toEqual(new Set([w.a1, w.a2]));
    // Their 1:1 chat both ways (by number and by LID) and their group message; not the mention.
    expect(document.inbound_messages).toHaveLength(4);
    expect(document.inbound_messages.every((m: any) => m.owner_id === w.owner)).toBe(true);
    expect(document.inbound_messages.some((m: any) => m.sender_phone === OTHER)).toBe(false);
    // The check of two numbers shows only theirs.
    expect(document.number_checks.map((c: any) => c.numbers)).toEqual([[PHONE], [PHONE]]);
    expect(document.number_checks[1].result).toEqual([{ number: PHONE, exists: true, jid: `${PHONE}@s.whatsapp.net` }]);
    // 3 message.status + 4 message.received events, each delivered to the tenant's endpoint.
    expect(counts).toMatchObject({ outbound_messages: 3, inbound_messages: 4, number_checks: 2, events: 7, webhook_deliveries: 7, media_objects: 2 });
    expect(document.signal_keys).toEqual(
      expect.arrayContaining([
        { agent_id: w.a1, key_type: 'session', count: 2 },
        { agent_id: w.a2, key_type: 'session', count: 1 },
        { agent_id: w.a2, key_type: 'identity-key', count: 1 },
        { agent_id: w.a2, key_type: 'lid-mapping', count: 2 },
      ]),
    );
    expect(counts.signal_keys).toBe(6);
    expect(JSON.stringify(document)).not.toContain('ciphertext');
    expect(document.media_objects.map((o: any) => o.key).sort()).toEqual([w.ownKey, w.sharedKey].sort());

    // Asked by LID, the same person.
    const byLid = await exportOf(w.owner, LID);
    expect(byLid.counts).toEqual(counts);
    // Limited to one agent.
    const one = await exportOf(w.owner, PHONE, w.a2);
    expect(one.document.outbound_messages.map((m: any) => m.agent_id)).toEqual([w.a2]);
  });

  it('a contact with nothing stored is an empty document, not an error; it is recorded by hash', async () => {
    const owner = await createUser(sql);
    const { document, counts, request_id } = await exportOf(owner, '15550009999');
    expect(Object.values(counts).every((n) => n === 0)).toBe(true);
    expect(document.outbound_messages).toEqual([]);
    const [rec] = await sql`select kind, requested_by, contact_hash, counts::text as counts from private.data_requests where id = ${request_id}`;
    expect(rec).toMatchObject({ kind: 'export', requested_by: owner });
    expect(rec!.contact_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rec!.contact_hash).not.toContain('15550009999');

    // Exports and erasures share one bucket per owner.
    const fresh = await createUser(sql);
    const limited = (fn: 'export' | 'erase') =>
      fn === 'export'
        ? sql`select request_id from gateway.export_data_subject(${fresh}, ${fresh}, '15550009999', null, 2, 3600)`
        : sql`select request_id from gateway.erase_data_subject(${fresh}, ${fresh}, '15550009999', null, 2, 3600)`;
    expect(await sqlState(limited('erase'))).toBeUndefined();
    expect(await sqlState(limited('export'))).toBeUndefined();
    expect(await sqlState(limited('export'))).toBe('WG007');
    expect(await sqlState(limited('erase'))).toBe('WG007');
  });

  it("a malformed contact is invalid_argument and another tenant's agent is not_owner; neither records anything", async () => {
    const w = await world();
    const before = Number((await sql`select count(*) as n from private.data_requests`)[0]!.n);
    for (const bad of ['+447700900111', '4477', `${PHONE}@s.whatsapp.net`, 'abc@lid', '', `${PHONE}; drop table x`]) {
      expect(await sqlState(exportOf(w.owner, bad))).toBe('WG005');
      expect(await sqlState(eraseOf(w.owner, bad))).toBe('WG005');
    }
    expect(await sqlState(exportOf(w.owner, PHONE, w.strangerAgent))).toBe('WG002');
    expect(await sqlState(eraseOf(w.owner, PHONE, randomUUID()))).toBe('WG001');
    expect(Number((await sql`select count(*) as n from private.data_requests`)[0]!.n)).toBe(before);
    expect((await snapshot(w.owner)).messages).toHaveLength(5);
  });
});

describe('erase_data_subject', () => {
  it('removes exactly the contact\'s rows, keeps statistics and shared media, is idempotent and records no number', async () => {
    const w = await world();
    const before = await snapshot(w.owner);
    const strangerBefore = await snapshot(w.stranger);
    const exported = await exportOf(w.owner, PHONE);

    const erased = await eraseOf(w.owner, PHONE);
    expect(erased.counts).toEqual({ ...exported.counts, media_objects: 1 });
    expect(erased.media_keys).toEqual([w.ownKey]); // the shared object still serves the other contact's message

    const after = await snapshot(w.owner);
    expect(after.messages).toEqual([GROUP, OTHER]);
    expect(after.inbound).toEqual([
      { chat_jid: GROUP, sender_phone: OTHER, sender_lid: null, from_me: false },
      { chat_jid: `${OTHER}@s.whatsapp.net`, sender_phone: OTHER, sender_lid: null, from_me: false },
    ]);
    expect(after.checks).toEqual([{ numbers: [OTHER], result: [{ number: OTHER, exists: false, jid: null }] }]);
    expect(after.events).toBe(before.events - 7);
    expect(after.deliveries).toBe(before.deliveries - 7);
    expect(after.keys).toEqual([`session ${PHONE}0.0`, `session ${OTHER}.0`, `tctoken ${PHONE}@s.whatsapp.net`]);
    expect(after.media).toEqual([w.sharedKey]);
    expect(after.stats).toEqual(before.stats);
    expect(await snapshot(w.stranger)).toEqual(strangerBefore);

    // Again: nothing left to erase, nothing else touched.
    const again = await eraseOf(w.owner, PHONE);
    expect(Object.values(again.counts).every((n) => n === 0)).toBe(true);
    expect(again.media_keys).toEqual([]);
    expect(await snapshot(w.owner)).toEqual(after);

    const records = await sql`select kind, requested_by, contact_hash, counts from private.data_requests where owner_id = ${w.owner} order by created_at, id`;
    expect(records.map((r) => r.kind)).toEqual(['export', 'erase', 'erase']);
    expect(records[1]!.counts).toEqual(erased.counts);
    expect(new Set(records.map((r) => r.contact_hash)).size).toBe(1);
    const stored = JSON.stringify(await sql`select * from private.data_requests where owner_id = ${w.owner}`);
    expect(stored).not.toContain(PHONE);
    expect(stored).not.toContain('98765432101234');
  });

  it('keeps an object uploaded again since their last message (a send for someone else may be on its way to the queue)', async () => {
    const w = await world();
    await sql`select gateway.register_media(${w.owner}, ${w.ownKey}, ${w.ownKey.split('/')[1]!}, 10)`;
    const erased = await eraseOf(w.owner, PHONE);
    expect(erased.media_keys).toEqual([]);
    expect((await snapshot(w.owner)).media).toEqual([w.ownKey, w.sharedKey]);
  });

  it('by LID alone erases the LID rows and, through the pairing message, the phone rows too', async () => {
    const w = await world();
    const erased = await eraseOf(w.owner, LID);
    expect(erased.counts).toMatchObject({ outbound_messages: 3, inbound_messages: 4, signal_keys: 6 });
    expect((await snapshot(w.owner)).messages).toEqual([GROUP, OTHER]);
  });
});
