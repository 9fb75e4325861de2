/**
 * Per-route middleware for who may call a route, so handlers start at the query:
 *
 *   createRoute({ ..., middleware: [scope('messages:send'), agentVisible] })
 *   createRoute({ ..., middleware: [role('admin')] })
 *
 * A signed-in user acts with their role in the organisation (kernel/organisation-roles.ts): a
 * viewer reads, a developer also changes agents, sessions, keys and webhooks and sends, an admin
 * also manages members and invitations, an owner also renames or deletes the organisation and
 * grants owner. An API key acts within its scopes instead (it belongs to the organisation).
 *
 * They run after authentication and before the request is validated. Ownership itself is
 * checked in SQL by the statement that reads or writes the agent (a foreign id is a 404 there);
 * agentVisible only keeps an agent-bound API key to its agent.
 */
import type { MiddlewareHandler } from 'hono';
import type { ApiKeyScope } from '../_shared/auth/api-keys.ts';
import { actIn } from '../_shared/auth/authenticate.ts';
import type { Sql } from '../_shared/sql/types.ts';
import type { OrganisationRole } from '../../kernel/organisation-roles.ts';
import { type Principal, requireRole, requireScope, requireUser, visibleAgent } from '../_shared/auth/principal.ts';
import { Uuid } from '../_shared/contracts/common.ts';
import { forbidden } from '../_shared/http/errors.ts';
import type { Env } from './types.ts';

type Guard = MiddlewareHandler<Env>;

const guard = (check: (p: Principal, param: (name: string) => string | undefined) => void): Guard => async (c, next) => {
  check(c.get('principal'), (name) => c.req.param(name));
  await next();
};

/** The role a signed-in user needs for what a scope lets a key do: reading is a viewer's, the rest a developer's. */
export const SCOPE_ROLES: Record<ApiKeyScope, OrganisationRole> = {
  '*': 'developer',
  'agents:read': 'viewer',
  'messages:read': 'viewer',
  'sessions:read': 'viewer',
  'stats:read': 'viewer',
  'messages:send': 'developer',
  'sessions:write': 'developer',
  'numbers:check': 'developer',
  'webhooks:manage': 'developer',
};

/** An API key needs this scope; a signed-in user the role that goes with it (SCOPE_ROLES). */
export const scope = (name: ApiKeyScope): Guard => guard((p) => {
  requireScope(p, name);
  requireRole(p, SCOPE_ROLES[name]);
});

/** Organisation-level reads (keys, members): a signed-in user of any role, not an API key. */
export const userOnly: Guard = guard(requireUser);

/** A signed-in user (not an API key) with at least this role in the organisation. */
export const role = (minimum: OrganisationRole): Guard => guard((p) => {
  requireUser(p);
  requireRole(p, minimum);
});

/**
 * An agent-bound key sees only its agent: any other {agentId} is a 404, as a foreign one is. A
 * malformed id is left to the validator, whose 400 it gets whoever asks.
 */
export const agentVisible: Guard = guard((p, param) => {
  const agentId = param('agentId');
  if (agentId && Uuid.safeParse(agentId).success) visibleAgent(p, agentId);
});

/** Webhooks belong to the organisation: webhooks:manage on a key that is not bound to one agent. */
const organisationKey = (p: Principal) => {
  requireScope(p, 'webhooks:manage');
  if (p.kind === 'api_key' && p.agentId) throw forbidden('Webhooks are managed with a key that is not bound to one agent');
};

/** Changing webhooks (create, update, delete, test, redeliver, rotate): a developer, or a key as above. */
export const webhookManager: Guard = guard((p) => {
  organisationKey(p);
  requireRole(p, 'developer');
});

/** Reading webhooks and their deliveries: any member, or a key as above. */
export const webhookReader: Guard = guard(organisationKey);

/**
 * Routes under /v1/organisations/{organisationId} act in the organisation of their path (whatever
 * X-Organisation-Id says): the caller's role is the one they have there, and one they do not
 * belong to is a 404. First in the list, before any role guard.
 */
export const pathOrganisation = (sql: Sql): Guard => async (c, next) => {
  c.set('principal', await actIn(sql, c.get('principal'), c.req.param('organisationId') ?? ''));
  await next();
};

/** Removing a member: an admin or more, or the member themselves (leaving). */
export const memberRemover: Guard = guard((p, param) => {
  requireUser(p);
  if (param('userId')?.toLowerCase() !== p.userId) requireRole(p, 'admin');
});
