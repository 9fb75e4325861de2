/**
 * Who is calling: a signed-in user (JWT) acting as themselves, or an API key acting as its owner,
 * restricted to its agent (if any) and its scopes.
 *
 *   requireScope(principal, 'messages:send');
 *   visibleAgent(principal, agentId); // 404 for an agent an agent-scoped key cannot see
 */
import { forbidden, HttpError, notFound } from '../http/errors.ts';
import type { ApiKeyScope } from './api-keys.ts';

export type Principal =
  | { kind: 'user'; ownerId: string }
  | { kind: 'api_key'; ownerId: string; keyId: string; prefix: string; agentId: string | null; scopes: readonly string[] };

export function requireScope(principal: Principal, scope: ApiKeyScope): void {
  if (principal.kind === 'user') return;
  if (principal.scopes.includes('*') || principal.scopes.includes(scope)) return;
  throw forbidden(`This API key lacks the ${scope} scope`);
}

/** Account-level actions (agents, keys) need a signed-in user, not an API key. */
export function requireUser(principal: Principal): void {
  if (principal.kind !== 'user') throw new HttpError(403, 'forbidden', 'This action needs a signed-in user, not an API key');
}

/** An agent-scoped key sees its own agent only; any other id looks unknown (404), as for foreign ids. */
export function visibleAgent(principal: Principal, agentId: string): void {
  if (principal.kind === 'api_key' && principal.agentId !== null && principal.agentId !== agentId) throw notFound('agent');
}
