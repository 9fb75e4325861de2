/**
 * Who is calling, and for which organisation: a signed-in user acting in one organisation they
 * belong to (X-Organisation-Id, by default their personal one, whose id is their user id) with
 * their role there, or an API key acting for the organisation it belongs to, restricted to its
 * agent (if any) and its scopes. `ownerId` is that organisation: every owner_id in SQL names one.
 *
 *   requireScope(principal, 'messages:send');
 *   requireRole(principal, 'admin');
 *   visibleAgent(principal, agentId); // 404 for an agent an agent-scoped key cannot see
 */
import { type OrganisationRole, roleAtLeast } from '../../../kernel/organisation-roles.ts';
import { forbidden, HttpError, notFound } from '../http/errors.ts';
import type { ApiKeyScope } from './api-keys.ts';

export type Principal =
  | { kind: 'user'; ownerId: string; userId: string; role: OrganisationRole; email: string | null }
  | { kind: 'api_key'; ownerId: string; keyId: string; prefix: string; agentId: string | null; scopes: readonly string[] };

export function requireScope(principal: Principal, scope: ApiKeyScope): void {
  if (principal.kind === 'user') return;
  if (principal.scopes.includes('*') || principal.scopes.includes(scope)) return;
  throw forbidden(`This API key lacks the ${scope} scope`);
}

/** Organisation-level actions (agents, keys, members): a signed-in user, not an API key. */
export function requireUser(principal: Principal): asserts principal is Extract<Principal, { kind: 'user' }> {
  if (principal.kind !== 'user') throw new HttpError(403, 'forbidden', 'This action needs a signed-in user, not an API key');
}

/** A signed-in user needs at least this role in the acting organisation; an API key its scopes instead. */
export function requireRole(principal: Principal, minimum: OrganisationRole): void {
  if (principal.kind === 'user' && !roleAtLeast(principal.role, minimum)) {
    throw forbidden(`This action needs the ${minimum} role in the organisation; you are ${principal.role}`);
  }
}

/** An agent-scoped key sees its own agent only; any other id looks unknown (404), as for foreign ids. */
export function visibleAgent(principal: Principal, agentId: string): void {
  if (principal.kind === 'api_key' && principal.agentId !== null && principal.agentId !== agentId) throw notFound('agent');
}
