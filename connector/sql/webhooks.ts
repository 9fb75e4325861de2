// The webhook outbox (public.webhook_deliveries), worked by webhooks/dispatcher.ts: claims shared
// out fairly per endpoint, and outcomes written for the rows this connector still holds.
import type { Db, Params, Pg, Row } from './types.ts';

/**
 * bytea arrives as a Buffer and timestamptz as a Date from postgres.js; an endpoint without a
 * secret and an event of no agent come back as nulls (generated set-returning columns are never
 * marked nullable).
 */
export type ClaimedDelivery = Pg<
  Row<'claim_deliveries'>,
  {
    secret_ciphertext: Buffer | null;
    secret_key_version: number | null;
    /** The secret a rotation replaced, while its overlap lasts (null otherwise). */
    previous_ciphertext: Buffer | null;
    previous_key_version: number | null;
    agent_id: string | null;
    event_created_at: Date;
  }
>;

export async function claimDeliveries(sql: Db, p: Params<'claim_deliveries'>): Promise<ClaimedDelivery[]> {
  return sql<ClaimedDelivery[]>`
    select * from gateway.claim_deliveries(${p.connector}, ${p.limit}, ${p.visibilitySeconds}, ${p.perEndpoint})`;
}

/** Writes outcomes (delivered, retry, dead); returns how many rows were still ours to write. */
export async function completeDeliveries(sql: Db, p: Pg<Params<'complete_deliveries'>, { results: object[] }>): Promise<number> {
  const [row] = await sql<[{ n: Row<'complete_deliveries'> }?]>`select gateway.complete_deliveries(${p.connector}, ${sql.json(p.results as never)}) as n`;
  return row?.n ?? 0;
}
