/** Small helpers for route handlers: timestamps out, the acting owner in. */
import type { Context } from 'hono';
import type { Principal } from '../_shared/auth/principal.ts';
import type { Actor } from '../_shared/sql/audit-log.ts';
import type { Env } from './types.ts';

export const iso = (value: Date | string | null | undefined): string | null =>
  value == null ? null : value instanceof Date ? value.toISOString() : new Date(value).toISOString();

export const isoNow = (value: Date | string): string => iso(value)!;

export const principalOf = (c: Context<Env>): Principal => c.get('principal');

/** Who the audit log names for this request's actions (set once per request in app.ts). */
export const actorOf = (c: Context<Env>): Actor => c.get('actor');

/**
 * The audit log's actor: a member by user id, an API key by prefix (never the key), with the
 * client address the proxy reported (null when it is not trusted) and the user agent.
 */
export function actorFrom(p: Principal, headers: Headers, clientAddress: string | null, requestId: string): Actor {
  return {
    type: p.kind,
    id: p.kind === 'user' ? p.userId : p.prefix,
    ip: clientAddress,
    user_agent: headers.get('user-agent')?.slice(0, 512) ?? null,
    request_id: requestId,
  };
}

