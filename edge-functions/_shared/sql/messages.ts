/**
 * Outbound messages: the send (idempotent, limited by the plan inside gateway.enqueue_message),
 * reads and the newest-first listing, and the registration of an uploaded media object.
 *
 *   const sent = await sendMessage(sql, { owner, agent, recipient, type, content, idempotencyKey: null, requestHash: null });
 *   const r = await sendWithApiKey(sql, { prefix, hash, organisation: null }, send); // r.outcome: sent | refused | seal | plain
 *
 * `id`, when given, is the new row's id: sealed content is bound to it (kernel/content-box.ts).
 * sendWithApiKey and sendAsMember check the caller in the same statement (one round trip per
 * send); `content: null` asks only whether the organisation's content must be sealed.
 */
import type { Cursor, Dated, FnRow, Nullable, Sql, TableRow } from './types.ts';

type Message = TableRow<'messages'>;

export type MessageRow = Dated<
  Pick<Message, 'id' | 'agent_id' | 'wa_message_id' | 'recipient' | 'type' | 'content' | 'status' | 'attempts' | 'error_code' | 'error_message'
    | 'created_at' | 'sent_at' | 'delivered_at' | 'read_at' | 'failed_at'>,
  'created_at' | 'sent_at' | 'delivered_at' | 'read_at' | 'failed_at'
>;

export type SentRow = Dated<Nullable<FnRow<'api_send'>, 'rate_limit' | 'rate_remaining' | 'rate_reset_seconds'>, 'created_at'>;

/** What the caller-checking sends answer: outcome, and for 'sent' the columns of api_send. */
export type CallerSendRow = Dated<
  Nullable<FnRow<'api_send_with_key'>, 'owner_id' | 'id' | 'wa_message_id' | 'status' | 'created_at' | 'replayed' | 'rate_limit' | 'rate_remaining' | 'rate_reset_seconds'>,
  'created_at'
> & { outcome: 'sent' | 'refused' | 'seal' | 'plain' };

/** A send as gateway.api_send takes it, without the owner (the caller's organisation) and the id (plain content). */
export interface CallerSend {
  agent: string;
  recipient: string;
  type: string;
  content: Record<string, unknown> | null;
  idempotencyKey: string | null;
  requestHash: string | null;
}

export interface MessageFilters {
  status: string | null;
  type: string | null;
  to: string | null;
  since: string | null;
  until: string | null;
}

export async function sendMessage(
  sql: Sql,
  m: { owner: string; agent: string; recipient: string; type: string; content: Record<string, unknown>; idempotencyKey: string | null; requestHash: string | null; id?: string },
): Promise<SentRow> {
  const [row] = await sql<SentRow[]>`
    select * from gateway.api_send(${m.owner}, ${m.agent}, ${m.recipient}, ${m.type}, ${sql.json(m.content as never)}, ${m.idempotencyKey}, ${m.requestHash}, ${m.id ?? null}::uuid)`;
  return row!;
}

/** An API key's send: the key (prefix, SHA-256 of the whole key) and its rights are checked in the statement. */
export async function sendWithApiKey(sql: Sql, key: { prefix: string; hash: Uint8Array; organisation: string | null }, m: CallerSend): Promise<CallerSendRow> {
  const [row] = await sql<CallerSendRow[]>`
    select * from gateway.api_send_with_key(${key.prefix}, ${key.hash}, ${key.organisation}::uuid, ${m.agent}, ${m.recipient}, ${m.type},
      ${m.content === null ? null : sql.json(m.content as never)}, ${m.idempotencyKey}, ${m.requestHash})`;
  return row!;
}

/** A signed-in user's send in `organisation`: their role there is checked in the statement. */
export async function sendAsMember(sql: Sql, member: { user: string; organisation: string }, m: CallerSend): Promise<CallerSendRow> {
  const [row] = await sql<CallerSendRow[]>`
    select * from gateway.api_send_as_member(${member.user}, ${member.organisation}, ${m.agent}, ${m.recipient}, ${m.type},
      ${m.content === null ? null : sql.json(m.content as never)}, ${m.idempotencyKey}, ${m.requestHash})`;
  return row!;
}

export async function readMessage(sql: Sql, owner: string, agent: string, message: string): Promise<MessageRow | undefined> {
  const [row] = await sql<MessageRow[]>`
    select m.* from gateway.api_read(${owner}, ${agent}) a join public.messages m on m.agent_id = a.id and m.id = ${message}`;
  return row;
}

/** Newest first, after the cursor; cursor_ts is the position of each row for the next page. */
export async function listMessages(
  sql: Sql, owner: string, agent: string, f: MessageFilters, cursor: Cursor | null, limit: number,
): Promise<(MessageRow & { cursor_ts: string })[]> {
  return await sql<(MessageRow & { cursor_ts: string })[]>`
    select m.*, to_char(m.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
    from gateway.api_read(${owner}, ${agent}) a
    join public.messages m on m.agent_id = a.id
    where (${f.status}::text is null or m.status = ${f.status}::text)
      and (${f.type}::text is null or m.type = ${f.type}::text)
      and (${f.to}::text is null or m.recipient = ${f.to}::text)
      and (${f.since}::timestamptz is null or m.created_at >= ${f.since}::timestamptz)
      and (${f.until}::timestamptz is null or m.created_at < ${f.until}::timestamptz)
      and (${cursor?.createdAt ?? null}::timestamptz is null
           or (m.created_at, m.id) < (${cursor?.createdAt ?? null}::timestamptz, ${cursor?.id ?? null}::uuid))
    order by m.created_at desc, m.id desc
    limit ${limit}`;
}

/** Registers a media object before it is stored, so retention never deletes it meanwhile (media.ts). */
export async function registerMedia(sql: Sql, owner: string, key: string, sha256: string, size: number): Promise<void> {
  await sql`select gateway.register_media(${owner}, ${key}, ${sha256}, ${size})`;
}
