/**
 * Members of an organisation: listed by any member; their role changed by an admin (the owner role
 * only by an owner); removed by an admin, or leaving on their own. The last owner can neither
 * leave nor be demoted (409).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses } from '../../_shared/contracts/common.ts';
import { conflictResponse, MemberParams, MemberView, OrganisationParams, UpdateMember } from '../../_shared/contracts/organisations.ts';
import { changeMemberRole, listMembers, type MemberRow, removeMember } from '../../_shared/sql/organisations.ts';
import { requireUser } from '../../_shared/auth/principal.ts';
import { memberRemover, pathOrganisation, role, userOnly } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

const toView = (r: MemberRow): z.infer<typeof MemberView> => ({ userId: r.user_id, email: r.email, role: r.role, createdAt: isoNow(r.created_at) });

export function registerMemberRoutes(app: GatewayApp, { sql }: Ctx): void {
  const inPath = pathOrganisation(sql);

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/organisations/{organisationId}/members', operationId: 'listMembers', tags: ['Organisations'], summary: 'List the members and their roles (any member)', security, middleware: [inPath, userOnly],
      request: { params: OrganisationParams },
      responses: { 200: json(z.object({ data: z.array(MemberView) }), 'Members, most powerful first'), ...errorResponses },
    }),
    async (c) => c.json({ data: (await listMembers(sql, principalOf(c).ownerId)).map(toView) }, 200),
  );

  app.openapi(
    createRoute({
      method: 'patch', path: '/v1/organisations/{organisationId}/members/{userId}', operationId: 'changeMemberRole', tags: ['Organisations'], security, middleware: [inPath, role('admin')],
      summary: 'Change a member\'s role (admin role; granting, changing or taking the owner role needs an owner; the last owner keeps it)',
      request: { params: MemberParams, body: { required: true, content: { 'application/json': { schema: UpdateMember } } } },
      responses: { 200: json(MemberView, 'The member with the new role'), ...conflictResponse, ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      requireUser(p);
      return c.json(toView(await changeMemberRole(sql, p.ownerId, p.role, c.req.valid('param').userId, c.req.valid('json').role)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/organisations/{organisationId}/members/{userId}', operationId: 'removeMember', tags: ['Organisations'], security, middleware: [inPath, memberRemover],
      summary: 'Remove a member (admin role; an owner only by an owner), or leave (your own user id, any role); the last owner cannot leave',
      request: { params: MemberParams },
      responses: { 204: { description: 'Removed' }, ...conflictResponse, ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      requireUser(p);
      const { userId } = c.req.valid('param');
      await removeMember(sql, p.ownerId, p.role, userId);
      return c.body(null, 204);
    },
  );
}
