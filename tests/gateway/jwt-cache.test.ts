// The verified-token cache (edge-functions/_shared/auth/verified-tokens.ts): a token that verified
// is answered from memory for at most maxAgeMs and never past its exp; a token differing in any
// byte is verified in full; the cache holds at most maxEntries tokens. A hit is seen as the same
// (frozen) result object: a fresh verification builds a new one.
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createJwtVerifier } from '../../edge-functions/_shared/auth/jwt.ts';
import { VerifiedTokens } from '../../edge-functions/_shared/auth/verified-tokens.ts';

const SUPABASE_URL = 'https://project.supabase.test';
const USER = '7d3f6a52-5b1e-4c1e-9d62-2f0b7c6e1a11';
const T0 = new Date('2026-12-02T12:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);

async function signer() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' };
  const sign = (expSeconds: number, claims: Record<string, unknown> = { role: 'authenticated' }) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .setSubject(USER)
      .setIssuer(`${SUPABASE_URL}/auth/v1`)
      .setAudience('authenticated')
      .setIssuedAt(Math.floor(T0.getTime() / 1000))
      .setExpirationTime(Math.floor(T0.getTime() / 1000) + expSeconds)
      .sign(privateKey);
  return { jwks: { keys: [jwk] }, sign };
}

describe('verified-token cache', () => {
  it('answers a repeated token from memory until maxAgeMs, then verifies it again', async () => {
    const { jwks, sign } = await signer();
    const verify = createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks, cache: { maxEntries: 10, maxAgeMs: 60_000 } });
    const token = await sign(3600);
    const first = await verify(token, T0);
    expect(first).toMatchObject({ sub: USER });
    expect(await verify(token, at(59_000))).toBe(first);
    const later = await verify(token, at(60_000));
    expect(later).toEqual(first);
    expect(later).not.toBe(first);
    // Without the cache every request is verified in full.
    const uncached = createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks, cache: false });
    expect(await uncached(token, T0)).not.toBe(await uncached(token, T0));
  });

  it('refuses a cached token once it has expired', async () => {
    const { jwks, sign } = await signer();
    const verify = createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks, cache: { maxEntries: 10, maxAgeMs: 60_000 } });
    const token = await sign(30);
    const first = await verify(token, T0);
    expect(await verify(token, at(29_000))).toBe(first);
    // exp is T0 + 30 s: at that second jose refuses it, and so does the cache.
    await expect(verify(token, at(30_000))).rejects.toThrow(/exp/);
    await expect(verify(token, at(45_000))).rejects.toThrow(/exp/);
  });

  it('verifies a tampered copy of a cached token in full (and refuses it)', async () => {
    const { jwks, sign } = await signer();
    const verify = createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks, cache: { maxEntries: 10, maxAgeMs: 60_000 } });
    const token = await sign(3600);
    await verify(token, T0);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const otherUser = Buffer.from(JSON.stringify({ ...claims, sub: '0b5c2f1e-1111-4222-8333-444455556666' })).toString('base64url');
    const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
    for (const tampered of [`${header}.${otherUser}.${signature}`, `${header}.${payload}.${flipped}`, `${header}.${payload}.`]) {
      await expect(verify(tampered, at(1000))).rejects.toThrow();
    }
    // A token of another key altogether, same claims.
    const stranger = await (await signer()).sign(3600);
    await expect(verify(stranger, at(1000))).rejects.toThrow();
  });

  it('holds at most maxEntries tokens, dropping the least recently used', () => {
    const cache = new VerifiedTokens<string>({ maxEntries: 2, maxAgeMs: 60_000 });
    const exp = Math.floor(T0.getTime() / 1000) + 3600;
    cache.put('token-a', 'a', { exp }, T0);
    cache.put('token-b', 'b', { exp }, T0);
    expect(cache.get('token-a', T0)).toBe('a'); // a is now the most recent
    cache.put('token-c', 'c', { exp }, T0);
    expect(cache.size).toBe(2);
    expect(cache.get('token-b', T0)).toBeUndefined();
    expect(cache.get('token-a', T0)).toBe('a');
    expect(cache.get('token-c', T0)).toBe('c');
    for (let i = 0; i < 1000; i++) cache.put(`token-${i}`, String(i), { exp }, T0);
    expect(cache.size).toBe(2);
  });

  it('honours nbf and an expired entry is dropped', () => {
    const cache = new VerifiedTokens<string>({ maxEntries: 5, maxAgeMs: 60_000 });
    const seconds = Math.floor(T0.getTime() / 1000);
    cache.put('early', 'e', { exp: seconds + 3600, nbf: seconds + 10 }, T0);
    expect(cache.get('early', T0)).toBeUndefined();
    cache.put('short', 's', { exp: seconds + 5 }, T0);
    expect(cache.get('short', at(5000))).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
