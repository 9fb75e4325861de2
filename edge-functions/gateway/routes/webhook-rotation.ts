/**
 * POST /v1/webhooks/{webhookId}/rotate-secret: a new signing secret, shown once. For the overlap
 * (default 24 h, at most 7 days) every delivery carries signatures with both the old and the new
 * secret (Standard Webhooks allows several), so the receiver can switch at any moment in between.
 * Audited as a webhook.secret_rotated event; limited per owner (config.limits.webhookRotations).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, Uuid } from '../../_shared/contracts/common.ts';
import { ROTATION_OVERLAP_DEFAULT_SECONDS, RotatedWebhookSecret, RotateWebhookSecret } from '../../_shared/contracts/integrations.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import { rotateWebhookSecret } from '../../_shared/sql/webhooks.ts';
import { associatedData, sealText } from '../../../kernel/secret-box.ts';
import { webhookManager } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { actorOf, iso, principalOf } from '../util.ts';
import { newWebhookSecret } from '../webhook-secret.ts';

export function registerWebhookRotationRoute(app: GatewayApp, { sql, config, keyring }: Ctx): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/webhooks/{webhookId}/rotate-secret', tags: ['Webhooks'], operationId: 'rotateWebhookSecret',
      summary: 'Replace the signing secret; the new one is in this response only, and the old one keeps signing during the overlap', security: [{ bearer: [] }], middleware: [webhookManager],
      request: { params: z.object({ webhookId: Uuid }), body: { required: false, content: { 'application/json': { schema: RotateWebhookSecret } } } },
      responses: { 200: { description: 'Rotated', content: { 'application/json': { schema: RotatedWebhookSecret } } }, ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { webhookId } = c.req.valid('param');
      // An empty body skips the schema (no content type), so its default is applied here too.
      const overlapSeconds = c.req.valid('json')?.overlapSeconds ?? ROTATION_OVERLAP_DEFAULT_SECONDS;
      const plain = newWebhookSecret();
      const sealed = await sealText(keyring, plain, associatedData.webhookSecret(webhookId));
      const row = await rotateWebhookSecret(sql, { owner: p.ownerId, id: webhookId, sealed, overlapSeconds, limit: config.limits.webhookRotations }, actorOf(c));
      setRateHeaders(c, rateFromRow(row));
      return c.json({ id: webhookId, secret: plain, previousSecretExpiresAt: iso(row.previous_expires_at) }, 200);
    },
  );
}
