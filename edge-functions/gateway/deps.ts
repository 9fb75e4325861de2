/**
 * Dependencies from the environment, for the Deno entry (index.ts) and the Node dev server. The
 * variables, their defaults and what they mean are in config.ts (the schema).
 */
import postgres from 'postgres';
import { createJwtVerifier, type JwtConfig } from '../_shared/auth/jwt.ts';
import type { Resolver } from '../_shared/net/url-guard.ts';
import { mediaStoreFromEnv } from '../../kernel/media/config.ts';
import { PRIVATE_URLS_VARIABLE, PRIVATE_URLS_WARNING, privateUrlsRefusal } from '../../kernel/private-urls.ts';
import { requestHashKey } from '../../kernel/content-box.ts';
import { ConfigError, currentKeyFromEnv, KEYRING_PREFIX, keyringFromEnv } from '../../kernel/secret-box.ts';
import type { EnvMap } from '../../kernel/env-schema.ts';
import { appConfigOf, legacySecretOf, loadGatewayEnv } from './config.ts';
import type { AppDeps, Logger } from './types.ts';

/** pino, loaded only when needed: it reads the host name at import (Deno: --allow-sys). */
async function pinoLogger(level: string): Promise<Logger> {
  const { default: pino } = await import('pino');
  const log = pino({
    level,
    base: { fn: 'gateway' },
    redact: { paths: ['authorization', '*.authorization', 'headers.authorization', 'key', 'secret', '*.secret', 'token'], censor: '[redacted]' },
  });
  // Wrapped, not returned as is: a pino instance is thenable-looking to TypeScript in an async return.
  return { info: (o, m) => log.info(o, m), warn: (o, m) => log.warn(o, m), error: (o, m) => log.error(o, m) };
}

export async function depsFromEnv(env: EnvMap, options: { resolveHost?: Resolver; logger?: Logger } = {}): Promise<AppDeps> {
  const e = loadGatewayEnv(env);
  const url = (e.DB_POOLER_URL ?? e.SUPABASE_DB_URL)!;
  const refusal = e.GATEWAY_ALLOW_PRIVATE_URLS ? privateUrlsRefusal(url, e.DB_POOLER_URL ? 'DB_POOLER_URL' : 'SUPABASE_DB_URL') : null;
  if (refusal) throw new ConfigError(PRIVATE_URLS_VARIABLE, refusal);
  const logger = options.logger ?? (await pinoLogger(e.LOG_LEVEL));
  if (e.GATEWAY_ALLOW_PRIVATE_URLS) logger.warn({ variable: PRIVATE_URLS_VARIABLE }, PRIVATE_URLS_WARNING);
  return {
    // prepare: false — the transaction pooler cannot keep prepared statements across transactions.
    sql: postgres(url, { prepare: false, max: e.DB_POOL_MAX, idle_timeout: 20, onnotice: () => {} }),
    verifyJwt: createJwtVerifier({ supabaseUrl: e.SUPABASE_URL, jwks: e.SUPABASE_JWKS as JwtConfig['jwks'], legacySecret: legacySecretOf(e), allowAnonymous: e.GATEWAY_ALLOW_ANONYMOUS_USERS }),
    keyring: await keyringFromEnv(env, KEYRING_PREFIX.webhookSecrets),
    contentKeyring: e.MESSAGE_CONTENT_KEY ? await keyringFromEnv(env, KEYRING_PREFIX.messageContent) : undefined,
    requestHashKey: e.MESSAGE_CONTENT_KEY ? await requestHashKey(currentKeyFromEnv(env, KEYRING_PREFIX.messageContent)) : undefined,
    config: appConfigOf(e),
    resolveHost: options.resolveHost,
    mediaStore: await mediaStoreFromEnv(env),
    logger,
  };
}
