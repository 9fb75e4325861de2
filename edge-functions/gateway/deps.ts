/**
 * Dependencies from the environment, for the Deno entry (index.ts) and the Node dev server.
 *
 *   DB_POOLER_URL        transaction pooler URL (port 6543; own secret), else SUPABASE_DB_URL
 *   DB_POOL_MAX          connections per instance (default 5)
 *   SUPABASE_URL         issuer base: <SUPABASE_URL>/auth/v1; JWKS at /auth/v1/.well-known/jwks.json
 *   SUPABASE_JWKS        the project's public keys as JSON (used instead of fetching the JWKS URL)
 *   GATEWAY_JWT_ALLOW_HS256  "true" accepts legacy HS256 user tokens (off by default: a project that
 *                        revoked its legacy secret must not keep accepting tokens signed with it)
 *   GATEWAY_JWT_SECRET   the HS256 secret, read only with GATEWAY_JWT_ALLOW_HS256 (SUPABASE_JWT_SECRET
 *                        is used then if it is unset)
 *   GATEWAY_ALLOW_ANONYMOUS_USERS  "true" lets anonymous sign-ins (is_anonymous) use the API; else 403
 *   WEBHOOK_SECRETS_KEY (+ _VERSION, _OLD_KEYS)  seals webhook signing secrets (secret-box.ts). The
 *                        credentials key (CREDENTIALS_ENCRYPTION_KEY) is never read here: this
 *                        function faces the internet and must not be able to open session creds
 *   GATEWAY_ALLOW_HTTP_WEBHOOKS / GATEWAY_ALLOW_HTTP_MEDIA  "true" accepts http:// (development only)
 *   GATEWAY_ALLOW_PRIVATE_URLS  "true" accepts webhook and media URLs on this machine and private
 *                        networks (development only): logged as a warning at start, and refused
 *                        (the function does not start) unless the database URL is on this machine
 *   GATEWAY_MAX_MEDIA_BYTES      base64 media limit (default 10 MiB)
 *   GATEWAY_NUMBER_CHECK_WAIT_MS how long a number check waits before 202 (default 5000)
 *   GATEWAY_TRUST_PROXY          "false" ignores X-Forwarded-For for the failed-auth limit
 *   MEDIA_STORE (+ MEDIA_STORE_BUCKET, SUPABASE_SERVICE_ROLE_KEY / MEDIA_STORE_DIR)
 *                                where base64 uploads go (kernel/media/config.ts); required
 *   LOG_LEVEL                    pino level (default info)
 */
import postgres from 'postgres';
import { createJwtVerifier } from '../_shared/auth/jwt.ts';
import type { Resolver } from '../_shared/net/url-guard.ts';
import { mediaStoreFromEnv } from '../../kernel/media/config.ts';
import { PRIVATE_URLS_VARIABLE, PRIVATE_URLS_WARNING, privateUrlsRefusal, privateUrlsRequested } from '../../kernel/private-urls.ts';
import { KEYRING_PREFIX, keyringFromEnv } from '../../kernel/secret-box.ts';
import { type AppDeps, DEFAULT_CONFIG, type GatewayConfig, type Logger } from './types.ts';

type EnvMap = Record<string, string | undefined>;

function required(env: EnvMap, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

const flag = (value: string | undefined, fallback: boolean) => (value === undefined ? fallback : value === 'true' || value === '1');
const int = (value: string | undefined, fallback: number) => (value && /^[0-9]+$/.test(value) ? Number(value) : fallback);

export function configFromEnv(env: EnvMap): GatewayConfig {
  return {
    ...DEFAULT_CONFIG,
    allowHttpWebhooks: flag(env.GATEWAY_ALLOW_HTTP_WEBHOOKS, false),
    allowHttpMedia: flag(env.GATEWAY_ALLOW_HTTP_MEDIA, false),
    allowPrivateUrls: privateUrlsRequested(env),
    maxMediaBytes: int(env.GATEWAY_MAX_MEDIA_BYTES, DEFAULT_CONFIG.maxMediaBytes),
    numberCheckWaitMs: int(env.GATEWAY_NUMBER_CHECK_WAIT_MS, DEFAULT_CONFIG.numberCheckWaitMs),
    trustProxy: flag(env.GATEWAY_TRUST_PROXY, true),
  };
}

/** The HS256 secret, only on the explicit opt-in; a secret merely present in the environment is ignored. */
export function legacyJwtSecret(env: EnvMap): string | undefined {
  if (!flag(env.GATEWAY_JWT_ALLOW_HS256, false)) return undefined;
  const secret = env.GATEWAY_JWT_SECRET || env.SUPABASE_JWT_SECRET;
  if (!secret) throw new Error('GATEWAY_JWT_SECRET is required when GATEWAY_JWT_ALLOW_HS256 is true');
  return secret;
}

/** pino, loaded only when needed: it reads the host name at import (Deno: --allow-sys). */
async function pinoLogger(env: EnvMap): Promise<Logger> {
  const { default: pino } = await import('pino');
  const log = pino({
    level: env.LOG_LEVEL ?? 'info',
    base: { fn: 'gateway' },
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'key', 'secret', '*.secret', 'token'], censor: '[redacted]' },
  });
  // Wrapped, not returned as is: a pino instance is thenable-looking to TypeScript in an async return.
  return { info: (o, m) => log.info(o, m), warn: (o, m) => log.warn(o, m), error: (o, m) => log.error(o, m) };
}

export async function depsFromEnv(env: EnvMap, options: { resolveHost?: Resolver; logger?: Logger } = {}): Promise<AppDeps> {
  const url = env.DB_POOLER_URL || required(env, 'SUPABASE_DB_URL');
  const config = configFromEnv(env);
  const refusal = config.allowPrivateUrls ? privateUrlsRefusal(url, env.DB_POOLER_URL ? 'DB_POOLER_URL' : 'SUPABASE_DB_URL') : null;
  if (refusal) throw new Error(`${PRIVATE_URLS_VARIABLE} ${refusal}`);
  const logger = options.logger ?? (await pinoLogger(env));
  if (config.allowPrivateUrls) logger.warn({ variable: PRIVATE_URLS_VARIABLE }, PRIVATE_URLS_WARNING);
  const supabaseUrl = required(env, 'SUPABASE_URL');
  const jwksText = env.SUPABASE_JWKS;
  const parsedJwks = jwksText ? JSON.parse(jwksText) : undefined;
  const jwks = Array.isArray(parsedJwks) ? { keys: parsedJwks } : parsedJwks;
  return {
    // prepare: false — the transaction pooler cannot keep prepared statements across transactions.
    sql: postgres(url, { prepare: false, max: int(env.DB_POOL_MAX, 5), idle_timeout: 20, onnotice: () => {} }),
    verifyJwt: createJwtVerifier({ supabaseUrl, jwks, legacySecret: legacyJwtSecret(env), allowAnonymous: flag(env.GATEWAY_ALLOW_ANONYMOUS_USERS, false) }),
    keyring: await keyringFromEnv(env, KEYRING_PREFIX.webhookSecrets),
    config,
    resolveHost: options.resolveHost,
    mediaStore: await mediaStoreFromEnv(env),
    logger,
  };
}
