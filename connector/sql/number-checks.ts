// Number checks (public.number_checks), answered by messages/number-checks.ts for the sessions
// this connector holds; the answer is fenced by the epoch the job was claimed under.
import type { Db, Fenced, Params, Pg, Row } from './types.ts';

/** lease_epoch is int8, a string from postgres.js: handed out as a bigint. */
export type ClaimedNumberCheck = Pg<Row<'claim_number_checks'>, { lease_epoch: bigint }>;

export async function claimNumberChecks(sql: Db, p: Params<'claim_number_checks'>): Promise<ClaimedNumberCheck[]> {
  const rows = await sql<Array<Pg<ClaimedNumberCheck, { lease_epoch: string }>>>`
    select id, agent_id, lease_epoch, numbers from gateway.claim_number_checks(${p.connector}, ${p.agents}::uuid[], ${p.limit}, ${p.visibilitySeconds})`;
  return rows.map((r) => ({ ...r, lease_epoch: BigInt(r.lease_epoch) }));
}

/** The answer per number, or the reason WhatsApp refused the query. */
export async function completeNumberCheck(sql: Db, a: Fenced<'complete_number_check', { result: object[] | null; error: string | null }>): Promise<void> {
  await sql`select gateway.complete_number_check(${a.agent}, ${a.connector}, ${a.epoch.toString()}, ${a.check}, ${a.result ? sql.json(a.result as never) : null}, ${a.error})`;
}
