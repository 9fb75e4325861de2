// Inbound messages (public.inbound_messages): the fenced write, and the lookup of one by its
// WhatsApp id (a reply or reaction that points at it).
import type { Db, Fenced, TableRow } from './types.ts';

export type ReceivedMessage = Pick<TableRow<'inbound_messages'>, 'chat_jid' | 'sender_phone' | 'sender_lid' | 'from_me' | 'type' | 'content'>;

/** Stores a batch; a message already stored (same WhatsApp id) is skipped in SQL. */
export async function recordInbound(sql: Db, a: Fenced<'record_inbound', { messages: object[] }>): Promise<void> {
  await sql`select count(*) from gateway.record_inbound(${a.agent}, ${a.connector}, ${a.epoch.toString()}, ${sql.json(a.messages as never)})`;
}

export async function receivedMessage(sql: Db, agentId: string, waMessageId: string): Promise<ReceivedMessage | undefined> {
  const [row] = await sql<ReceivedMessage[]>`
    select chat_jid, sender_phone, sender_lid, from_me, type, content from public.inbound_messages
    where agent_id = ${agentId} and wa_message_id = ${waMessageId}`;
  return row;
}
