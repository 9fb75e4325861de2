/**
 * Authentication middleware: `Authorization: Bearer <JWT | API key>` becomes `c.var.principal`.
 * Every failure (missing, malformed, wrong, expired, revoked) is the same 401; a valid token of an
 * anonymous sign-in is a 403 (unless allowed, see jwt.ts). Each 401 also takes a token from a
 * per-client-address bucket, and an empty bucket answers 429 instead. The bucket is checked
 * before the credential is verified, so a limited address gets 429 even with a right guess.
 * Failures are counted in this instance's memory first (LocalBuckets) and only then in the shared
 * Postgres bucket, so a flood from one address stops costing database writes once its local
 * bucket is empty.
 *
 * A signed-in user acts in the organisation named by `X-Organisation-Id`, by default their
 * personal one (the organisation whose id is their user id), with their role there; an
 * organisation they do not belong to (or a malformed id) is a 404, as a foreign agent is. An API
 * key acts for the organisation it belongs to; a header naming another one is a 404 too.
 *
 *   app.use('/agents/*', authenticate({ sql, verifyJwt, clock, failedAuthLimit, clientAddress }));
 *
 * A route that checks its caller in its own statement (the send: one round trip, not three) asks
 * `authentication(options).presented(headers)` for the caller as the request presents it, before
 * this middleware runs; whenever that statement does not accept the caller, the request goes on
 * through the middleware, which answers exactly as it always has.
 */
import type { MiddlewareHandler } from 'hono';
import { forbidden, notFound, unauthenticated } from '../http/errors.ts';
import { rateLimited } from '../http/rate-limit.ts';
import { takeToken } from '../sql/health.ts';
import { apiKeyForPrefix } from '../sql/keys.ts';
import { memberRole } from '../sql/organisations.ts';
import type { Sql } from '../sql/types.ts';
import { LocalBuckets } from './local-buckets.ts';
import { parseApiKey, timingSafeEqual } from './api-keys.ts';
import { sha256 } from './sha256.ts';
import { AnonymousUserRefused, type JwtVerifier } from './jwt.ts';
import type { Principal } from './principal.ts';

export interface AuthOptions {
  sql: Sql;
  verifyJwt: JwtVerifier;
  now: () => Date;
  /** Failed authentications allowed per client address per window. */
  failedAuthLimit: { capacity: number; windowSeconds: number };
  clientAddress: (headers: Headers) => string;
}

/** The token of `Authorization: Bearer <token>`, or null. */
function bearerToken(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S{1,4096})$/i.exec((header ?? '').trim());
  return match ? match[1]! : null;
}

/** A `wag_` key's prefix (which finds its row) and SHA-256 (what is stored), or null when malformed. */
function apiKeyOf(token: string): { prefix: string; hash: Uint8Array } | null {
  const parsed = parseApiKey(token);
  return parsed ? { prefix: parsed.prefix, hash: sha256(token) } : null;
}

async function fromApiKey(sql: Sql, token: string): Promise<Principal | null> {
  const key = apiKeyOf(token);
  if (!key) return null;
  const { prefix, hash } = key;
  const row = await apiKeyForPrefix(sql, prefix, hash);
  // Compare even when the key is unusable, so revoked and live keys take the same time.
  const matches = row ? timingSafeEqual(new Uint8Array(row.key_hash), hash) : timingSafeEqual(hash, new Uint8Array(32));
  if (!row || !matches || !row.usable) return null;
  return { kind: 'api_key', ownerId: row.owner_id, keyId: row.id, prefix, agentId: row.agent_id, scopes: row.scopes };
}

export const ORGANISATION_HEADER = 'X-Organisation-Id';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The principal acting in `organisation`: a user with their role there, a key only in its own.
 * Not a member, not the key's organisation or not an id at all: a 404, so nobody learns which
 * organisations exist.
 */
export async function actIn(sql: Sql, principal: Principal, organisation: string): Promise<Principal> {
  const id = organisation.trim().toLowerCase();
  if (!UUID.test(id)) throw notFound('organisation');
  if (principal.kind === 'api_key') {
    if (id !== principal.ownerId) throw notFound('organisation');
    return principal;
  }
  const role = await memberRole(sql, id, principal.userId);
  if (!role) throw notFound('organisation');
  return { ...principal, ownerId: id, role };
}

/**
 * The caller a request presents, read but not checked against the database: an API key's prefix
 * and hash (and the organisation X-Organisation-Id names, if any), or a user whose JWT verified and
 * the organisation they act in.
 */
export type PresentedCaller =
  | { kind: 'api_key'; prefix: string; hash: Uint8Array; organisation: string | null }
  | { kind: 'user'; userId: string; organisation: string };

export interface Authentication {
  middleware: MiddlewareHandler;
  /**
   * The caller as the request presents it, or null when only the middleware may decide: no or a
   * malformed credential, a JWT that does not verify (or an anonymous user's), a malformed
   * X-Organisation-Id, an address refused for failed authentications. Reads and writes nothing.
   */
  presented(headers: Headers): Promise<PresentedCaller | null>;
}

export function authenticate(options: AuthOptions): MiddlewareHandler {
  return authentication(options).middleware;
}

export function authentication(options: AuthOptions): Authentication {
  const local = new LocalBuckets(options.failedAuthLimit);
  const tooMany = 'Too many failed authentications; retry later';

  const presented = async (headers: Headers): Promise<PresentedCaller | null> => {
    if (local.blockedFor(options.clientAddress(headers), options.now().getTime())) return null;
    const token = bearerToken(headers.get('authorization') ?? undefined);
    if (!token) return null;
    const named = headers.get(ORGANISATION_HEADER);
    const organisation = named === null ? null : named.trim().toLowerCase();
    if (organisation !== null && !UUID.test(organisation)) return null;
    if (token.startsWith('wag_')) {
      const key = apiKeyOf(token);
      return key ? { kind: 'api_key', ...key, organisation } : null;
    }
    try {
      const user = await options.verifyJwt(token, options.now());
      const acting = organisation ?? user.sub.trim().toLowerCase();
      return UUID.test(acting) ? { kind: 'user', userId: user.sub, organisation: acting } : null;
    } catch {
      return null;
    }
  };

  const middleware: MiddlewareHandler = async (c, next) => {
    const address = options.clientAddress(c.req.raw.headers);
    const blocked = local.blockedFor(address, options.now().getTime());
    if (blocked) throw rateLimited(blocked, tooMany);
    const token = bearerToken(c.req.header('authorization'));
    let principal: Principal | null = null;
    if (token) {
      if (token.startsWith('wag_')) {
        principal = await fromApiKey(options.sql, token);
      } else {
        try {
          const user = await options.verifyJwt(token, options.now());
          // The role is looked up below (actIn); until then the user is nothing in their personal organisation.
          principal = { kind: 'user', ownerId: user.sub, userId: user.sub, role: 'viewer', email: user.email ?? null };
        } catch (error) {
          if (error instanceof AnonymousUserRefused) throw forbidden('Anonymous users cannot use the gateway; sign in with an account');
          principal = null;
        }
      }
    }
    if (principal) {
      const named = c.req.header(ORGANISATION_HEADER);
      if (principal.kind === 'user' || named !== undefined) principal = await actIn(options.sql, principal, named ?? principal.ownerId);
    }
    if (!principal) {
      const refusedHere = local.take(address, options.now().getTime());
      if (refusedHere) throw rateLimited(refusedHere, tooMany);
      const { capacity, windowSeconds } = options.failedAuthLimit;
      const bucket = await takeToken(options.sql, `authfail:${address}`, capacity, capacity / windowSeconds);
      if (bucket && !bucket.allowed) {
        local.block(address, options.now().getTime(), bucket.retry_after_seconds);
        throw rateLimited({ limit: capacity, remaining: bucket.remaining, reset: bucket.reset_seconds, retryAfter: bucket.retry_after_seconds }, tooMany);
      }
      throw unauthenticated();
    }
    c.set('principal', principal);
    await next();
  };

  return { middleware, presented };
}
