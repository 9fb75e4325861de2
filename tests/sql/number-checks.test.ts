// Number checks, the connector's side in SQL: only the session's lease holder claims a job, a
// claim is taken once (SKIP LOCKED), an expired claim comes back, and only the holder answers.
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
});
afterAll(async () => db?.drop());

async function check(agent: string, numbers: string[]): Promise<string> {
  const [row] = await sql`select id from gateway.create_number_check(${owner}, ${agent}, ${numbers}::text[])`;
  return row!.id as string;
}

const claimChecks = (connector: string, agents: string[] | null, visibility = 60) =>
  sql`select id, agent_id, numbers from gateway.claim_number_checks(${connector}, ${agents}::uuid[], 10, ${visibility})`;

describe('number checks (connector side)', () => {
  it('only the lease holder claims; each job once; the holder answers and the row is done', async () => {
    const holder = await registerConnector(sql);
    const other = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const e = (await claim(sql, holder, agent, 60))!.toString();
    const id = await check(agent, ['15550001111', '15550002222']);

    expect(await claimChecks(other, null)).toHaveLength(0);
    const [first, second] = await Promise.all([claimChecks(holder, [agent]), claimChecks(holder, [agent])]);
    expect(first!.length + second!.length).toBe(1);

    // Someone else's answer is refused; the holder's is taken.
    const result = [
      { number: '15550001111', exists: true, jid: '15550001111@s.whatsapp.net' },
      { number: '15550002222', exists: false, jid: null },
    ];
    expect(await sqlState(sql`select gateway.complete_number_check(${agent}, ${other}, ${e}, ${id}, ${sql.json(result)})`)).toBe('WG004');
    const [taken] = await sql`select gateway.complete_number_check(${agent}, ${holder}, ${e}, ${id}, ${sql.json(result)}) as ok`;
    expect(taken!.ok).toBe(true);
    const [row] = await sql`select status, result, locked_by from public.number_checks where id = ${id}`;
    expect(row).toMatchObject({ status: 'done', result, locked_by: null });
    // Answered once: a second answer changes nothing.
    const [again] = await sql`select gateway.complete_number_check(${agent}, ${holder}, ${e}, ${id}, ${sql.json([])}) as ok`;
    expect(again!.ok).toBe(false);
  });

  it('a holder whose lease moved on cannot answer the job it still has claimed (fenced by the epoch)', async () => {
    const a = await registerConnector(sql);
    const b = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const old = (await claim(sql, a, agent, 60))!;
    const id = await check(agent, ['15550004444']);
    expect(await claimChecks(a, [agent], 120)).toHaveLength(1);
    await sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where agent_id = ${agent}`;
    expect(await claim(sql, b, agent)).toBe(old + 1n);
    const answer = sql.json([{ number: '15550004444', exists: false, jid: null }]);
    expect(await sqlState(sql`select gateway.complete_number_check(${agent}, ${a}, ${old.toString()}, ${id}, ${answer})`)).toBe('WG004');
    const [row] = await sql`select status, locked_by from public.number_checks where id = ${id}`;
    expect(row).toMatchObject({ status: 'running', locked_by: a });
  });

  it('an expired claim comes back; a failure records its reason; bad answers are refused', async () => {
    const connector = await registerConnector(sql);
    const agent = await createRunningAgent(sql, owner);
    const e = (await claim(sql, connector, agent, 60))!.toString();
    const id = await check(agent, ['15550003333']);
    expect(await claimChecks(connector, [agent], 1)).toHaveLength(1);
    expect(await claimChecks(connector, [agent], 1)).toHaveLength(0);
    await sql`update public.number_checks set locked_until = now() - interval '1 second' where id = ${id}`;
    expect(await claimChecks(connector, [agent])).toHaveLength(1);

    expect(await sqlState(sql`select gateway.complete_number_check(${agent}, ${connector}, ${e}, ${id}, ${sql.json({ not: 'an array' })})`)).toBe('WG005');
    await sql`select gateway.complete_number_check(${agent}, ${connector}, ${e}, ${id}, null, 'WhatsApp refused the check: timed out')`;
    const [row] = await sql`select status, error, result from public.number_checks where id = ${id}`;
    expect(row).toMatchObject({ status: 'failed', error: 'WhatsApp refused the check: timed out', result: null });
  });
});
