// Media bytes stay out of queue rows (docs/invariants.md, invariant 6), on real Postgres: enqueue refuses
// inline bytes, oversized content and foreign or unregistered media references; claims are
// bounded in bytes; the media registry gives up an object only once no pending send needs it.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { claim, createRunningAgent, createUser, registerConnector, setPlan, sqlState } from '../helpers/fixtures.ts';

let db: TestDatabase;
let owner: string;
let agent: string;

beforeAll(async () => {
  db = await createTestDatabase();
  owner = await createUser(db.sql);
  await setPlan(db.sql, owner, 'max');
  agent = await createRunningAgent(db.sql, owner);
});

afterAll(async () => {
  await db?.drop();
});

const enqueue = (content: Record<string, unknown>, type = 'image', who = owner, to = agent) =>
  db.sql`select id from gateway.enqueue_message(${who}, ${to}, '15550001111', ${type}, ${db.sql.json(content as never)})`;

async function registered(who: string, bytes: Buffer): Promise<string> {
  const sha = createHash('sha256').update(bytes).digest('hex');
  const key = `${who}/${sha}`;
  await db.sql`select gateway.register_media(${who}, ${key}, ${sha}, ${bytes.length})`;
  return key;
}

describe('enqueue keeps media bytes out of the row', () => {
  it('refuses base64 media in the content (WG005) and stores nothing', async () => {
    const before = await db.sql`select count(*)::int as n from public.messages where agent_id = ${agent}`;
    expect(await sqlState(enqueue({ media: { data: Buffer.alloc(64).toString('base64'), mimetype: 'image/png' } }))).toBe('WG005');
    const after = await db.sql`select count(*)::int as n from public.messages where agent_id = ${agent}`;
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('refuses content over 64 KiB', async () => {
    expect(await sqlState(enqueue({ text: 'x'.repeat(70_000) }, 'text'))).toBe('WG005');
  });

  it('accepts a reference to a registered object of the owner; refuses an unregistered or foreign one', async () => {
    const bytes = Buffer.from(`image ${randomUUID()}`);
    const key = await registered(owner, bytes);
    const ref = { key, sha256: key.split('/')[1], size: bytes.length, mimetype: 'image/png' };
    expect(await enqueue({ media: ref })).toHaveLength(1);
    const unregistered = `${owner}/${'0'.repeat(64)}`;
    expect(await sqlState(enqueue({ media: { ...ref, key: unregistered } }))).toBe('WG005');
    const stranger = await createUser(db.sql);
    await setPlan(db.sql, stranger, 'max');
    const theirAgent = await createRunningAgent(db.sql, stranger);
    expect(await sqlState(enqueue({ media: ref }, 'image', stranger, theirAgent))).toBe('WG005');
  });

  it('register_media refuses a key that is not <owner>/<sha256>', async () => {
    const sha = 'a'.repeat(64);
    expect(await sqlState(db.sql`select gateway.register_media(${owner}, ${`${randomUUID()}/${sha}`}, ${sha}, 1)`)).toBe('WG005');
    expect(await sqlState(db.sql`select gateway.register_media(${owner}, ${`${owner}/../x`}, ${sha}, 1)`)).toBe('WG005');
  });
});

describe('claims are bounded in bytes as well as rows', () => {
  it('takes rows while their content fits the byte budget, and always at least one', async () => {
    const a = await createRunningAgent(db.sql, owner, 'bytes');
    const connector = await registerConnector(db.sql);
    await claim(db.sql, connector, a, 600);
    for (let i = 0; i < 4; i++) {
      await db.sql`select id from gateway.enqueue_message(${owner}, ${a}, '15550001111', 'text', ${db.sql.json({ text: `${i}${'y'.repeat(30_000)}` })})`;
    }
    const first = await db.sql`select id from gateway.claim_messages(${connector}, 50, 60, ${[a]}::uuid[], 70000)`;
    expect(first).toHaveLength(2);
    const second = await db.sql`select id from gateway.claim_messages(${connector}, 50, 60, ${[a]}::uuid[], 100)`;
    expect(second).toHaveLength(1);
    const rest = await db.sql`select id from gateway.claim_messages(${connector}, 50, 60, ${[a]}::uuid[])`;
    expect(rest).toHaveLength(1);
  });
});

describe('media registry: objects are released once no pending send needs them', () => {
  it('keeps an object while a queued send refers to it, releases it after the send failed', async () => {
    const bytes = Buffer.from(`gc ${randomUUID()}`);
    const key = await registered(owner, bytes);
    const [row] = await enqueue({ media: { key, sha256: key.split('/')[1], size: bytes.length, mimetype: 'image/png' } });
    const unused = async () => (await db.sql`select key from gateway.claim_unused_media(0, 1000)`).map((r) => r.key as string);
    expect(await unused()).not.toContain(key);
    await db.sql`update public.messages set status = 'failed', failed_at = now() where id = ${row!.id}`;
    expect(await unused()).toContain(key);
    // Within the grace period after a (re-)registration it is spared.
    await registered(owner, bytes);
    expect((await db.sql`select key from gateway.claim_unused_media(3600, 1000)`).map((r) => r.key)).not.toContain(key);
    expect((await db.sql`select gateway.forget_media(${[key]}) as n`)[0]!.n).toBe(1);
  });
});
