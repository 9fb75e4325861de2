/** Contracts of organisations, their members and invitations (roles: kernel/organisation-roles.ts). */
import { z } from '@hono/zod-openapi';
import { ORGANISATION_ROLES } from '../../../kernel/organisation-roles.ts';
import { ErrorSchema, Text, Uuid } from './common.ts';

export const OrganisationRole = z.enum(ORGANISATION_ROLES).openapi('OrganisationRole', {
  description: 'owner: everything, including renaming or deleting the organisation and granting owner; admin: members and invitations; developer: agents, sessions, keys, webhooks, sends; viewer: reads only',
});

export const OrganisationParams = z.object({ organisationId: Uuid.openapi({ param: { name: 'organisationId', in: 'path' } }) });
export const MemberParams = OrganisationParams.extend({ userId: Uuid.openapi({ param: { name: 'userId', in: 'path' } }) });
export const InvitationParams = OrganisationParams.extend({ invitationId: Uuid.openapi({ param: { name: 'invitationId', in: 'path' } }) });

const Name = Text().trim().min(1).max(100);

export const CreateOrganisation = z.strictObject({ name: Name }).openapi('CreateOrganisation');
export const UpdateOrganisation = z.strictObject({ name: Name }).openapi('UpdateOrganisation');

export const OrganisationView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    plan: z.string(),
    role: OrganisationRole.openapi({ description: 'The caller\'s role in it' }),
    personal: z.boolean().openapi({ description: 'The caller\'s personal organisation (its id is their user id; the default when X-Organisation-Id is absent)' }),
    createdAt: z.string(),
  })
  .openapi('Organisation');

export const MemberView = z
  .object({ userId: z.uuid(), email: z.string().nullable(), role: OrganisationRole, createdAt: z.string() })
  .openapi('Member');

export const UpdateMember = z.strictObject({ role: OrganisationRole }).openapi('UpdateMember');

export const CreateInvitation = z
  .strictObject({
    email: z.email().max(320).openapi({ example: 'colleague@example.com' }),
    role: OrganisationRole.default('developer'),
  })
  .openapi('CreateInvitation');

export const InvitationView = z
  .object({
    id: z.uuid(),
    email: z.string(),
    role: OrganisationRole,
    status: z.enum(['open', 'accepted', 'revoked', 'expired']),
    invitedBy: z.uuid().nullable(),
    expiresAt: z.string(),
    acceptedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Invitation');

export const CreatedInvitation = InvitationView.extend({
  token: z.string().openapi({ description: 'Shown once: the invitee accepts with it (POST /v1/invitations/accept), signed in with this email address' }),
}).openapi('CreatedInvitation');

export const AcceptInvitation = z.strictObject({ token: z.string().min(10).max(200).regex(/^[A-Za-z0-9_-]+$/) }).openapi('AcceptInvitation');

export const conflictResponse = { 409: { description: 'Refused by the owner rules (the last owner stays; only owners manage owners) or the state of the row', content: { 'application/json': { schema: ErrorSchema } } } } as const;
