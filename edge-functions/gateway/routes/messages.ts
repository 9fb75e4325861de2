/** Sending (idempotent, rate limited by the plan inside enqueue), reading and listing messages. */
import { createRoute, z } from '@hono/zod-openapi';
import { AgentParams, decodeCursor, encodeCursor, errorResponses, Uuid } from '../../_shared/contracts/common.ts';
import { createSendMessageSchema, MessageListQuery, MessagePage, MessageView, SendAccepted, toQueuedMessage } from '../../_shared/contracts/messages.ts';
import { HttpError, notFound } from '../../_shared/http/errors.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import { listMessages, type MessageRow, readMessage, sendMessage } from '../../_shared/sql/messages.ts';
import { agentVisible, scope } from '../guards.ts';
import { contentToQueue, openMessages } from '../content.ts';
import { storeInlineMedia } from '../media.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { iso, isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

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
  content: publicContent(r.content as Record<string, unknown>),
  status: r.status as z.infer<typeof MessageView>['status'],
  attempts: r.attempts,
  error: r.error_code || r.error_message ? { code: r.error_code, message: r.error_message } : null,
  createdAt: isoNow(r.created_at),
  sentAt: iso(r.sent_at),
  deliveredAt: iso(r.delivered_at),
  readAt: iso(r.read_at),
  failedAt: iso(r.failed_at),
});

export function registerMessageRoutes(app: GatewayApp, ctx: Ctx): void {
  const { sql, config, mediaStore, logger } = ctx;
  const SendMessage = createSendMessageSchema({ maxMediaBytes: config.maxMediaBytes, allowHttpMedia: config.allowHttpMedia, allowPrivateUrls: config.allowPrivateUrls });

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/agents/{agentId}/messages', operationId: 'sendMessage', tags: ['Messages'],
      summary: 'Queue a message (202); Idempotency-Key replays the first result, 409 for a different body; limited per minute by the plan', security,
      middleware: [scope('messages:send'), agentVisible],
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
      const queued = toQueuedMessage(body);
      const { recipient, type } = queued;
      const stored = await storeInlineMedia({ sql, mediaStore, logger }, p.ownerId, queued.content);
      const { content, id, hash: hashOf } = await contentToQueue(ctx, p.ownerId, agentId, stored);
      const hash = idempotencyKey ? await hashOf(body) : null;
      const row = await sendMessage(sql, { owner: p.ownerId, agent: agentId, recipient, type, content, idempotencyKey, requestHash: hash, id });
      setRateHeaders(c, rateFromRow(row));
      if (row.replayed) c.header('Idempotent-Replayed', 'true');
      c.header('Location', `/gateway/v1/agents/${agentId}/messages/${row.id}`);
      return c.json({ id: row.id, waMessageId: row.wa_message_id, status: row.status as 'queued', createdAt: isoNow(row.created_at), replayed: row.replayed }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/messages/{messageId}', operationId: 'getMessage', tags: ['Messages'], summary: 'Get one message with its status', security,
      middleware: [scope('messages:read'), agentVisible],
      request: { params: AgentParams.extend({ messageId: Uuid }) },
      responses: { 200: json(MessageView, 'The message'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId, messageId } = c.req.valid('param');
      const row = await readMessage(sql, p.ownerId, agentId, messageId);
      if (!row) throw notFound('message');
      const [opened] = await openMessages(ctx, [row]);
      return c.json(toView(opened!), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/messages', operationId: 'listMessages', tags: ['Messages'], summary: 'List messages, newest first, with filters and cursor pagination', security,
      middleware: [scope('messages:read'), agentVisible],
      request: { params: AgentParams, query: MessageListQuery },
      responses: { 200: json(MessagePage, 'A page of messages'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const q = c.req.valid('query');
      const cursor = decodeCursor(q.cursor);
      if (cursor === 'invalid') throw new HttpError(400, 'invalid_request', 'The cursor is malformed', [{ path: 'cursor', message: 'malformed' }]);
      const filters = { status: q.status ?? null, type: q.type ?? null, to: q.to ?? null, since: q.since ?? null, until: q.until ?? null };
      const rows = await listMessages(sql, p.ownerId, agentId, filters, cursor, q.limit + 1);
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      const nextCursor = rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null;
      return c.json({ data: (await openMessages(ctx, page)).map(toView), nextCursor }, 200);
    },
  );
}
