/** The organisation's content policy (README "Message content at rest"): members read it, owners and admins set it (signed in). */
import { createRoute, type z } from '@hono/zod-openapi';
import { ErrorSchema, errorResponses } from '../../_shared/contracts/common.ts';
import { ContentPolicyView, SetContentPolicy } from '../../_shared/contracts/content-policy.ts';
import { type ContentPolicyRow, contentPolicy, setContentPolicy } from '../../_shared/sql/content-policies.ts';
import { contentKeyUnavailable } from '../content.ts';
import { role } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { actorOf, iso, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];
const PATH = '/v1/account/content-policy';

const toView = (r: ContentPolicyRow): z.infer<typeof ContentPolicyView> => ({ policy: r.policy as z.infer<typeof ContentPolicyView>['policy'], updatedAt: iso(r.updated_at) });

export function registerContentPolicyRoutes(app: GatewayApp, { sql, contentKeyring }: Ctx): void {
  app.openapi(
    createRoute({
      method: 'get', path: PATH, operationId: 'getContentPolicy', tags: ['Account'], summary: 'How message content is kept at rest (plain, encrypted, discard_after_delivery)', security, middleware: [role('viewer')],
      responses: { 200: json(ContentPolicyView, 'The policy'), ...errorResponses },
    }),
    async (c) => c.json(toView(await contentPolicy(sql, principalOf(c).ownerId)), 200),
  );

  app.openapi(
    createRoute({
      method: 'put', path: PATH, operationId: 'setContentPolicy', tags: ['Account'],
      summary: 'Change how message content is kept at rest; applies to new content, stored content stays as it is. `encrypted` is refused (409) when the gateway has no content key. Owners and admins', security, middleware: [role('admin')],
      request: { body: { required: true, content: { 'application/json': { schema: SetContentPolicy } } } },
      responses: { 200: json(ContentPolicyView, 'The policy now'), 409: json(ErrorSchema, '`encrypted` without a configured content key (content_key_unavailable)'), ...errorResponses },
    }),
    async (c) => {
      const { policy } = c.req.valid('json');
      if (policy === 'encrypted' && !contentKeyring) throw contentKeyUnavailable();
      return c.json(toView(await setContentPolicy(sql, actorOf(c), principalOf(c).ownerId, policy)), 200);
    },
  );
}
