/**
 * Verifies Supabase user JWTs locally with jose: asymmetric keys from SUPABASE_JWKS (JSON) or the
 * project's JWKS URL (fetched once, cached by jose), issuer `<SUPABASE_URL>/auth/v1`, audience
 * `authenticated`, `exp` enforced against the injected clock, claim `role` = `authenticated`.
 * HS256 only when the caller passes a legacy secret (deps.ts does so only on an explicit opt-in).
 * Anonymous sign-ins (`is_anonymous: true`) are refused with AnonymousUserRefused unless
 * allowAnonymous: Supabase gives them a real user id and role `authenticated`, and every user
 * gets a plan, so enabling anonymous sign-ins must not silently open the gateway to anyone.
 * A token that verified is remembered (verified-tokens.ts) by its hash for at most a minute and
 * never past its `exp`: a client's next requests with it skip the signature check, and a key
 * withdrawn from the JWKS stops accepting the tokens it signed within that minute.
 *
 *   const verify = createJwtVerifier({ supabaseUrl, jwks: JSON.parse(env.SUPABASE_JWKS) });
 *   const { sub } = await verify(token, new Date());
 */
import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from 'jose';
import { VerifiedTokens } from './verified-tokens.ts';

export interface JwtConfig {
  supabaseUrl: string;
  jwks?: JSONWebKeySet;
  jwksUrl?: string;
  /** HS256 shared secret; only set it on an explicit opt-in (GATEWAY_JWT_ALLOW_HS256). */
  legacySecret?: string;
  audience?: string;
  /** Accept anonymous sign-ins (is_anonymous: true). Off by default. */
  allowAnonymous?: boolean;
  /**
   * Verified tokens remembered (verified-tokens.ts): at most maxEntries, each for at most maxAgeMs
   * (the bound on how long a withdrawn signing key goes on being accepted). Default 10,000 and
   * 60 s; `false` verifies every request.
   */
  cache?: { maxEntries: number; maxAgeMs: number } | false;
}

export const DEFAULT_VERIFIED_TOKEN_CACHE = { maxEntries: 10_000, maxAgeMs: 60_000 };

/** A valid token of an anonymous user: a 403, not a 401 (the credential itself is fine). */
export class AnonymousUserRefused extends Error {
  constructor() {
    super('anonymous users are not accepted');
    this.name = 'AnonymousUserRefused';
  }
}

export interface VerifiedUser {
  sub: string;
  role?: string;
  /**
   * The `email` claim Supabase Auth puts in its tokens (lower-cased), if any. Accepting an
   * invitation relies on it, so the project must confirm addresses before it signs users in
   * (Supabase's default, "Confirm email").
   */
  email?: string;
}

export type JwtVerifier = (token: string, now: Date) => Promise<VerifiedUser>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createJwtVerifier(config: JwtConfig): JwtVerifier {
  const base = config.supabaseUrl.replace(/\/+$/, '');
  const issuer = `${base}/auth/v1`;
  const audience = config.audience ?? 'authenticated';
  const keySet = config.jwks
    ? createLocalJWKSet(config.jwks)
    : createRemoteJWKSet(new URL(config.jwksUrl ?? `${issuer}/.well-known/jwks.json`), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
  const secret = config.legacySecret ? new TextEncoder().encode(config.legacySecret) : undefined;
  const cache = config.cache === false ? undefined : new VerifiedTokens<VerifiedUser>(config.cache ?? DEFAULT_VERIFIED_TOKEN_CACHE);

  return async (token, now) => {
    const remembered = cache?.get(token, now);
    if (remembered) return remembered;
    const { alg } = decodeProtectedHeader(token);
    const options = { issuer, audience, currentDate: now, requiredClaims: ['exp', 'sub'] };
    let payload: Record<string, unknown>;
    if (alg === 'HS256') {
      if (!secret) throw new Error('HS256 tokens are not accepted without a configured secret');
      ({ payload } = await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] }));
    } else {
      ({ payload } = await jwtVerify(token, keySet, { ...options, algorithms: ['ES256', 'RS256', 'EdDSA'] }));
    }
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) throw new Error('subject is not a user id');
    // The audience alone does not say "a signed-in user": service tokens carry other roles.
    if (payload.role !== 'authenticated') throw new Error('role is not authenticated');
    if (payload.is_anonymous === true && !config.allowAnonymous) throw new AnonymousUserRefused();
    const email = typeof payload.email === 'string' && payload.email.trim() !== '' ? payload.email.trim().toLowerCase() : undefined;
    const user: VerifiedUser = Object.freeze({ sub: payload.sub.toLowerCase(), role: typeof payload.role === 'string' ? payload.role : undefined, email });
    // requiredClaims made jose check that exp is a number; nbf, when present, was checked too.
    cache?.put(token, user, { exp: payload.exp as number, nbf: typeof payload.nbf === 'number' ? payload.nbf : undefined }, now);
    return user;
  };
}
