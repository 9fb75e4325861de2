/**
 * Number checks: a job row the connector answers.
 *
 *   const job = await createNumberCheck(sql, ownerId, agentId, numbers, limit);
 *   const row = await numberCheck(sql, job.id); // polled until done or failed
 */
import type { Dated, FnRow, RateColumns, Sql, TableRow } from './types.ts';

export type NumberCheckRow = Dated<
  Pick<TableRow<'number_checks'>, 'id' | 'agent_id' | 'status' | 'numbers' | 'result' | 'error' | 'created_at' | 'completed_at'>,
  'created_at' | 'completed_at'
>;

/** Queues a check, taking one token per number from the agent's number-check bucket. */
export async function createNumberCheck(
  sql: Sql, owner: string, agent: string, numbers: string[], limit: { capacity: number; windowSeconds: number },
): Promise<Pick<FnRow<'create_number_check'>, 'id'> & RateColumns> {
  const [row] = await sql<(Pick<FnRow<'create_number_check'>, 'id'> & RateColumns)[]>`
    select * from gateway.create_number_check(${owner}, ${agent}, ${numbers}::text[], ${limit.capacity}, ${limit.windowSeconds})`;
  return row!;
}

/** A check by id alone: only for the id createNumberCheck just returned to the same owner. */
export async function numberCheck(sql: Sql, id: string): Promise<NumberCheckRow | undefined> {
  const [row] = await sql<NumberCheckRow[]>`select * from public.number_checks where id = ${id}`;
  return row;
}

export async function readNumberCheck(sql: Sql, owner: string, agent: string, id: string): Promise<NumberCheckRow | undefined> {
  const [row] = await sql<NumberCheckRow[]>`
    select n.* from gateway.api_read(${owner}, ${agent}) a join public.number_checks n on n.agent_id = a.id and n.id = ${id}`;
  return row;
}
