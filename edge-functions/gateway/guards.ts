/**
 * Per-route middleware for who may call a route, so handlers start at the query:
 *
 *   createRoute({ ..., middleware: [scope('messages:send'), agentVisible] })
 *
 * They run after authentication and before the request is validated. Ownership itself is
 * checked in SQL by the statement that reads or writes the agent (a foreign id is a 404 there);
 * agentVisible only keeps an agent-bound API key to its agent.
 */
import type { MiddlewareHandler } from 'hono';
import type { ApiKeyScope } from '../_shared/auth/api-keys.ts';
import { type Principal, requireScope, requireUser, visibleAgent } from '../_shared/auth/principal.ts';
import { Uuid } from '../_shared/contracts/common.ts';
import { forbidden } from '../_shared/http/errors.ts';
import type { Env } from './types.ts';

type Guard = MiddlewareHandler<Env>;

const guard = (check: (p: Principal, param: (name: string) => string | undefined) => void): Guard => async (c, next) => {
  check(c.get('principal'), (name) => c.req.param(name));
  await next();
};

/** An API key needs this scope; a signed-in user has every scope. */
export const scope = (name: ApiKeyScope): Guard => guard((p) => requireScope(p, name));

/** Account-level actions (agents, keys): a signed-in user, not an API key. */
export const userOnly: Guard = guard(requireUser);

/**
 * An agent-bound key sees only its agent: any other {agentId} is a 404, as a foreign one is. A
 * malformed id is left to the validator, whose 400 it gets whoever asks.
 */
export const agentVisible: Guard = guard((p, param) => {
  const agentId = param('agentId');
  if (agentId && Uuid.safeParse(agentId).success) visibleAgent(p, agentId);
});

/** Webhooks are account-level: webhooks:manage on a key that is not bound to one agent. */
export const webhookManager: Guard = guard((p) => {
  requireScope(p, 'webhooks:manage');
  if (p.kind === 'api_key' && p.agentId) throw forbidden('Webhooks are managed with a key that is not bound to one agent');
});
