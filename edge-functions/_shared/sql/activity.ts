/**
 * An agent's inbound messages and events, newest first with keyset pagination.
 *
 *   const rows = await listEvents(sql, ownerId, agentId, { type: null, withMessages: true }, cursor, 51);
 */
import type { Cursor, Dated, Sql, TableRow } from './types.ts';

export type InboundRow = Dated<
  Pick<TableRow<'inbound_messages'>, 'id' | 'wa_message_id' | 'chat_jid' | 'sender_phone' | 'sender_lid' | 'from_me' | 'type' | 'content' | 'quoted_wa_message_id' | 'sent_at' | 'created_at'>,
  'sent_at' | 'created_at'
> & { cursor_ts: string };

export type EventRow = Dated<Pick<TableRow<'events'>, 'id' | 'type' | 'severity' | 'payload' | 'created_at'>, 'created_at'> & { cursor_ts: string };

export async function listInbound(sql: Sql, owner: string, agent: string, cursor: Cursor | null, limit: number): Promise<InboundRow[]> {
  return await sql<InboundRow[]>`
    select i.*, to_char(i.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
    from gateway.api_read(${owner}, ${agent}) a
    join public.inbound_messages i on i.agent_id = a.id
    where ${cursor?.createdAt ?? null}::timestamptz is null
       or (i.created_at, i.id) < (${cursor?.createdAt ?? null}::timestamptz, ${cursor?.id ?? null}::uuid)
    order by i.created_at desc, i.id desc
    limit ${limit}`;
}

/** withMessages false leaves message.* events out (they carry bodies and sender numbers). */
export async function listEvents(
  sql: Sql, owner: string, agent: string, f: { type: string | null; withMessages: boolean }, cursor: Cursor | null, limit: number,
): Promise<EventRow[]> {
  return await sql<EventRow[]>`
    select e.id, e.type, e.severity, e.payload, e.created_at, to_char(e.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
    from gateway.api_read(${owner}, ${agent}) a
    join public.events e on e.agent_id = a.id
    where (${f.type}::text is null or e.type = ${f.type}::text)
      and (${f.withMessages}::boolean or e.type not like 'message.%')
      and (${cursor?.createdAt ?? null}::timestamptz is null
           or (e.created_at, e.id) < (${cursor?.createdAt ?? null}::timestamptz, ${cursor?.id ?? null}::uuid))
    order by e.created_at desc, e.id desc
    limit ${limit}`;
}
