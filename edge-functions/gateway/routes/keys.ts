/**
 * API keys of the organisation: create (plaintext shown once, rate limited) and revoke by a
 * developer or more, list by any member. Signed-in users only; a key acts for the organisation,
 * within its scopes, whoever created it.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { generateApiKey } from '../../_shared/auth/api-keys.ts';
import { errorResponses, Uuid } from '../../_shared/contracts/common.ts';
import { ApiKeyView, CreateApiKey, CreatedApiKey } from '../../_shared/contracts/integrations.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import { type ApiKeyRow, createApiKey, listApiKeys, revokeApiKey } from '../../_shared/sql/keys.ts';
import { role, userOnly } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { actorOf, iso, isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

const toView = (r: Pick<ApiKeyRow, 'id' | 'name' | 'prefix' | 'agent_id' | 'scopes' | 'expires_at' | 'created_at'> & Partial<Pick<ApiKeyRow, 'last_used_at' | 'revoked_at'>>): z.infer<typeof ApiKeyView> => ({
  id: r.id, name: r.name, prefix: r.prefix, agentId: r.agent_id, scopes: r.scopes, expiresAt: iso(r.expires_at),
  lastUsedAt: iso(r.last_used_at), revokedAt: iso(r.revoked_at), createdAt: isoNow(r.created_at),
});

export function registerKeyRoutes(app: GatewayApp, { sql, config }: Ctx): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/keys', operationId: 'createApiKey', tags: ['API keys'],
      summary: `Create an API key; the key is in this response only (limited to ${config.limits.keyCreation.capacity} per ${config.limits.keyCreation.windowSeconds / 60} minutes)`, security, middleware: [role('developer')],
      request: { body: { required: true, content: { 'application/json': { schema: CreateApiKey } } } },
      responses: { 201: json(CreatedApiKey, 'Created'), ...errorResponses },
    }),
    async (c) => {
      const body = c.req.valid('json');
      const { key, prefix, hash } = await generateApiKey();
      const row = await createApiKey(
        sql,
        { owner: principalOf(c).ownerId, agent: body.agentId ?? null, name: body.name, prefix, hash, scopes: body.scopes, expiresAt: body.expiresAt ?? null },
        config.limits.keyCreation,
        actorOf(c),
      );
      setRateHeaders(c, rateFromRow(row));
      return c.json({ ...toView(row), key }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/keys', operationId: 'listApiKeys', tags: ['API keys'], summary: 'List API keys (prefix, name, scopes, last use; never the key)', security, middleware: [userOnly],
      responses: { 200: json(z.object({ data: z.array(ApiKeyView) }), 'Keys'), ...errorResponses },
    }),
    async (c) => {
      return c.json({ data: (await listApiKeys(sql, principalOf(c).ownerId)).map(toView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/keys/{keyId}', operationId: 'revokeApiKey', tags: ['API keys'], summary: 'Revoke an API key (idempotent; developer role)', security, middleware: [role('developer')],
      request: { params: z.object({ keyId: Uuid }) },
      responses: { 204: { description: 'Revoked' }, ...errorResponses },
    }),
    async (c) => {
      await revokeApiKey(sql, principalOf(c).ownerId, c.req.valid('param').keyId, actorOf(c));
      return c.body(null, 204);
    },
  );
}
