/**
 * Organisations: the caller's list (with their role in each), create (the caller owns it), read,
 * rename and delete (owners). Signed-in users only: an API key acts for one organisation and does
 * not manage it.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses } from '../../_shared/contracts/common.ts';
import { conflictResponse, CreateOrganisation, OrganisationParams, OrganisationView, UpdateOrganisation } from '../../_shared/contracts/organisations.ts';
import { notFound } from '../../_shared/http/errors.ts';
import { createOrganisation, deleteOrganisation, listMyOrganisations, type OrganisationRow, renameOrganisation } from '../../_shared/sql/organisations.ts';
import { pathOrganisation, role, userOnly } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

const toView = (r: OrganisationRow, userId: string): z.infer<typeof OrganisationView> => ({
  id: r.id, name: r.name, plan: r.plan_id, role: r.role, personal: r.id === userId, createdAt: isoNow(r.created_at),
});

export function registerOrganisationRoutes(app: GatewayApp, { sql, config }: Ctx): void {
  const inPath = pathOrganisation(sql);
  const mine = async (userId: string) => await listMyOrganisations(sql, userId);

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/organisations', operationId: 'listOrganisations', tags: ['Organisations'], summary: 'The organisations the caller belongs to, with their role in each (the personal one first)', security, middleware: [userOnly],
      responses: { 200: json(z.object({ data: z.array(OrganisationView) }), 'Organisations'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      if (p.kind !== 'user') throw notFound('organisation');
      return c.json({ data: (await mine(p.userId)).map((r) => toView(r, p.userId)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/organisations', operationId: 'createOrganisation', tags: ['Organisations'], security, middleware: [userOnly],
      summary: `Create an organisation on the basic plan; the caller becomes its owner (at most ${config.organisations.maxOwnedPerUser} owned per user)`,
      request: { body: { required: true, content: { 'application/json': { schema: CreateOrganisation } } } },
      responses: { 201: json(OrganisationView, 'Created'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      if (p.kind !== 'user') throw notFound('organisation');
      const row = await createOrganisation(sql, p.userId, c.req.valid('json').name, config.organisations.maxOwnedPerUser);
      return c.json(toView(row, p.userId), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/organisations/{organisationId}', operationId: 'getOrganisation', tags: ['Organisations'], summary: 'Get an organisation (any member)', security, middleware: [inPath, userOnly],
      request: { params: OrganisationParams },
      responses: { 200: json(OrganisationView, 'The organisation'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const row = p.kind === 'user' ? (await mine(p.userId)).find((r) => r.id === p.ownerId) : undefined;
      if (!row || p.kind !== 'user') throw notFound('organisation');
      return c.json(toView(row, p.userId), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch', path: '/v1/organisations/{organisationId}', operationId: 'renameOrganisation', tags: ['Organisations'], summary: 'Rename an organisation (owner role)', security, middleware: [inPath, role('owner')],
      request: { params: OrganisationParams, body: { required: true, content: { 'application/json': { schema: UpdateOrganisation } } } },
      responses: { 200: json(OrganisationView, 'Renamed'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      await renameOrganisation(sql, p.ownerId, c.req.valid('json').name);
      const row = p.kind === 'user' ? (await mine(p.userId)).find((r) => r.id === p.ownerId) : undefined;
      if (!row || p.kind !== 'user') throw notFound('organisation');
      return c.json(toView(row, p.userId), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/organisations/{organisationId}', operationId: 'deleteOrganisation', tags: ['Organisations'], security, middleware: [inPath, role('owner')],
      summary: 'Delete an organisation with its agents, sessions, messages, keys and webhooks (owner role; a personal organisation goes only with its user, 409)',
      request: { params: OrganisationParams },
      responses: { 204: { description: 'Deleted' }, ...conflictResponse, ...errorResponses },
    }),
    async (c) => {
      await deleteOrganisation(sql, principalOf(c).ownerId);
      return c.body(null, 204);
    },
  );
}
