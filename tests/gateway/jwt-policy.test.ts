// Which user tokens the gateway accepts: HS256 only on an explicit opt-in (a legacy secret merely
// present in the environment is ignored), role `authenticated` required, anonymous sign-ins
// refused unless configured.
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { AnonymousUserRefused, createJwtVerifier } from '../../edge-functions/_shared/auth/jwt.ts';
import { legacyJwtSecret } from '../../edge-functions/gateway/config.ts';
import { depsFromEnv } from '../../edge-functions/gateway/deps.ts';

const SUPABASE_URL = 'https://project.supabase.test';
const USER = '7d3f6a52-5b1e-4c1e-9d62-2f0b7c6e1a11';
const LEGACY = 'legacy-secret-that-the-project-revoked-0123456789';
const now = () => new Date();
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

const hs256 = (secret: string, claims: Record<string, unknown> = { role: 'authenticated' }) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(USER)
    .setIssuer(`${SUPABASE_URL}/auth/v1`)
    .setAudience('authenticated')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(secret));

async function es256() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k', alg: 'ES256' };
  const sign = (claims: Record<string, unknown>) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k' })
      .setSubject(USER)
      .setIssuer(`${SUPABASE_URL}/auth/v1`)
      .setAudience('authenticated')
      .setExpirationTime('5m')
      .sign(privateKey);
  return { jwks: { keys: [jwk] }, sign };
}

const baseEnv = { SUPABASE_DB_URL: 'postgresql://postgres@127.0.0.1:1/none', SUPABASE_URL, SUPABASE_JWKS: '{"keys":[]}', WEBHOOK_SECRETS_KEY: 'ab'.repeat(32),
  MEDIA_STORE: 'folder', MEDIA_STORE_DIR: '/nonexistent/wg-media' };

describe('HS256 is an explicit opt-in', () => {
  it('SUPABASE_JWT_SECRET or GATEWAY_JWT_SECRET alone does not enable it', async () => {
    expect(legacyJwtSecret({ SUPABASE_JWT_SECRET: LEGACY })).toBeUndefined();
    expect(legacyJwtSecret({ GATEWAY_JWT_SECRET: LEGACY })).toBeUndefined();
    const deps = await depsFromEnv({ ...baseEnv, SUPABASE_JWT_SECRET: LEGACY, GATEWAY_JWT_SECRET: LEGACY }, { logger: quiet });
    try {
      await expect(deps.verifyJwt(await hs256(LEGACY), now())).rejects.toThrow(/HS256/);
    } finally {
      await deps.sql.end();
    }
  });

  it('GATEWAY_JWT_ALLOW_HS256=true accepts tokens signed with the secret, and needs one', async () => {
    expect(() => legacyJwtSecret({ GATEWAY_JWT_ALLOW_HS256: 'true' })).toThrow(/^GATEWAY_JWT_SECRET: is required/);
    expect(legacyJwtSecret({ GATEWAY_JWT_ALLOW_HS256: 'true', SUPABASE_JWT_SECRET: LEGACY })).toBe(LEGACY);
    const deps = await depsFromEnv({ ...baseEnv, GATEWAY_JWT_ALLOW_HS256: 'true', GATEWAY_JWT_SECRET: LEGACY }, { logger: quiet });
    try {
      await expect(deps.verifyJwt(await hs256(LEGACY), now())).resolves.toMatchObject({ sub: USER });
      await expect(deps.verifyJwt(await hs256('another-secret-another-secret-0123456789'), now())).rejects.toThrow();
    } finally {
      await deps.sql.end();
    }
  });
});

describe('claims', () => {
  it('requires role authenticated', async () => {
    const { jwks, sign } = await es256();
    const verify = createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks });
    await expect(verify(await sign({ role: 'authenticated' }), now())).resolves.toMatchObject({ sub: USER });
    for (const claims of [{}, { role: 'anon' }, { role: 'service_role' }, { role: ['authenticated'] }]) {
      await expect(verify(await sign(claims), now())).rejects.toThrow(/role/);
    }
  });

  it('refuses anonymous sign-ins unless allowed', async () => {
    const { jwks, sign } = await es256();
    const anonymous = await sign({ role: 'authenticated', is_anonymous: true });
    await expect(createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks })(anonymous, now())).rejects.toBeInstanceOf(AnonymousUserRefused);
    await expect(createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks, allowAnonymous: true })(anonymous, now())).resolves.toMatchObject({ sub: USER });
    await expect(createJwtVerifier({ supabaseUrl: SUPABASE_URL, jwks })(await sign({ role: 'authenticated', is_anonymous: false }), now())).resolves.toMatchObject({ sub: USER });
  });

  it('GATEWAY_ALLOW_ANONYMOUS_USERS=true is the switch', async () => {
    const { jwks, sign } = await es256();
    const anonymous = await sign({ role: 'authenticated', is_anonymous: true });
    for (const [value, accepted] of [[undefined, false], ['false', false], ['true', true]] as const) {
      const deps = await depsFromEnv({ ...baseEnv, SUPABASE_JWKS: JSON.stringify(jwks), GATEWAY_ALLOW_ANONYMOUS_USERS: value }, { logger: quiet });
      try {
        const outcome = await deps.verifyJwt(anonymous, now()).then(() => true, () => false);
        expect({ value, accepted: outcome }).toEqual({ value, accepted });
      } finally {
        await deps.sql.end();
      }
    }
  });
});
