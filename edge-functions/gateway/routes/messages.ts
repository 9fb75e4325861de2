/** Sending (idempotent, rate limited by the plan inside enqueue), reading and listing messages. */
import { createRoute, z } from '@hono/zod-openapi';
import { requireScope, visibleAgent } from '../../_shared/auth/principal.ts';
import { AgentParams, decodeCursor, encodeCursor, errorResponses, Uuid } from '../../_shared/contracts/common.ts';
import { createSendMessageSchema, MessageListQuery, MessagePage, MessageView, SendAccepted, toQueuedMessage } from '../../_shared/contracts/messages.ts';
import { HttpError, notFound } from '../../_shared/http/errors.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import { storeInlineMedia } from '../media.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { iso, isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

type MessageRow = {
  id: string; agent_id: string; wa_message_id: string; recipient: string; type: string; content: Record<string, unknown>;
  status: string; attempts: number; error_code: string | null; error_message: string | null; created_at: Date;
  sent_at: Date | null; delivered_at: Date | null; read_at: Date | null; failed_at: Date | null; cursor_ts?: string;
};

/** Never echo uploads back, nor the store's key: the size says enough. */
function publicContent(content: Record<string, unknown>): Record<string, unknown> {
  const media = content.media as Record<string, unknown> | undefined;
  if (media && typeof media.key === 'string') {
    const { key: _key, sha256: _sha256, size, ...rest } = media;
    return { ...content, media: { ...rest, dataBytes: size } };
  }
  if (!media || typeof media.data !== 'string') return content;
  const { data, ...rest } = media;
  return { ...content, media: { ...rest, dataBytes: Math.floor(((data as string).length * 3) / 4) } };
}

const toView = (r: MessageRow): z.infer<typeof MessageView> => ({
  id: r.id,
  agentId: r.agent_id,
  waMessageId: r.wa_message_id,
  to: r.recipient,
  type: r.type as z.infer<typeof MessageView>['type'],
  content: publicContent(r.content),
  status: r.status as z.infer<typeof MessageView>['status'],
  attempts: r.attempts,
  error: r.error_code || r.error_message ? { code: r.error_code, message: r.error_message } : null,
  createdAt: isoNow(r.created_at),
  sentAt: iso(r.sent_at),
  deliveredAt: iso(r.delivered_at),
  readAt: iso(r.read_at),
  failedAt: iso(r.failed_at),
});

async function requestHash(value: unknown): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(JSON.stringify(value)));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

export function registerMessageRoutes(app: GatewayApp, { sql, config, mediaStore, logger }: Ctx): void {
  const SendMessage = createSendMessageSchema({ maxMediaBytes: config.maxMediaBytes, allowHttpMedia: config.allowHttpMedia, allowPrivateUrls: config.allowPrivateUrls });

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/agents/{agentId}/messages', tags: ['Messages'],
      summary: 'Queue a message (202); Idempotency-Key replays the first result, 409 for a different body; limited per minute by the plan', security,
      request: {
        params: AgentParams,
        headers: z.object({ 'idempotency-key': z.string().regex(IDEMPOTENCY_KEY).optional().openapi({ description: '1-255 printable ASCII characters' }) }),
        body: { required: true, content: { 'application/json': { schema: SendMessage } } },
      },
      responses: { 202: json(SendAccepted, 'Queued (or the replay of the first request with this key)'), 409: json(z.unknown(), 'Idempotency-Key reused with a different body, or agent disabled'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const idempotencyKey = c.req.valid('header')['idempotency-key'] ?? null;
      const body = c.req.valid('json');
      requireScope(p, 'messages:send');
      visibleAgent(p, agentId);
      const queued = toQueuedMessage(body);
      const { recipient, type } = queued;
      const content = await storeInlineMedia({ sql, mediaStore, logger }, p.ownerId, queued.content);
      const hash = idempotencyKey ? await requestHash(body) : null;
      const [row] = await sql<{ id: string; wa_message_id: string; status: string; created_at: Date; replayed: boolean; rate_limit: number | null; rate_remaining: number | null; rate_reset_seconds: number | null }[]>`
        select * from gateway.api_send(${p.ownerId}, ${agentId}, ${recipient}, ${type}, ${sql.json(content as never)}, ${idempotencyKey}, ${hash})`;
      setRateHeaders(c, rateFromRow(row!));
      if (row!.replayed) c.header('Idempotent-Replayed', 'true');
      c.header('Location', `/gateway/v1/agents/${agentId}/messages/${row!.id}`);
      return c.json({ id: row!.id, waMessageId: row!.wa_message_id, status: row!.status as 'queued', createdAt: isoNow(row!.created_at), replayed: row!.replayed }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/messages/{messageId}', tags: ['Messages'], summary: 'Get one message with its status', security,
      request: { params: AgentParams.extend({ messageId: Uuid }) },
      responses: { 200: json(MessageView, 'The message'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId, messageId } = c.req.valid('param');
      requireScope(p, 'messages:read');
      visibleAgent(p, agentId);
      const rows = await sql<MessageRow[]>`
        select m.* from gateway.api_read(${p.ownerId}, ${agentId}) a join public.messages m on m.agent_id = a.id and m.id = ${messageId}`;
      if (!rows[0]) throw notFound('message');
      return c.json(toView(rows[0]), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/messages', tags: ['Messages'], summary: 'List messages, newest first, with filters and cursor pagination', security,
      request: { params: AgentParams, query: MessageListQuery },
      responses: { 200: json(MessagePage, 'A page of messages'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const q = c.req.valid('query');
      requireScope(p, 'messages:read');
      visibleAgent(p, agentId);
      const cursor = decodeCursor(q.cursor);
      if (cursor === 'invalid') throw new HttpError(400, 'invalid_request', 'The cursor is malformed', [{ path: 'cursor', message: 'malformed' }]);
      const rows = await sql<MessageRow[]>`
        select m.*, to_char(m.created_at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
        from gateway.api_read(${p.ownerId}, ${agentId}) a
        join public.messages m on m.agent_id = a.id
        where (${q.status ?? null}::text is null or m.status = ${q.status ?? null}::text)
          and (${q.type ?? null}::text is null or m.type = ${q.type ?? null}::text)
          and (${q.to ?? null}::text is null or m.recipient = ${q.to ?? null}::text)
          and (${q.since ?? null}::timestamptz is null or m.created_at >= ${q.since ?? null}::timestamptz)
          and (${q.until ?? null}::timestamptz is null or m.created_at < ${q.until ?? null}::timestamptz)
          and (${cursor?.createdAt ?? null}::timestamptz is null
               or (m.created_at, m.id) < (${cursor?.createdAt ?? null}::timestamptz, ${cursor?.id ?? null}::uuid))
        order by m.created_at desc, m.id desc
        limit ${q.limit + 1}`;
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      const nextCursor = rows.length > q.limit && last ? encodeCursor(last.cursor_ts!, last.id) : null;
      return c.json({ data: page.map(toView), nextCursor }, 200);
    },
  );
}
