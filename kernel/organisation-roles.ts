// The roles a member of an organisation can have, most powerful first: the order is the rank
// (a role can do everything the roles after it can). The database holds the same list in
// private.organisation_roles(), which the CHECKs of organisation_members.role and
// organisation_invitations.role and private.has_role() use; tests/sql/vocabularies.test.ts fails
// when the two differ.
//
//   owner     — everything, including renaming or deleting the organisation and granting owner
//   admin     — members and invitations, and everything a developer can
//   developer — agents, link/logout/restart, API keys, webhooks, sends
//   viewer    — reads only
export const ORGANISATION_ROLES = ['owner', 'admin', 'developer', 'viewer'] as const;

export type OrganisationRole = (typeof ORGANISATION_ROLES)[number];

export function isOrganisationRole(value: string): value is OrganisationRole {
  return (ORGANISATION_ROLES as readonly string[]).includes(value);
}

/** True when `role` may do what `minimum` may (owner outranks admin outranks developer outranks viewer). */
export function roleAtLeast(role: OrganisationRole, minimum: OrganisationRole): boolean {
  return ORGANISATION_ROLES.indexOf(role) <= ORGANISATION_ROLES.indexOf(minimum);
}
