/**
 * What is not about one resource: the database round trip of /health and the shared token
 * bucket of the failed-authentication limit.
 *
 *   const take = await takeToken(sql, `authfail:${address}`, 20, 20 / 300);
 */
import type { FnRow, Sql } from './types.ts';

export async function ping(sql: Sql): Promise<void> {
  await sql`select 1`;
}

/** Takes one token from a bucket that holds `capacity` and refills `perSecond`. */
export async function takeToken(sql: Sql, key: string, capacity: number, perSecond: number): Promise<FnRow<'take_token'> | undefined> {
  const [row] = await sql<FnRow<'take_token'>[]>`select * from gateway.take_token(${key}, ${capacity}, ${perSecond}, 1)`;
  return row;
}
