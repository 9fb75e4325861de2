// The media registry's retention (messages/media-retention.ts): objects no queued or sending
// message needs, claimed (rows locked) while they are deleted from the store, then forgotten.
import type { Db, Params, Row } from './types.ts';

/** Keys of unused objects past the grace period, their registry rows locked until the transaction ends. */
export async function claimUnusedMedia(sql: Db, p: Params<'claim_unused_media'>): Promise<string[]> {
  const rows = await sql<Row<'claim_unused_media'>[]>`select key from gateway.claim_unused_media(${p.graceSeconds}, ${p.limit})`;
  return rows.map((r) => r.key);
}

/** Drops the registry rows of deleted objects; how many. */
export async function forgetMedia(sql: Db, keys: string[]): Promise<number> {
  const [row] = await sql<[{ n: Row<'forget_media'> }?]>`select gateway.forget_media(${keys}::text[]) as n`;
  return row?.n ?? 0;
}
