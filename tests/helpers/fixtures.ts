/** Rows the SQL tests build on: users, agents, connectors, and acting as a Data API role. */
import { randomUUID } from 'node:crypto';
import type { Sql } from './db.ts';

export async function createUser(sql: Sql, email = `${randomUUID()}@example.test`): Promise<string> {
  const [row] = await sql`insert into auth.users (email) values (${email}) returning id`;
  return row!.id as string;
}

export async function setPlan(sql: Sql, userId: string, plan: 'basic' | 'pro' | 'max'): Promise<void> {
  await sql`update public.accounts set plan_id = ${plan} where user_id = ${userId}`;
}

export async function createAgent(sql: Sql, ownerId: string, name = 'agent'): Promise<string> {
  const [row] = await sql`select id from gateway.create_agent(${ownerId}, ${name})`;
  return row!.id as string;
}

/** An agent whose session wants a socket, so connectors may claim it. */
export async function createRunningAgent(sql: Sql, ownerId: string, name = 'agent'): Promise<string> {
  const id = await createAgent(sql, ownerId, name);
  await sql`select gateway.request_link(${ownerId}, ${id}, 'qr')`;
  return id;
}

export async function registerConnector(sql: Sql, id: string = randomUUID(), hostname = 'test-host'): Promise<string> {
  await sql`select gateway.register_connector(${id}, ${hostname}, ${process.pid}, 'test', 1000)`;
  return id;
}

export async function claim(sql: Sql, connector: string, agent: string, leaseSeconds = 30): Promise<bigint | null> {
  const rows = await sql`select lease_epoch from gateway.claim_session(${connector}, ${agent}, ${leaseSeconds})`;
  return rows.length ? BigInt(rows[0]!.lease_epoch) : null;
}

export type Role = 'anon' | 'authenticated' | 'service_role';

/**
 * Runs `fn` the way PostgREST runs a Data API request: in a transaction, with the JWT claims set
 * and the role switched. Rolled back afterwards, so probes never leave rows behind.
 */
export async function asRole<T>(sql: Sql, role: Role, userId: string | null, fn: (tx: Sql) => Promise<T>): Promise<T> {
  let result: T | undefined;
  const rollback = new Error('rollback');
  try {
    await sql.begin(async (tx) => {
      const claims = JSON.stringify(userId ? { sub: userId, role } : { role });
      await tx`select set_config('request.jwt.claims', ${claims}, true)`;
      await tx.unsafe(`set local role ${role}`);
      result = await fn(tx as unknown as Sql);
      throw rollback;
    });
  } catch (error) {
    if (error !== rollback) throw error;
  }
  return result as T;
}

/** The SQLSTATE of a rejected promise (or undefined if it resolved). */
export async function sqlState(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}
