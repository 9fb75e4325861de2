/** API keys: create (plaintext shown once, rate limited), list, revoke. Signed-in users only. */
import { createRoute, z } from '@hono/zod-openapi';
import { generateApiKey } from '../../_shared/auth/api-keys.ts';
import { requireUser } from '../../_shared/auth/principal.ts';
import { errorResponses, Uuid } from '../../_shared/contracts/common.ts';
import { ApiKeyView, CreateApiKey, CreatedApiKey } from '../../_shared/contracts/integrations.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { iso, isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

type KeyRow = { id: string; name: string; prefix: string; agent_id: string | null; scopes: string[]; expires_at: Date | null; last_used_at?: Date | null; revoked_at?: Date | null; created_at: Date };

const toView = (r: KeyRow): z.infer<typeof ApiKeyView> => ({
  id: r.id, name: r.name, prefix: r.prefix, agentId: r.agent_id, scopes: r.scopes, expiresAt: iso(r.expires_at),
  lastUsedAt: iso(r.last_used_at), revokedAt: iso(r.revoked_at), createdAt: isoNow(r.created_at),
});

export function registerKeyRoutes(app: GatewayApp, { sql, config }: Ctx): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/keys', tags: ['API keys'],
      summary: `Create an API key; the key is in this response only (limited to ${config.limits.keyCreation.capacity} per ${config.limits.keyCreation.windowSeconds / 60} minutes)`, security,
      request: { body: { required: true, content: { 'application/json': { schema: CreateApiKey } } } },
      responses: { 201: json(CreatedApiKey, 'Created'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      requireUser(p);
      const body = c.req.valid('json');
      const { capacity, windowSeconds } = config.limits.keyCreation;
      const { key, prefix, hash } = await generateApiKey();
      const [row] = await sql<(KeyRow & { rate_limit: number; rate_remaining: number; rate_reset_seconds: number })[]>`
        select * from gateway.create_api_key(${p.ownerId}, ${body.agentId ?? null}, ${body.name}, ${prefix}, ${hash},
          ${body.scopes}::text[], ${body.expiresAt ?? null}, ${capacity}, ${windowSeconds})`;
      setRateHeaders(c, rateFromRow(row!));
      return c.json({ ...toView(row!), key }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/keys', tags: ['API keys'], summary: 'List API keys (prefix, name, scopes, last use; never the key)', security,
      responses: { 200: json(z.object({ data: z.array(ApiKeyView) }), 'Keys'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      requireUser(p);
      const rows = await sql<KeyRow[]>`select * from gateway.list_api_keys(${p.ownerId})`;
      return c.json({ data: rows.map(toView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/keys/{keyId}', tags: ['API keys'], summary: 'Revoke an API key (idempotent)', security,
      request: { params: z.object({ keyId: Uuid }) },
      responses: { 204: { description: 'Revoked' }, ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      requireUser(p);
      const { keyId } = c.req.valid('param');
      await sql`select * from gateway.revoke_api_key(${p.ownerId}, ${keyId})`;
      return c.body(null, 204);
    },
  );
}
