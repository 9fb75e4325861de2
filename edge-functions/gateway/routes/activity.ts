/** An agent's inbound messages and events, for the link page and for polling integrations. */
import { createRoute, type z } from '@hono/zod-openapi';
import { type Principal, requireScope } from '../../_shared/auth/principal.ts';
import { EventListQuery, EventPage, InboundListQuery, InboundPage } from '../../_shared/contracts/activity.ts';
import { AgentParams, decodeCursor, encodeCursor, errorResponses } from '../../_shared/contracts/common.ts';
import { HttpError } from '../../_shared/http/errors.ts';
import { listEvents, listInbound } from '../../_shared/sql/activity.ts';
import { openEvents, openInbound } from '../content.ts';
import { agentVisible, scope } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { iso, isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

function cursorOf(raw: string | undefined): { createdAt: string; id: string } | null {
  const cursor = decodeCursor(raw);
  if (cursor === 'invalid') throw new HttpError(400, 'invalid_request', 'The cursor is malformed', [{ path: 'cursor', message: 'malformed' }]);
  return cursor;
}

/** Whether the caller may see message bodies and numbers (what requireScope(p, 'messages:read') allows). */
function canReadMessages(p: Principal): boolean {
  try {
    requireScope(p, 'messages:read');
    return true;
  } catch {
    return false;
  }
}

export function registerActivityRoutes(app: GatewayApp, ctx: Ctx): void {
  const { sql } = ctx;
  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/inbound', operationId: 'listInboundMessages', tags: ['Messages'], summary: 'Inbound messages, newest first, with cursor pagination', security,
      middleware: [scope('messages:read'), agentVisible],
      request: { params: AgentParams, query: InboundListQuery },
      responses: { 200: json(InboundPage, 'A page of inbound messages'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const q = c.req.valid('query');
      const rows = await listInbound(sql, p.ownerId, agentId, cursorOf(q.cursor), q.limit + 1);
      const page = await openInbound(ctx, agentId, rows.slice(0, q.limit));
      const last = page.at(-1);
      return c.json({
        data: page.map((r) => ({
          id: r.id, waMessageId: r.wa_message_id, chatJid: r.chat_jid, senderPhone: r.sender_phone, senderLid: r.sender_lid, fromMe: r.from_me,
          type: r.type, content: r.content as Record<string, unknown>, quotedWaMessageId: r.quoted_wa_message_id, sentAt: iso(r.sent_at), createdAt: isoNow(r.created_at),
        })),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
      }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/events', operationId: 'listEvents', tags: ['Agents'], summary: 'Events of an agent (status changes, message statuses, alerts), newest first; message.* events need messages:read', security,
      middleware: [scope('agents:read'), agentVisible],
      request: { params: AgentParams, query: EventListQuery },
      responses: { 200: json(EventPage, 'A page of events'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const q = c.req.valid('query');
      // message.* events carry message bodies and sender numbers: they belong to messages:read.
      // Without it they are left out of the listing, and asking for one by type is a 403.
      const messages = canReadMessages(p);
      if (!messages && q.type?.startsWith('message.')) requireScope(p, 'messages:read');
      const rows = await listEvents(sql, p.ownerId, agentId, { type: q.type ?? null, withMessages: messages }, cursorOf(q.cursor), q.limit + 1);
      const page = await openEvents(ctx, agentId, rows.slice(0, q.limit));
      const last = page.at(-1);
      return c.json({
        data: page.map((r) => ({ id: r.id, type: r.type, severity: r.severity as 'info' | 'warning' | 'critical', payload: r.payload as Record<string, unknown>, createdAt: isoNow(r.created_at) })),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null,
      }, 200);
    },
  );
}
