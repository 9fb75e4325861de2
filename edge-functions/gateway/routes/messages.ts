/** Sending (idempotent, rate limited by the plan inside enqueue), reading and listing messages. */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { Authentication } from '../../_shared/auth/authenticate.ts';
import { AgentParams, decodeCursor, encodeCursor, errorResponses, Uuid } from '../../_shared/contracts/common.ts';
import { createSendMessageSchema, MessageListQuery, MessagePage, MessageView, SendAccepted, toQueuedMessage } from '../../_shared/contracts/messages.ts';
import { HttpError, notFound } from '../../_shared/http/errors.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import { type CallerSend, type CallerSendRow, listMessages, type MessageRow, readMessage, sendAsMember, sendMessage, sendWithApiKey, type SentRow } from '../../_shared/sql/messages.ts';
import { agentVisible, scope } from '../guards.ts';
import { contentToQueue, openMessages, plainRequestHash, sealedToQueue } from '../content.ts';
import { storeInlineMedia } from '../media.ts';
import type { Ctx, Env, GatewayApp, GatewayConfig } from '../types.ts';
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

const sendSchema = (config: GatewayConfig) =>
  createSendMessageSchema({ maxMediaBytes: config.maxMediaBytes, allowHttpMedia: config.allowHttpMedia, allowPrivateUrls: config.allowPrivateUrls });

/** The 202 of a send (or of its replay): rate headers, Location, and the body. */
function accepted(c: Context, agentId: string, row: SentRow) {
  setRateHeaders(c, rateFromRow(row));
  if (row.replayed) c.header('Idempotent-Replayed', 'true');
  c.header('Location', `/gateway/v1/agents/${agentId}/messages/${row.id}`);
  return { id: row.id, waMessageId: row.wa_message_id, status: row.status as 'queued', createdAt: isoNow(row.created_at), replayed: row.replayed };
}

// What the send route's validators accept, asked without answering: application/json, UTF-8 at most.
const PLAIN_JSON = /^application\/json\s*(?:;\s*charset=utf-8\s*)?$/i;

/**
 * The send route's input when the request is one its validators accept and it uploads no media
 * bytes (an upload's store key needs the organisation first); else null.
 */
async function validSend(c: Context, schema: ReturnType<typeof sendSchema>) {
  const agentId = c.req.param('agentId');
  if (!agentId || !Uuid.safeParse(agentId).success) return null;
  const idempotencyKey = c.req.header('idempotency-key') ?? null;
  if (idempotencyKey !== null && !IDEMPOTENCY_KEY.test(idempotencyKey)) return null;
  if (!PLAIN_JSON.test(c.req.header('content-type') ?? '')) return null;
  let json: unknown;
  try {
    json = JSON.parse(await c.req.text());
  } catch {
    return null;
  }
  const parsed = await schema.safeParseAsync(json);
  if (!parsed.success) return null;
  const queued = toQueuedMessage(parsed.data);
  const media = queued.content.media as { data?: unknown } | undefined;
  if (media && typeof media.data === 'string') return null;
  return { agentId, idempotencyKey, body: parsed.data, ...queued };
}

/** A row the caller-checking statement or api_send answered 'sent' with. */
function sentRow(row: CallerSendRow): SentRow {
  if (row.id === null || row.wa_message_id === null || row.status === null || row.created_at === null || row.replayed === null) {
    throw new Error(`a send answered ${row.outcome} without its row`);
  }
  return { ...row, id: row.id, wa_message_id: row.wa_message_id, status: row.status, created_at: row.created_at, replayed: row.replayed };
}

/** Callers last seen sending for an encrypted organisation; bounded, forgotten when full. */
const SEALING_MEMORY = 10_000;

/**
 * POST /v1/agents/{agentId}/messages in one round trip. Mounted before authentication: when the
 * request is valid (validSend) and presents a credential, one statement checks the caller (the
 * API key with its scope, agent and organisation, or the member's role), reads the content policy
 * and sends (gateway.api_send_with_key, gateway.api_send_as_member). Everything else, and every
 * caller that statement refuses, goes on (next) to authentication, the guards, validation and the
 * route below, which answer as they always have, so no answer changes: a valid send costs one
 * round trip instead of three (key or role, policy, api_send).
 *
 * An encrypted organisation's content is sealed here before it is stored: the statement answers
 * 'seal' without writing, and the sealed content goes to gateway.api_send (two round trips). The
 * caller is remembered, and its next sends ask the statement for the policy alone (content
 * null) before sealing, so its plaintext reaches the database once per instance at most, and is
 * never stored.
 */
export function sendInOneStatement(ctx: Ctx, presented: Authentication['presented']): MiddlewareHandler<Env> {
  const schema = sendSchema(ctx.config);
  const sealing = new Set<string>();
  return async (c, next) => {
    const input = await validSend(c, schema);
    if (!input) return next();
    const caller = await presented(c.req.raw.headers);
    if (!caller) return next();
    const { agentId, idempotencyKey, body, recipient, type, content } = input;
    const remembered = caller.kind === 'api_key' ? `key:${caller.prefix}` : `organisation:${caller.organisation}`;
    const send = (m: CallerSend) =>
      caller.kind === 'api_key' ? sendWithApiKey(ctx.sql, caller, m) : sendAsMember(ctx.sql, { user: caller.userId, organisation: caller.organisation }, m);
    const plain = { agent: agentId, recipient, type, content, idempotencyKey, requestHash: idempotencyKey ? plainRequestHash(body) : null };
    const probe = sealing.has(remembered);
    const row = await send(probe ? { ...plain, content: null, requestHash: null } : plain);
    if (row.outcome === 'refused') return next();
    if (row.outcome === 'sent') return c.json(accepted(c, agentId, sentRow(row)), 202);
    const owner = row.owner_id!;
    if (row.outcome === 'plain') {
      sealing.delete(remembered);
      return c.json(accepted(c, agentId, await sendMessage(ctx.sql, { ...plain, owner })), 202);
    }
    if (sealing.size >= SEALING_MEMORY) sealing.clear();
    sealing.add(remembered);
    const sealed = await sealedToQueue(ctx, agentId, content);
    const requestHash = idempotencyKey ? await sealed.hash(body) : null;
    const sent = await sendMessage(ctx.sql, { owner, agent: agentId, recipient, type, content: sealed.content, idempotencyKey, requestHash, id: sealed.id });
    return c.json(accepted(c, agentId, sent), 202);
  };
}

export function registerMessageRoutes(app: GatewayApp, ctx: Ctx): void {
  const { sql, config, mediaStore, logger } = ctx;
  const SendMessage = sendSchema(config);

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
      return c.json(accepted(c, agentId, row), 202);
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
