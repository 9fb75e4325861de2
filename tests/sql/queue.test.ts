import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { claim, createRunningAgent, createUser, registerConnector, setPlan, sqlState } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sql: Sql;
let owner: string;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  owner = await createUser(sql);
  await setPlan(sql, owner, 'max');
  await sql`update public.plans set max_agents = 100, messages_per_minute = 100000`;
});
afterAll(async () => db?.drop());

async function ownedConnectedAgent(connector: string): Promise<{ agent: string; epoch: bigint }> {
  const agent = await createRunningAgent(sql, owner);
  const epoch = (await claim(sql, connector, agent, 60))!;
  await sql`select gateway.update_session(${agent}, ${connector}, ${epoch.toString()}, ${sql.json({ status: 'connected' })})`;
  return { agent, epoch };
}

async function enqueue(agent: string, n: number, prefix = 'k'): Promise<void> {
  await sql`
    select gateway.enqueue_message(${owner}, ${agent}, '15550001111', 'text', '{"text":"hi"}'::jsonb, ${prefix} || g::text, 'h')
    from generate_series(1, ${n}) g`;
}

describe('outbound queue', () => {
  it('4 concurrent workers claim 2,000 rows: every row exactly once', async () => {
    const connector = await registerConnector(sql);
    const agents: string[] = [];
    for (let i = 0; i < 10; i++) agents.push((await ownedConnectedAgent(connector)).agent);
    // One enqueue per statement from parallel connections, as the API does, so claimed batches
    // span many agents in varying order (this once deadlocked on daily_stats).
    const writers = Array.from({ length: 4 }, () => db.connect({ max: 1 }));
    await Promise.all(
      writers.map(async (w, k) => {
        for (let i = k; i < 2000; i += 4) {
          await w`select gateway.enqueue_message(${owner}, ${agents[(i * 7) % 10]!}, '15550001111', 'text', '{"text":"hi"}'::jsonb, ${`bulk-${i}`}, 'h')`;
        }
      }),
    );

    const workers = Array.from({ length: 4 }, () => db.connect({ max: 1 }));
    const seen: string[] = [];
    await Promise.all(
      workers.map(async (w) => {
        for (;;) {
          const rows = await w`select id, agent_id, lease_epoch from gateway.claim_messages(${connector}, 50, 60)`;
          if (rows.length === 0) return;
          seen.push(...rows.map((r) => r.id as string));
          // Completions are fenced per session, as the connector's writer sends them.
          for (const agent of new Set(rows.map((r) => r.agent_id as string))) {
            const mine = rows.filter((r) => r.agent_id === agent);
            const results = mine.map((r) => ({ id: r.id, outcome: 'sent' })).reverse();
            const done = await w`select * from gateway.complete_messages(${agent}, ${connector}, ${mine[0]!.lease_epoch}, ${w.json(results)})`;
            expect(done).toHaveLength(mine.length);
          }
        }
      }),
    );
    expect(seen).toHaveLength(2000);
    expect(new Set(seen).size).toBe(2000);
    const [left] = await sql`select count(*)::int as n from public.messages where status <> 'sent' and agent_id = any(${agents})`;
    expect(left!.n).toBe(0);
    const [stats] = await sql`select sum(sent)::int as sent, sum(queued)::int as queued from public.daily_stats where agent_id = any(${agents})`;
    expect(stats).toEqual({ sent: 2000, queued: 2000 });
  });

  it('a dead worker gives its rows back when the lock expires; its late completion is refused', async () => {
    const a = await registerConnector(sql);
    const b = await registerConnector(sql);
    const { agent } = await ownedConnectedAgent(a);
    await enqueue(agent, 3, 'dead-');
    const first = await sql`select id, attempts, lease_epoch from gateway.claim_messages(${a}, 10, 1)`;
    expect(first).toHaveLength(3);
    // a dies: its lease and its row locks expire; b takes the session and the rows
    await sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where agent_id = ${agent}`;
    await sql`update public.messages set locked_until = now() - interval '1 second' where agent_id = ${agent}`;
    const epoch = (await claim(sql, b, agent))!;
    await sql`select gateway.update_session(${agent}, ${b}, ${epoch.toString()}, ${sql.json({ status: 'connected' })})`;
    const again = await sql`select id, attempts, wa_message_id from gateway.claim_messages(${b}, 10, 60)`;
    expect(new Set(again.map((r) => r.id))).toEqual(new Set(first.map((r) => r.id)));
    expect(again.every((r) => r.attempts === 2)).toBe(true);
    const late = sql`select * from gateway.complete_messages(${agent}, ${a}, ${first[0]!.lease_epoch}, ${sql.json(first.map((r) => ({ id: r.id, outcome: 'failed' })))})`;
    expect(await sqlState(late)).toBe('WG004');
    const [s] = await sql`select count(*)::int as n from public.messages where agent_id = ${agent} and status = 'sending' and locked_by = ${b}`;
    expect(s!.n).toBe(3);
  });

  it('a connector whose lease moved on cannot complete or release rows it still has locked (fenced by the epoch)', async () => {
    const a = await registerConnector(sql);
    const b = await registerConnector(sql);
    const { agent, epoch: old } = await ownedConnectedAgent(a);
    await enqueue(agent, 2, 'fence-');
    const [sent, unsent] = await sql`select id from gateway.claim_messages(${a}, 10, 120)`;
    // a pauses past its lease; b takes the session while a's row locks are still live.
    await sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where agent_id = ${agent}`;
    const current = (await claim(sql, b, agent))!;
    expect(current).toBe(old + 1n);
    const o = old.toString();
    expect(await sqlState(sql`select * from gateway.complete_messages(${agent}, ${a}, ${o}, ${sql.json([{ id: sent!.id, outcome: 'sent' }])})`)).toBe('WG004');
    expect(await sqlState(sql`select gateway.release_messages(${agent}, ${a}, ${o}, ${[unsent!.id]}::uuid[])`)).toBe('WG004');
    // Nor with b's epoch: the lease is b's, not a's.
    const c = current.toString();
    expect(await sqlState(sql`select * from gateway.complete_messages(${agent}, ${a}, ${c}, ${sql.json([{ id: sent!.id, outcome: 'sent' }])})`)).toBe('WG004');
    const rows = await sql`select status, locked_by, attempts from public.messages where agent_id = ${agent}`;
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { status: 'sending', locked_by: a, attempts: 1 },
      { status: 'sending', locked_by: a, attempts: 1 },
    ]);
    // The holder of the live lease releases and completes only rows of the session it names.
    const { agent: other, epoch: otherEpoch } = await ownedConnectedAgent(a);
    expect((await sql`select gateway.release_messages(${other}, ${a}, ${otherEpoch.toString()}, ${[unsent!.id]}::uuid[]) as n`)[0]!.n).toBe(0);
  });

  it('claims only for sessions the caller leases', async () => {
    const a = await registerConnector(sql);
    const b = await registerConnector(sql);
    const { agent } = await ownedConnectedAgent(a);
    await enqueue(agent, 2, 'own-');
    expect(await sql`select id from gateway.claim_messages(${b}, 10, 60)`).toHaveLength(0);
    expect(await sql`select id from gateway.claim_messages(${a}, 10, 60, ${[agent]}::uuid[])`).toHaveLength(2);
  });

  it('concurrent enqueues with one Idempotency-Key make one row; a different body conflicts', async () => {
    const connector = await registerConnector(sql);
    const { agent } = await ownedConnectedAgent(connector);
    const pools = Array.from({ length: 8 }, () => db.connect({ max: 1 }));
    const results = await Promise.all(
      pools.map((p) => p`select * from gateway.enqueue_message(${owner}, ${agent}, '15550002222', 'text', '{"text":"x"}'::jsonb, 'same-key', 'hash-1')`),
    );
    const ids = new Set(results.map((r) => r[0]!.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r[0]!.replayed === false)).toHaveLength(1);
    const [n] = await sql`select count(*)::int as n from public.messages where agent_id = ${agent} and idempotency_key = 'same-key'`;
    expect(n!.n).toBe(1);
    expect(
      await sqlState(sql`select * from gateway.enqueue_message(${owner}, ${agent}, '15550002222', 'text', '{"text":"y"}'::jsonb, 'same-key', 'hash-2')`),
    ).toBe('WG006');
  });

  it('assigns a WhatsApp id at insert that a retry keeps', async () => {
    const connector = await registerConnector(sql);
    const { agent, epoch } = await ownedConnectedAgent(connector);
    const [m] = await sql`select * from gateway.enqueue_message(${owner}, ${agent}, '15550003333', 'text', '{"text":"x"}'::jsonb, null, null)`;
    expect(m!.wa_message_id).toMatch(/^3EB0[0-9A-F]{18}$/);
    const [c1] = await sql`select wa_message_id from gateway.claim_messages(${connector}, 1, 60, ${[agent]}::uuid[])`;
    await sql`select * from gateway.complete_messages(${agent}, ${connector}, ${epoch.toString()}, ${sql.json([{ id: m!.id, outcome: 'retry', retry_in_seconds: 0 }])})`;
    const [c2] = await sql`select wa_message_id, attempts from gateway.claim_messages(${connector}, 1, 60, ${[agent]}::uuid[])`;
    expect(c1!.wa_message_id).toBe(m!.wa_message_id);
    expect(c2!.wa_message_id).toBe(m!.wa_message_id);
    expect(c2!.attempts).toBe(2);
  });

  it('retries back off and fail after max attempts with a reason', async () => {
    const connector = await registerConnector(sql);
    const { agent, epoch } = await ownedConnectedAgent(connector);
    const [m] = await sql`select id from gateway.enqueue_message(${owner}, ${agent}, '15550004444', 'text', '{"text":"x"}'::jsonb)`;
    await sql`update public.messages set max_attempts = 2 where id = ${m!.id}`;
    await sql`select gateway.claim_messages(${connector}, 1, 60, ${[agent]}::uuid[])`;
    await sql`select gateway.complete_messages(${agent}, ${connector}, ${epoch.toString()}, ${sql.json([{ id: m!.id, outcome: 'retry', error_code: 'timeout', retry_in_seconds: 30 }])})`;
    const [r1] = await sql`select status, next_attempt_at > now() + interval '20 seconds' as later from public.messages where id = ${m!.id}`;
    expect(r1).toEqual({ status: 'queued', later: true });
    expect(await sql`select id from gateway.claim_messages(${connector}, 1, 60, ${[agent]}::uuid[])`).toHaveLength(0);
    await sql`update public.messages set next_attempt_at = now() where id = ${m!.id}`;
    await sql`select gateway.claim_messages(${connector}, 1, 60, ${[agent]}::uuid[])`;
    await sql`select gateway.complete_messages(${agent}, ${connector}, ${epoch.toString()}, ${sql.json([{ id: m!.id, outcome: 'retry', error_code: 'timeout' }])})`;
    const [r2] = await sql`select status, error_code, failed_at is not null as has_time from public.messages where id = ${m!.id}`;
    expect(r2).toEqual({ status: 'failed', error_code: 'timeout', has_time: true });
  });

  it('status only moves forward, receipts can jump ranks, and statistics count each milestone once', async () => {
    const connector = await registerConnector(sql);
    const { agent, epoch } = await ownedConnectedAgent(connector);
    const e = epoch.toString();
    const [m] = await sql`select id, wa_message_id from gateway.enqueue_message(${owner}, ${agent}, '15550005555', 'text', '{"text":"x"}'::jsonb)`;
    await sql`select gateway.claim_messages(${connector}, 1, 60, ${[agent]}::uuid[])`;
    const advance = (status: string) =>
      sql`select gateway.advance_message_status(${agent}, ${connector}, ${e}, ${sql.json([{ wa_message_id: m!.wa_message_id, status }])}) as n`;
    expect((await advance('delivered'))[0]!.n).toBe(1); // receipt before the send completed
    await sql`select gateway.complete_messages(${agent}, ${connector}, ${epoch.toString()}, ${sql.json([{ id: m!.id, outcome: 'sent' }])})`;
    expect((await advance('sent'))[0]!.n).toBe(0);
    expect((await advance('failed'))[0]!.n).toBe(0);
    expect((await advance('read'))[0]!.n).toBe(1);
    expect((await advance('delivered'))[0]!.n).toBe(0);
    const [row] = await sql`select status, sent_at is not null as s, delivered_at is not null as d, read_at is not null as r, locked_by from public.messages where id = ${m!.id}`;
    expect(row).toEqual({ status: 'read', s: true, d: true, r: true, locked_by: connector });
    const [stats] = await sql`select sent, delivered, read, failed from public.daily_stats where agent_id = ${agent}`;
    expect(stats).toEqual({ sent: 1, delivered: 1, read: 1, failed: 0 });
    const events = await sql`select payload->>'status' as s from public.events where agent_id = ${agent} and type = 'message.status' order by created_at`;
    expect(events.map((r) => r.s)).toEqual(['delivered', 'read']);
  });

  it('a receipt that moves a retried message forward clears the error of the earlier try', async () => {
    const connector = await registerConnector(sql);
    const { agent, epoch } = await ownedConnectedAgent(connector);
    const [m] = await sql`select id, wa_message_id from gateway.enqueue_message(${owner}, ${agent}, '15550005556', 'text', '{"text":"x"}'::jsonb)`;
    await sql`select gateway.claim_messages(${connector}, 1, 60, ${[agent]}::uuid[])`;
    // The first try went out but its ack did not come in time; the receipt arrives after all.
    await sql`select gateway.complete_messages(${agent}, ${connector}, ${epoch.toString()}, ${sql.json([{ id: m!.id, outcome: 'retry', error_code: 'send_timeout', error_message: 'no ack in 30 s' }])})`;
    await sql`select gateway.advance_message_status(${agent}, ${connector}, ${epoch.toString()}, ${sql.json([{ wa_message_id: m!.wa_message_id, status: 'read' }])})`;
    const [row] = await sql`select status, error_code, error_message from public.messages where id = ${m!.id}`;
    expect(row).toEqual({ status: 'read', error_code: null, error_message: null });
    const [event] = await sql`select payload from public.events where agent_id = ${agent} and type = 'message.status' and payload->>'status' = 'read'`;
    expect(event!.payload.error_code).toBeNull();
  });

  it('strips base64 media once sent (a row queued before media moved to the media store)', async () => {
    const connector = await registerConnector(sql);
    const { agent, epoch } = await ownedConnectedAgent(connector);
    const content = { media: { data: 'aGVsbG8=', mimetype: 'image/png' }, caption: 'c' };
    // enqueue_message refuses inline bytes now; such a row can only predate that migration.
    const [m] = await sql`insert into public.messages (agent_id, owner_id, wa_message_id, recipient, type, content)
      values (${agent}, ${owner}, 'LEGACY-INLINE', '15550006666', 'image', ${sql.json(content)}) returning id`;
    await sql`select gateway.claim_messages(${connector}, 1, 60, ${[agent]}::uuid[])`;
    await sql`select gateway.complete_messages(${agent}, ${connector}, ${epoch.toString()}, ${sql.json([{ id: m!.id, outcome: 'sent', strip_media: true }])})`;
    const [row] = await sql`select content from public.messages where id = ${m!.id}`;
    expect(row!.content).toEqual({ media: { mimetype: 'image/png', data_removed: true }, caption: 'c' });
  });

  it('stores inbound messages once per WhatsApp id and raises one event each', async () => {
    const connector = await registerConnector(sql);
    const { agent, epoch } = await ownedConnectedAgent(connector);
    const batch = [
      { wa_message_id: 'IN1', chat_jid: '15550007777@s.whatsapp.net', sender_phone: '15550007777', type: 'text', content: { text: 'hello' } },
      { wa_message_id: 'IN2', chat_jid: '15550007777@s.whatsapp.net', from_me: true, type: 'text', content: { text: 'from phone' } },
    ];
    const first = await sql`select * from gateway.record_inbound(${agent}, ${connector}, ${epoch.toString()}, ${sql.json(batch)})`;
    const second = await sql`select * from gateway.record_inbound(${agent}, ${connector}, ${epoch.toString()}, ${sql.json(batch)})`;
    expect(first).toHaveLength(2);
    expect(second).toHaveLength(0);
    const events = await sql`select type from public.events where agent_id = ${agent} and type like 'message.%' order by type`;
    expect(events.map((r) => r.type)).toEqual(['message.received', 'message.sent_from_phone']);
    const [stats] = await sql`select received from public.daily_stats where agent_id = ${agent}`;
    expect(stats!.received).toBe(1);
  });
});
