/**
 * The verified-token cache under Deno (the edge runtime): the cache's hash (node:crypto) loads,
 * a repeated token is answered from memory, an expired one is refused even when cached, a
 * tampered copy is verified in full, and the cache stays bounded. tests/gateway/jwt-cache.test.ts
 * covers the same under Node.
 */
import assert from './assert.ts';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { createJwtVerifier } from '../../edge-functions/_shared/auth/jwt.ts';
import { VerifiedTokens } from '../../edge-functions/_shared/auth/verified-tokens.ts';

const SUPABASE_URL = 'https://deno.supabase.test';
const USER = '7d3f6a52-5b1e-4c1e-9d62-2f0b7c6e1a11';
const T0 = new Date('2026-12-02T12:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const rejects = (p: Promise<unknown>) => p.then(() => false, () => true);

Deno.test('verified-token cache under Deno', async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' }] };
  const sign = (expSeconds: number) =>
    new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'ES256', kid: 'k' }).setSubject(USER)
      .setIssuer(`${SUPABASE_URL}/auth/v1`).setAudience('authenticated')
      .setExpirationTime(Math.floor(T0.getTime() / 1000) + expSeconds).sign(privateKey);
  const verify = createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks, cache: { maxEntries: 10, maxAgeMs: 60_000 } });

  const token = await sign(30);
  const first = await verify(token, T0);
  assert.equal(first.sub, USER);
  assert.equal(await verify(token, at(29_000)), first);
  assert.ok(await rejects(verify(token, at(30_000))), 'an expired token is refused even when cached');

  const fresh = await sign(3600);
  await verify(fresh, T0);
  const [header, payload, signature] = fresh.split('.') as [string, string, string];
  const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
  assert.ok(await rejects(verify(`${header}.${payload}.${flipped}`, at(1000))), 'a tampered token is not served from the cache');

  const cache = new VerifiedTokens<number>({ maxEntries: 3, maxAgeMs: 60_000 });
  for (let i = 0; i < 100; i++) cache.put(`token-${i}`, i, { exp: Math.floor(T0.getTime() / 1000) + 3600 }, T0);
  assert.equal(cache.size, 3);
  assert.equal(cache.get('token-99', T0), 99);
  assert.equal(cache.get('token-0', T0), undefined);
});
