/**
 * Invitations by email address: created, listed and revoked by an admin (an owner invitation only
 * by an owner). The token is in the creation response only (its SHA-256 is stored) and is accepted
 * by a signed-in user whose verified email address is the invited one.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { sha256 } from '../../_shared/auth/sha256.ts';
import { requireUser } from '../../_shared/auth/principal.ts';
import { errorResponses } from '../../_shared/contracts/common.ts';
import {
  AcceptInvitation, conflictResponse, CreatedInvitation, CreateInvitation, InvitationParams, InvitationView, OrganisationParams, OrganisationView,
} from '../../_shared/contracts/organisations.ts';
import { HttpError } from '../../_shared/http/errors.ts';
import { acceptInvitation, createInvitation, type InvitationRow, listInvitations, revokeInvitation } from '../../_shared/sql/organisations.ts';
import { pathOrganisation, role, userOnly } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { iso, isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

function newToken(): string {
  let binary = '';
  for (const b of crypto.getRandomValues(new Uint8Array(32))) binary += String.fromCharCode(b);
  return `wgi_${btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')}`;
}

const toView = (r: Pick<InvitationRow, 'id' | 'email' | 'role' | 'expires_at' | 'created_at'> & Partial<InvitationRow>, now: Date): z.infer<typeof InvitationView> => ({
  id: r.id, email: r.email, role: r.role,
  status: r.accepted_at ? 'accepted' : r.revoked_at ? 'revoked' : r.expires_at <= now ? 'expired' : 'open',
  invitedBy: r.invited_by ?? null, expiresAt: isoNow(r.expires_at), acceptedAt: iso(r.accepted_at), revokedAt: iso(r.revoked_at), createdAt: isoNow(r.created_at),
});

export function registerInvitationRoutes(app: GatewayApp, { sql, clock, config }: Ctx): void {
  const inPath = pathOrganisation(sql);

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/organisations/{organisationId}/invitations', operationId: 'createInvitation', tags: ['Organisations'], security, middleware: [inPath, role('admin')],
      summary: `Invite an email address with a role (admin role; owner only by an owner); the token is in this response only, valid ${config.organisations.invitationTtlSeconds / 86_400} days; a new invitation to the same address replaces the open one`,
      request: { params: OrganisationParams, body: { required: true, content: { 'application/json': { schema: CreateInvitation } } } },
      responses: { 201: json(CreatedInvitation, 'Created'), ...conflictResponse, ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      requireUser(p);
      const body = c.req.valid('json');
      const token = newToken();
      const row = await createInvitation(sql, {
        organisation: p.ownerId, actor: p.userId, actorRole: p.role, email: body.email, role: body.role,
        tokenHash: sha256(token), ttlSeconds: config.organisations.invitationTtlSeconds, maxOpen: config.organisations.maxOpenInvitations,
      });
      return c.json({ ...toView({ ...row, invited_by: p.userId }, clock.now()), token }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/organisations/{organisationId}/invitations', operationId: 'listInvitations', tags: ['Organisations'], summary: 'List invitations, newest first (admin role; never the token)', security, middleware: [inPath, role('admin')],
      request: { params: OrganisationParams },
      responses: { 200: json(z.object({ data: z.array(InvitationView) }), 'Invitations'), ...errorResponses },
    }),
    async (c) => {
      const now = clock.now();
      return c.json({ data: (await listInvitations(sql, principalOf(c).ownerId)).map((r) => toView(r, now)) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/organisations/{organisationId}/invitations/{invitationId}', operationId: 'revokeInvitation', tags: ['Organisations'], summary: 'Revoke an open invitation (admin role; idempotent; 409 once accepted)', security, middleware: [inPath, role('admin')],
      request: { params: InvitationParams },
      responses: { 204: { description: 'Revoked' }, ...conflictResponse, ...errorResponses },
    }),
    async (c) => {
      await revokeInvitation(sql, principalOf(c).ownerId, c.req.valid('param').invitationId);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/invitations/accept', operationId: 'acceptInvitation', tags: ['Organisations'], security, middleware: [userOnly],
      summary: 'Join the organisation of an invitation, signed in with the invited email address; an unknown, spent, expired or someone else\'s token is a 404',
      request: { body: { required: true, content: { 'application/json': { schema: AcceptInvitation } } } },
      responses: { 200: json(OrganisationView, 'The organisation joined, with the caller\'s role'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      requireUser(p);
      if (!p.email) throw new HttpError(403, 'forbidden', 'Your sign-in carries no email address to match the invitation');
      const row = await acceptInvitation(sql, p.userId, p.email, sha256(c.req.valid('json').token));
      return c.json({ id: row.id, name: row.name, plan: row.plan_id, role: row.role, personal: row.id === p.userId, createdAt: isoNow(row.created_at) }, 200);
    },
  );
}
