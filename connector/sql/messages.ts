// The outbound queue (public.messages): claims, their outcomes, receipts, and the lookups of a
// message we sent. Outcomes, releases and receipts are fenced by the lease epoch they were
// claimed (or received) under.
import type { Db, Fenced, Params, Pg, Row, TableRow } from './types.ts';

/** lease_epoch is int8, a string from postgres.js: handed out as a bigint. */
export type ClaimedMessageRow = Pg<Omit<Row<'claim_messages'>, 'created_at'>, { lease_epoch: bigint }>;
export type SentMessage = Pick<TableRow<'messages'>, 'id' | 'recipient' | 'type' | 'content'>;

/** Due rows of the given sessions, up to `limit` rows and `maxBytes` of content (SKIP LOCKED). */
export async function claimMessages(sql: Db, p: Params<'claim_messages'>): Promise<ClaimedMessageRow[]> {
  const rows = await sql<Array<Pg<ClaimedMessageRow, { lease_epoch: string }>>>`
    select id, agent_id, lease_epoch, wa_message_id, recipient, type, content, attempts, max_attempts
    from gateway.claim_messages(${p.connector}, ${p.limit}, ${p.visibilitySeconds}, ${p.agents}::uuid[], ${p.maxBytes})`;
  return rows.map((r) => ({ ...r, lease_epoch: BigInt(r.lease_epoch) }));
}

/** Send outcomes of one session's rows (sent, retry, failed), in order. */
export async function completeMessages(sql: Db, a: Fenced<'complete_messages', { results: object[] }>): Promise<void> {
  await sql`select count(*) from gateway.complete_messages(${a.agent}, ${a.connector}, ${a.epoch.toString()}, ${sql.json(a.results as never)})`;
}

/** Gives claimed rows back without counting an attempt. */
export async function releaseMessages(sql: Db, a: Fenced<'release_messages'>): Promise<void> {
  await sql`select gateway.release_messages(${a.agent}, ${a.connector}, ${a.epoch.toString()}, ${a.ids}::uuid[])`;
}

/** Receipts (sent, delivered, read, failed); status only moves forward. */
export async function advanceMessageStatus(sql: Db, a: Fenced<'advance_message_status', { updates: object[] }>): Promise<void> {
  await sql`select gateway.advance_message_status(${a.agent}, ${a.connector}, ${a.epoch.toString()}, ${sql.json(a.updates as never)})`;
}

/** A message the agent sent, by its WhatsApp id. */
export async function sentMessage(sql: Db, agentId: string, waMessageId: string): Promise<SentMessage | undefined> {
  const [row] = await sql<SentMessage[]>`
    select id, recipient, type, content from public.messages where agent_id = ${agentId} and wa_message_id = ${waMessageId}`;
  return row;
}

/** Queued rows of the given sessions and the age of the oldest, in seconds (metrics). */
export async function queueDepth(sql: Db, agents: string[]): Promise<{ depth: number; age: number } | undefined> {
  const [row] = await sql<[{ depth: number; age: number }?]>`
    select count(*)::int as depth, coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age
    from public.messages where status = 'queued' and agent_id = any(${agents}::uuid[])`;
  return row;
}
