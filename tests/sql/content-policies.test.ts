/**
 * Content policies in SQL (20261202122000..122002): the policy row and its functions, encrypted
 * content enforced at enqueue, and discard_after_delivery removing content once a send settles
 * and once an inbound message's webhook deliveries have ended.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { claim, createRunningAgent, createUser, registerConnector } from '../helpers/fixtures.ts';

const REMOVED = { content_removed: true };
let db: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
});
afterAll(async () => db?.drop());

const policy = async (owner: string) => (await sql`select policy from gateway.api_content_policy(${owner})`)[0]!.policy as string;
const setPolicy = (owner: string, p: string) => sql`select * from gateway.api_set_content_policy(${owner}, ${p})`;
const errorCode = (p: Promise<unknown>) => p.then(() => undefined, (e: { code?: string }) => e.code);

/** A tenant with a running agent whose lease this test holds. */
async function tenant(p: string | null) {
  const owner = await createUser(sql);
  const agent = await createRunningAgent(sql, owner);
  const connector = await registerConnector(sql);
  const epoch = (await claim(sql, connector, agent))!.toString();
  if (p) await setPolicy(owner, p);
  return { owner, agent, connector, epoch };
}

async function sendAndSettle(t: Awaited<ReturnType<typeof tenant>>, outcome: 'sent' | 'failed' | 'retry', text = 'hello') {
  const [m] = await sql`select id from gateway.enqueue_message(${t.owner}, ${t.agent}, '15550001111', 'text', ${sql.json({ text })})`;
  await sql`select id from gateway.claim_messages(${t.connector}, 10, 60, ${[t.agent]}::uuid[])`;
  await sql`select * from gateway.complete_messages(${t.agent}, ${t.connector}, ${t.epoch}, ${sql.json([{ id: m!.id, outcome, error_code: outcome === 'sent' ? null : 'x' }])})`;
  return (await sql`select status, content from public.messages where id = ${m!.id}`)[0]!;
}

async function receive(t: Awaited<ReturnType<typeof tenant>>, waId: string, text = 'hi there') {
  await sql`select * from gateway.record_inbound(${t.agent}, ${t.connector}, ${t.epoch}, ${sql.json([{ wa_message_id: waId, chat_jid: '15550002222@s.whatsapp.net', type: 'text', content: { text } }])})`;
  const [row] = await sql`select id, content from public.inbound_messages where agent_id = ${t.agent} and wa_message_id = ${waId}`;
  const [event] = await sql`select id, payload from public.events where agent_id = ${t.agent} and type = 'message.received' and payload ->> 'wa_message_id' = ${waId}`;
  return { row: row!, event: event! };
}

const inboundState = async (agent: string, waId: string, eventId: string) => ({
  row: (await sql`select content from public.inbound_messages where agent_id = ${agent} and wa_message_id = ${waId}`)[0]!.content,
  event: (await sql`select payload -> 'content' as content from public.events where id = ${eventId}`)[0]!.content,
});

describe('the policy row', () => {
  it('content_encryption_in_use stays true once any tenant chose encrypted, even after switching back', async () => {
    // First in the file: its database has no encrypted tenant yet.
    const inUse = async () => (await sql`select gateway.content_encryption_in_use() as u`)[0]!.u as boolean;
    const owner = await createUser(sql);
    await setPolicy(owner, 'discard_after_delivery');
    const before = await inUse();
    await setPolicy(owner, 'encrypted');
    await setPolicy(owner, 'plain');
    expect({ before, after: await inUse() }).toEqual({ before: false, after: true });
  });

  it('is plain without a row, settable to each policy, and refuses anything else with WG005', async () => {
    const owner = await createUser(sql);
    expect(await policy(owner)).toBe('plain');
    for (const p of ['encrypted', 'discard_after_delivery', 'plain']) {
      await setPolicy(owner, p);
      expect(await policy(owner)).toBe(p);
    }
    expect(await errorCode(setPolicy(owner, 'shredded'))).toBe('WG005');
    expect(await policy(owner)).toBe('plain');
  });

  it('content_policy_of_agent follows the owner', async () => {
    const t = await tenant('discard_after_delivery');
    expect((await sql`select gateway.content_policy_of_agent(${t.agent}) as p`)[0]!.p).toBe('discard_after_delivery');
  });
});

describe('encrypted', () => {
  it('enqueue refuses plaintext (WG008) and accepts a sealed envelope, up to the sealed size of 64 KiB', async () => {
    const t = await tenant('encrypted');
    expect(await errorCode(sql`select * from gateway.enqueue_message(${t.owner}, ${t.agent}, '15550001111', 'text', '{"text":"x"}'::jsonb)`)).toBe('WG008');
    const id = crypto.randomUUID();
    const sealed = { sealed: { v: 1, ct: 'A'.repeat(87_000) } };
    const [m] = await sql`select id from gateway.enqueue_message(${t.owner}, ${t.agent}, '15550001111', 'text', ${sql.json(sealed)}, null, null, ${id})`;
    expect(m!.id).toBe(id);
    const tooLarge = { sealed: { v: 1, ct: 'A'.repeat(91_000) } };
    expect(await errorCode(sql`select * from gateway.enqueue_message(${t.owner}, ${t.agent}, '15550001111', 'text', ${sql.json(tooLarge)})`)).toBe('WG005');
  });
});

describe('discard_after_delivery', () => {
  it('a sent message and a message failed for good keep their rows but not their content; a retry keeps it', async () => {
    const t = await tenant('discard_after_delivery');
    expect(await sendAndSettle(t, 'sent')).toEqual({ status: 'sent', content: REMOVED });
    expect(await sendAndSettle(t, 'failed')).toEqual({ status: 'failed', content: REMOVED });
    expect(await sendAndSettle(t, 'retry', 'again')).toEqual({ status: 'queued', content: { text: 'again' } });
  });

  it('a failed message whose content is gone is not requeued by the operator function', async () => {
    const t = await tenant('discard_after_delivery');
    await sendAndSettle(t, 'failed');
    expect((await sql`select ops.requeue_failed_messages(${t.agent}) as n`)[0]!.n).toBe(0);
  });

  it('a plain tenant keeps sent content (until retention)', async () => {
    const t = await tenant(null);
    expect(await sendAndSettle(t, 'sent')).toEqual({ status: 'sent', content: { text: 'hello' } });
  });

  it('inbound without a webhook endpoint: content removed from the row and its event at once', async () => {
    const t = await tenant('discard_after_delivery');
    const { event } = await receive(t, 'IN-NOHOOK');
    expect(await inboundState(t.agent, 'IN-NOHOOK', event.id)).toEqual({ row: REMOVED, event: REMOVED });
  });

  it('inbound with endpoints: content kept while a delivery is pending, removed once all are delivered or dead', async () => {
    const t = await tenant('discard_after_delivery');
    for (const n of [1, 2]) {
      await sql`insert into public.webhook_endpoints (owner_id, url) values (${t.owner}, ${`https://example.com/hook-${n}`})`;
    }
    const { event } = await receive(t, 'IN-HOOKS', 'for the webhook');
    expect(await inboundState(t.agent, 'IN-HOOKS', event.id)).toEqual({ row: { text: 'for the webhook' }, event: { text: 'for the webhook' } });
    const deliveries = await sql`select id from public.webhook_deliveries where event_id = ${event.id} order by id`;
    expect(deliveries).toHaveLength(2);
    const connector = await registerConnector(sql);
    const claimed = await sql`select delivery_id from gateway.claim_deliveries(${connector}, 10, 30, 10) where event_id = ${event.id}`;
    expect(claimed).toHaveLength(2);
    await sql`select gateway.complete_deliveries(${connector}, ${sql.json([{ id: deliveries[0]!.id, outcome: 'delivered', status_code: 200 }, { id: deliveries[1]!.id, outcome: 'retry', error: 'HTTP 503' }])})`;
    expect(await inboundState(t.agent, 'IN-HOOKS', event.id)).toEqual({ row: { text: 'for the webhook' }, event: { text: 'for the webhook' } });
    await sql`select gateway.claim_deliveries(${connector}, 10, 30, 10)`;
    await sql`select gateway.complete_deliveries(${connector}, ${sql.json([{ id: deliveries[1]!.id, outcome: 'dead', status_code: 410 }])})`;
    expect(await inboundState(t.agent, 'IN-HOOKS', event.id)).toEqual({ row: REMOVED, event: REMOVED });
  });

  it('a plain tenant keeps inbound content after its webhooks are delivered', async () => {
    const t = await tenant(null);
    const { event } = await receive(t, 'IN-PLAIN');
    expect(await inboundState(t.agent, 'IN-PLAIN', event.id)).toEqual({ row: { text: 'hi there' }, event: { text: 'hi there' } });
  });
});
