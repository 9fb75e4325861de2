/**
 * Webhook endpoints: create (https only, no private addresses; the signing secret is shown once
 * and stored sealed with WEBHOOK_SECRETS_KEY), list, update, delete, test, deliveries,
 * redeliver. Account-level: a signed-in user, or an API key with webhooks:manage not bound to
 * one agent.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { decodeCursor, encodeCursor, errorResponses, Uuid } from '../../_shared/contracts/common.ts';
import { CreatedWebhook, CreateWebhook, DeliveryView, UpdateWebhook, WebhookView } from '../../_shared/contracts/integrations.ts';
import { HttpError } from '../../_shared/http/errors.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import {
  createWebhookEndpoint, type DeliveryRow, deleteWebhookEndpoint, listDeliveries, listWebhookEndpoints, redeliver, testWebhook, updateWebhookEndpoint,
  type WebhookEndpointRow, type WebhookPatch,
} from '../../_shared/sql/webhooks.ts';
import { checkOutboundUrl, checkResolvedHost } from '../../_shared/net/url-guard.ts';
import { associatedData, sealText } from '../../../kernel/secret-box.ts';
import { webhookManager, webhookReader } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { actorOf, iso, isoNow, principalOf } from '../util.ts';
import { newWebhookSecret } from '../webhook-secret.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];
const WebhookParams = z.object({ webhookId: Uuid });

const toView = (r: WebhookEndpointRow): z.infer<typeof WebhookView> => ({
  id: r.id, agentId: r.agent_id, url: r.url, eventTypes: r.event_types, description: r.description, enabled: r.enabled,
  createdAt: isoNow(r.created_at), updatedAt: isoNow(r.updated_at),
});

const toDelivery = (r: DeliveryRow): z.infer<typeof DeliveryView> => ({
  id: r.id, eventId: r.event_id, eventType: r.event_type, status: r.status as z.infer<typeof DeliveryView>['status'], attempts: r.attempts,
  maxAttempts: r.max_attempts, nextAttemptAt: isoNow(r.next_attempt_at), lastStatusCode: r.last_status_code, lastError: r.last_error,
  lastAttemptAt: iso(r.last_attempt_at), deliveredAt: iso(r.delivered_at), createdAt: isoNow(r.created_at),
});

export function registerWebhookRoutes(app: GatewayApp, { sql, config, keyring, resolveHost }: Ctx): void {
  async function assertUrl(url: string): Promise<void> {
    const allowPrivate = config.allowPrivateUrls;
    const problem = checkOutboundUrl(url, { allowHttp: config.allowHttpWebhooks, allowPrivate }) ?? (await checkResolvedHost(url, resolveHost, allowPrivate));
    if (problem) throw new HttpError(422, 'invalid_url', `The webhook url ${problem}`, [{ path: 'url', message: problem }]);
  }

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/webhooks', operationId: 'createWebhook', tags: ['Webhooks'], summary: 'Create a webhook endpoint; the signing secret is in this response only', security, middleware: [webhookManager],
      request: { body: { required: true, content: { 'application/json': { schema: CreateWebhook } } } },
      responses: { 201: json(CreatedWebhook, 'Created'), 422: json(z.unknown(), 'URL not allowed'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const body = c.req.valid('json');
      await assertUrl(body.url);
      // The id is chosen here because the sealed secret is bound to it (associated data).
      const id = crypto.randomUUID();
      const plain = newWebhookSecret();
      const sealed = await sealText(keyring, plain, associatedData.webhookSecret(id));
      const row = await createWebhookEndpoint(sql, {
        owner: p.ownerId, id, agent: body.agentId ?? null, url: body.url, eventTypes: body.eventTypes, description: body.description ?? null, sealed,
      }, actorOf(c));
      return c.json({ ...toView(row), secret: plain }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/webhooks', operationId: 'listWebhooks', tags: ['Webhooks'], summary: 'List webhook endpoints', security, middleware: [webhookReader],
      responses: { 200: json(z.object({ data: z.array(WebhookView) }), 'Endpoints'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const rows = await listWebhookEndpoints(sql, p.ownerId);
      return c.json({ data: rows.map(toView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch', path: '/v1/webhooks/{webhookId}', operationId: 'updateWebhook', tags: ['Webhooks'], summary: 'Update url, event types, description or enabled', security, middleware: [webhookManager],
      request: { params: WebhookParams, body: { required: true, content: { 'application/json': { schema: UpdateWebhook } } } },
      responses: { 200: json(WebhookView, 'Updated'), 422: json(z.unknown(), 'URL not allowed'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { webhookId } = c.req.valid('param');
      const body = c.req.valid('json');
      if (body.url !== undefined) await assertUrl(body.url);
      const patch: WebhookPatch = {};
      if (body.url !== undefined) patch.url = body.url;
      if (body.eventTypes !== undefined) patch.event_types = body.eventTypes;
      if (body.description !== undefined) patch.description = body.description;
      if (body.enabled !== undefined) patch.enabled = body.enabled;
      return c.json(toView(await updateWebhookEndpoint(sql, p.ownerId, webhookId, patch, actorOf(c))), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/webhooks/{webhookId}', operationId: 'deleteWebhook', tags: ['Webhooks'], summary: 'Delete a webhook endpoint', security, middleware: [webhookManager],
      request: { params: WebhookParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { webhookId } = c.req.valid('param');
      await deleteWebhookEndpoint(sql, p.ownerId, webhookId, actorOf(c));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/webhooks/{webhookId}/test', operationId: 'testWebhook', tags: ['Webhooks'], summary: 'Queue a webhook.test event for this endpoint (tests and redeliveries together are limited per account)', security, middleware: [webhookManager],
      request: { params: WebhookParams },
      responses: { 202: json(z.object({ eventId: z.uuid(), deliveryId: z.uuid() }), 'Queued'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { webhookId } = c.req.valid('param');
      const row = await testWebhook(sql, p.ownerId, webhookId, config.limits.webhookSends);
      setRateHeaders(c, rateFromRow(row));
      return c.json({ eventId: row.event_id, deliveryId: row.delivery_id }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/webhooks/{webhookId}/deliveries', operationId: 'listWebhookDeliveries', tags: ['Webhooks'], summary: 'Deliveries of an endpoint, newest first', security, middleware: [webhookReader],
      request: {
        params: WebhookParams,
        query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50), cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]+$/).optional() }),
      },
      responses: { 200: json(z.object({ data: z.array(DeliveryView), nextCursor: z.string().nullable() }), 'Deliveries'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { webhookId } = c.req.valid('param');
      const q = c.req.valid('query');
      const cursor = decodeCursor(q.cursor);
      if (cursor === 'invalid') throw new HttpError(400, 'invalid_request', 'The cursor is malformed', [{ path: 'cursor', message: 'malformed' }]);
      const rows = await listDeliveries(sql, p.ownerId, webhookId, cursor, q.limit + 1);
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return c.json({ data: page.map(toDelivery), nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/webhooks/{webhookId}/deliveries/{deliveryId}/redeliver', operationId: 'redeliverWebhookDelivery', tags: ['Webhooks'], summary: 'Queue a delivered or dead delivery again (tests and redeliveries together are limited per account)', security, middleware: [webhookManager],
      request: { params: WebhookParams.extend({ deliveryId: Uuid }) },
      responses: { 202: json(z.object({ id: z.uuid(), status: z.string() }), 'Queued again'), 409: json(z.unknown(), 'Being attempted right now'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { webhookId, deliveryId } = c.req.valid('param');
      const row = await redeliver(sql, p.ownerId, webhookId, deliveryId, config.limits.webhookSends);
      setRateHeaders(c, rateFromRow(row));
      return c.json({ id: row.id, status: row.status }, 202);
    },
  );
}
