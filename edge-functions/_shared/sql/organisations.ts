/**
 * Organisations, their members and invitations. Authentication asks for the caller's role in the
 * organisation they act in (memberRole) on every signed-in request; the routes call the rest.
 * The functions re-check what depends on the rows (owners managed by owners, the last owner
 * stays, an invitation only for its address) and fail with conflict (WG008) or not_found (WG009).
 *
 *   const role = await memberRole(sql, organisationId, userId); // null: not a member
 */
import type { OrganisationRole } from '../../../kernel/organisation-roles.ts';
import type { Dated, FnRow, Nullable, Sql } from './types.ts';

export type OrganisationRow = Dated<FnRow<'list_my_organisations'>, 'created_at'> & { role: OrganisationRole };
export type MemberRow = Dated<Nullable<FnRow<'list_members'>, 'email'>, 'created_at'> & { role: OrganisationRole };
export type InvitationRow = Dated<
  Nullable<FnRow<'list_invitations'>, 'invited_by' | 'accepted_at' | 'revoked_at'>,
  'expires_at' | 'accepted_at' | 'revoked_at' | 'created_at'
> & { role: OrganisationRole };
export type CreatedInvitationRow = Dated<FnRow<'create_invitation'>, 'expires_at' | 'created_at'> & { role: OrganisationRole };

export async function memberRole(sql: Sql, organisation: string, user: string): Promise<OrganisationRole | null> {
  const [row] = await sql<{ role: OrganisationRole | null }[]>`select gateway.member_role(${organisation}, ${user}) as role`;
  return row?.role ?? null;
}

export async function listMyOrganisations(sql: Sql, user: string): Promise<OrganisationRow[]> {
  return await sql<OrganisationRow[]>`select * from gateway.list_my_organisations(${user})`;
}

/** plan_limit (WG003) when the user already owns `maxOwned` organisations. */
export async function createOrganisation(sql: Sql, user: string, name: string, maxOwned: number): Promise<OrganisationRow> {
  const [row] = await sql<OrganisationRow[]>`select * from gateway.create_organisation(${user}, ${name}, ${maxOwned})`;
  return row!;
}

export async function renameOrganisation(sql: Sql, organisation: string, name: string): Promise<void> {
  await sql`select * from gateway.rename_organisation(${organisation}, ${name})`;
}

/** conflict (WG008) for a personal organisation: it goes with its user. */
export async function deleteOrganisation(sql: Sql, organisation: string): Promise<void> {
  await sql`select gateway.delete_organisation(${organisation})`;
}

export async function listMembers(sql: Sql, organisation: string): Promise<MemberRow[]> {
  return await sql<MemberRow[]>`select * from gateway.list_members(${organisation})`;
}

export async function changeMemberRole(sql: Sql, organisation: string, actorRole: OrganisationRole, user: string, role: OrganisationRole): Promise<MemberRow> {
  const [row] = await sql<MemberRow[]>`select * from gateway.change_member_role(${organisation}, ${actorRole}, ${user}, ${role})`;
  return row!;
}

export async function removeMember(sql: Sql, organisation: string, actorRole: OrganisationRole, user: string): Promise<void> {
  await sql`select gateway.remove_member(${organisation}, ${actorRole}, ${user})`;
}

export async function createInvitation(
  sql: Sql,
  i: { organisation: string; actor: string; actorRole: OrganisationRole; email: string; role: OrganisationRole; tokenHash: Uint8Array; ttlSeconds: number; maxOpen: number },
): Promise<CreatedInvitationRow> {
  const [row] = await sql<CreatedInvitationRow[]>`
    select * from gateway.create_invitation(${i.organisation}, ${i.actor}, ${i.actorRole}, ${i.email}, ${i.role}, ${i.tokenHash}, ${i.ttlSeconds}, ${i.maxOpen})`;
  return row!;
}

export async function listInvitations(sql: Sql, organisation: string): Promise<InvitationRow[]> {
  return await sql<InvitationRow[]>`select * from gateway.list_invitations(${organisation})`;
}

export async function revokeInvitation(sql: Sql, organisation: string, invitation: string): Promise<void> {
  await sql`select gateway.revoke_invitation(${organisation}, ${invitation})`;
}

/** not_found (WG009) unless the token is open, unexpired and addressed to `email`. */
export async function acceptInvitation(sql: Sql, user: string, email: string, tokenHash: Uint8Array): Promise<OrganisationRow> {
  const [row] = await sql<OrganisationRow[]>`select * from gateway.accept_invitation(${user}, ${email}, ${tokenHash})`;
  return row!;
}
