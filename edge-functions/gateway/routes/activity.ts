/** An agent's inbound messages and events, for the link page and for polling integrations. */
import { createRoute, type z } from '@hono/zod-openapi';
import { type Principal, requireScope, visibleAgent } from '../../_shared/auth/principal.ts';
import { EventListQuery, EventPage, InboundListQuery, InboundPage } from '../../_shared/contracts/activity.ts';
import { AgentParams, decodeCursor, encodeCursor, errorResponses } from '../../_shared/contracts/common.ts';
import { HttpError } from '../../_shared/http/errors.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { iso, isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];
const CURSOR_TS = `to_char(created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

function cursorOf(raw: string | undefined): { createdAt: string; id: string } | null {
  const cursor = decodeCursor(raw);
  if (cursor === 'invalid') throw new HttpError(400, 'invalid_request', 'The cursor is malformed', [{ path: 'cursor', message: 'malformed' }]);
  return cursor;
}

type InboundRow = {
  id: string; wa_message_id: string; chat_jid: string; sender_phone: string | null; sender_lid: string | null; from_me: boolean;
  type: string; content: Record<string, unknown>; quoted_wa_message_id: string | null; sent_at: Date | null; created_at: Date; cursor_ts: string;
};
type EventRow = { id: string; type: string; severity: 'info' | 'warning' | 'critical'; payload: Record<string, unknown>; created_at: Date; cursor_ts: string };

/** Whether the caller may see message bodies and numbers (what requireScope(p, 'messages:read') allows). */
function canReadMessages(p: Principal): boolean {
  try {
    requireScope(p, 'messages:read');
    return true;
  } catch {
    return false;
  }
}

export function registerActivityRoutes(app: GatewayApp, { sql }: Ctx): void {
  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/inbound', tags: ['Messages'], summary: 'Inbound messages, newest first, with cursor pagination', security,
      request: { params: AgentParams, query: InboundListQuery },
      responses: { 200: json(InboundPage, 'A page of inbound messages'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const q = c.req.valid('query');
      requireScope(p, 'messages:read');
      visibleAgent(p, agentId);
      const cursor = cursorOf(q.cursor);
      const rows = await sql<InboundRow[]>`
        select i.*, ${sql.unsafe(CURSOR_TS.replace('created_at', 'i.created_at'))} as cursor_ts
        from gateway.api_read(${p.ownerId}, ${agentId}) a
        join public.inbound_messages i on i.agent_id = a.id
        where ${cursor?.createdAt ?? null}::timestamptz is null
           or (i.created_at, i.id) < (${cursor?.createdAt ?? null}::timestamptz, ${cursor?.id ?? null}::uuid)
        order by i.created_at desc, i.id desc
        limit ${q.limit + 1}`;
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return c.json({
        data: page.map((r) => ({
          id: r.id, waMessageId: r.wa_message_id, chatJid: r.chat_jid, senderPhone: r.sender_phone, senderLid: r.sender_lid, fromMe: r.from_me,
          type: r.type, content: r.content, quotedWaMessageId: r.quoted_wa_message_id, sentAt: iso(r.sent_at), createdAt: isoNow(r.created_at),
        })),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/events', tags: ['Agents'], summary: 'Events of an agent (status changes, message statuses, alerts), newest first; message.* events need messages:read', security,
      request: { params: AgentParams, query: EventListQuery },
      responses: { 200: json(EventPage, 'A page of events'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const q = c.req.valid('query');
      requireScope(p, 'agents:read');
      visibleAgent(p, agentId);
      // message.* events carry message bodies and sender numbers: they belong to messages:read.
      // Without it they are left out of the listing, and asking for one by type is a 403.
      const messages = canReadMessages(p);
      if (!messages && q.type?.startsWith('message.')) requireScope(p, 'messages:read');
      const cursor = cursorOf(q.cursor);
      const rows = await sql<EventRow[]>`
        select e.id, e.type, e.severity, e.payload, e.created_at, ${sql.unsafe(CURSOR_TS.replace('created_at', 'e.created_at'))} as cursor_ts
        from gateway.api_read(${p.ownerId}, ${agentId}) a
        join public.events e on e.agent_id = a.id
        where (${q.type ?? null}::text is null or e.type = ${q.type ?? null}::text)
          and (${messages}::boolean or e.type not like 'message.%')
          and (${cursor?.createdAt ?? null}::timestamptz is null
               or (e.created_at, e.id) < (${cursor?.createdAt ?? null}::timestamptz, ${cursor?.id ?? null}::uuid))
        order by e.created_at desc, e.id desc
        limit ${q.limit + 1}`;
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return c.json({
        data: page.map((r) => ({ id: r.id, type: r.type, severity: r.severity, payload: r.payload, createdAt: isoNow(r.created_at) })),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
      }, 200);
    },
  );
}
