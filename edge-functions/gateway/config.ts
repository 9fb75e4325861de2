/**
 * The gateway function's configuration: one zod schema (`gatewayEnvSchema`) for every variable
 * it reads, each with its description (the README reference is generated from it: npm run
 * docs:config). Read once at start by deps.ts; a missing or malformed variable stops the
 * function with a message naming it (ConfigError). zod only: this loads in Deno and Node.
 *
 * The credentials key (CREDENTIALS_ENCRYPTION_KEY) is not in it and never read: this function
 * faces the internet and must not be able to open session creds. It holds the webhook-secrets key
 * and, when a tenant keeps content encrypted, the message-content key (MESSAGE_CONTENT_*).
 */
import { z } from 'zod';
import { ACCEPTS_KEY, ACCEPTS_OLD_KEYS, bool, type EnvMap, int, keyMaterial, logLevel, parseEnv } from '../../kernel/env-schema.ts';
import { mediaStoreEnvShape } from '../../kernel/media/config.ts';
import { ConfigError } from '../../kernel/secret-box.ts';
import { DEFAULT_CONFIG, type GatewayConfig } from './types.ts';

const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL');

const jwks = z.string().transform((text, ctx) => {
  try {
    const value = JSON.parse(text);
    return (Array.isArray(value) ? { keys: value } : value) as { keys: Array<Record<string, unknown>> };
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be JSON: a key set ({"keys": [...]}) or an array of keys' });
    return z.NEVER;
  }
});

/**
 * Browser origins allowed to call the API: `*`, or exact origins (`scheme://host[:port]`), comma
 * separated. Anything else is refused at start rather than silently matching nothing.
 */
const corsOriginList = z.string().transform((value, ctx) => {
  const list = value.split(',').map((o) => o.trim()).filter(Boolean);
  if (list.includes('*')) {
    if (list.length > 1) ctx.addIssue({ code: 'custom', message: '`*` cannot be combined with other origins' });
    return ['*'];
  }
  for (const origin of list) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== origin) {
      ctx.addIssue({ code: 'custom', message: `"${origin}" is not an origin (scheme://host[:port], no path or trailing slash)` });
    }
  }
  return list;
});

/** What the app itself reads (configFromEnv); the npm start stack passes only these. */
const appShape = {
  GATEWAY_ALLOW_HTTP_WEBHOOKS: bool(false).describe('Accept http:// webhook URLs (development only).'),
  GATEWAY_ALLOW_HTTP_MEDIA: bool(false).describe('Accept http:// media URLs (development only).'),
  GATEWAY_ALLOW_PRIVATE_URLS: bool(false).describe('Development only: webhook and media URLs may point at this machine and private networks (cloud metadata, link-local and reserved addresses stay refused). Logged as a warning at start; the function refuses to start unless its database URL is on this machine.'),
  GATEWAY_MAX_MEDIA_BYTES: int(1, DEFAULT_CONFIG.maxMediaBytes).describe('Largest decoded base64 media upload (the Storage bucket\'s size limit must match).'),
  GATEWAY_NUMBER_CHECK_WAIT_MS: int(0, DEFAULT_CONFIG.numberCheckWaitMs).describe('How long a number check waits for the connector before answering 202 with a job to poll.'),
  GATEWAY_CORS_ORIGINS: corsOriginList.optional().meta({
    accepts: '`*` or origins, comma-separated',
    description: 'Web apps on other origins that may call the API from a browser (CORS); `*` for any. Credentials (cookies) are never allowed: the API authenticates by the Authorization header. Unset: no cross-origin use.',
  }),
  GATEWAY_TRUST_PROXY: bool(DEFAULT_CONFIG.trustProxy).describe('Take the client address from the last X-Forwarded-For entry (the platform\'s proxy appends it) for the failed-auth limit; `false` ignores the header.'),
};

/** Who may sign in with a user token (legacyJwtSecret). */
const jwtShape = {
  GATEWAY_JWT_ALLOW_HS256: bool(false).describe('Accept legacy HS256 user tokens. Off by default: a project that revoked its legacy secret must not keep accepting tokens signed with it.'),
  GATEWAY_JWT_SECRET: z.string().min(1).optional().describe('The HS256 secret, read only with `GATEWAY_JWT_ALLOW_HS256=true` (required then, or `SUPABASE_JWT_SECRET`).'),
  SUPABASE_JWT_SECRET: z.string().min(1).optional().describe('The project\'s legacy JWT secret; stands in for `GATEWAY_JWT_SECRET`, and only with `GATEWAY_JWT_ALLOW_HS256=true`.'),
};

export const gatewayEnvSchema = z.object({
  DB_POOLER_URL: postgresUrl.optional().describe('Transaction pooler URL (port 6543) as the `gateway_api` role; the function\'s own secret. `SUPABASE_DB_URL` is used when unset.'),
  SUPABASE_DB_URL: postgresUrl.optional().describe('Injected by the platform; used only without `DB_POOLER_URL` (one of the two is required).'),
  DB_POOL_MAX: int(1, 5).describe('Postgres connections per function instance.'),
  SUPABASE_URL: z.url().describe('The project URL (injected): user tokens are issued by `<SUPABASE_URL>/auth/v1`, and its JWKS is fetched there unless `SUPABASE_JWKS` is set; the media store with `MEDIA_STORE=supabase`.'),
  SUPABASE_JWKS: jwks.optional().meta({ accepts: 'JSON', description: 'The project\'s public keys (a key set or an array of keys), used instead of fetching the JWKS URL.' }),
  ...jwtShape,
  GATEWAY_ALLOW_ANONYMOUS_USERS: bool(false).describe('Let anonymous sign-ins (`is_anonymous`) use the API; otherwise they get 403.'),
  WEBHOOK_SECRETS_KEY: keyMaterial().meta({ accepts: ACCEPTS_KEY, description: 'AES-256-GCM key for webhook signing secrets, shared with the connectors; the only key this function holds. No fallback.' }),
  WEBHOOK_SECRETS_KEY_VERSION: int(1, 1).describe('Version stored beside every webhook-secret ciphertext made with the current key.'),
  WEBHOOK_SECRETS_OLD_KEYS: z.string().optional().meta({ accepts: ACCEPTS_OLD_KEYS, description: 'Older webhook keys, for reading during a rotation.' }),
  MESSAGE_CONTENT_KEY: keyMaterial().optional().meta({ accepts: ACCEPTS_KEY, description: 'AES-256-GCM key for the message content of tenants whose content policy is `encrypted` (sealed at send, opened for listings), shared with the connectors. Optional until a tenant chooses `encrypted`: without it the API refuses that policy (409 `content_key_unavailable`).' }),
  MESSAGE_CONTENT_KEY_VERSION: int(1, 1).describe('Version stored beside every content ciphertext made with the current key.'),
  MESSAGE_CONTENT_OLD_KEYS: z.string().optional().meta({ accepts: ACCEPTS_OLD_KEYS, description: 'Older content keys, for reading content sealed before a rotation (keep them until retention has removed that content).' }),
  ...appShape,
  ...mediaStoreEnvShape,
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional().describe('Injected by the platform: the key Storage accepts for the private media bucket (required with `MEDIA_STORE=supabase`).'),
  LOG_LEVEL: logLevel('info').describe('pino level of the function.'),
});

export type GatewayEnv = z.output<typeof gatewayEnvSchema>;

/** Parses and validates the environment; throws ConfigError naming the first bad variable. */
export function loadGatewayEnv(env: EnvMap): GatewayEnv {
  const e = parseEnv(gatewayEnvSchema, env);
  if (!e.DB_POOLER_URL && !e.SUPABASE_DB_URL) throw new ConfigError('SUPABASE_DB_URL', 'is required (or DB_POOLER_URL)');
  legacySecretOf(e);
  return e;
}

/** The app's settings: the defaults with what the environment overrides. */
export function configFromEnv(env: EnvMap): GatewayConfig {
  return appConfigOf(parseEnv(z.object(appShape), env));
}

export function appConfigOf(e: z.output<z.ZodObject<typeof appShape>>): GatewayConfig {
  return {
    ...DEFAULT_CONFIG,
    allowHttpWebhooks: e.GATEWAY_ALLOW_HTTP_WEBHOOKS,
    allowHttpMedia: e.GATEWAY_ALLOW_HTTP_MEDIA,
    allowPrivateUrls: e.GATEWAY_ALLOW_PRIVATE_URLS,
    maxMediaBytes: e.GATEWAY_MAX_MEDIA_BYTES,
    numberCheckWaitMs: e.GATEWAY_NUMBER_CHECK_WAIT_MS,
    trustProxy: e.GATEWAY_TRUST_PROXY,
    corsOrigins: e.GATEWAY_CORS_ORIGINS ?? [],
  };
}

/** The HS256 secret, only on the explicit opt-in; a secret merely present in the environment is ignored. */
export function legacyJwtSecret(env: EnvMap): string | undefined {
  return legacySecretOf(parseEnv(z.object(jwtShape), env));
}

export function legacySecretOf(e: { GATEWAY_JWT_ALLOW_HS256: boolean; GATEWAY_JWT_SECRET?: string; SUPABASE_JWT_SECRET?: string }): string | undefined {
  if (!e.GATEWAY_JWT_ALLOW_HS256) return undefined;
  const secret = e.GATEWAY_JWT_SECRET ?? e.SUPABASE_JWT_SECRET;
  if (!secret) throw new ConfigError('GATEWAY_JWT_SECRET', 'is required when GATEWAY_JWT_ALLOW_HS256 is true');
  return secret;
}
