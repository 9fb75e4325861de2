/** What the gateway app is built from; tests pass real Postgres and generated keys. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Sql } from 'postgres';
import type { JwtVerifier } from '../_shared/auth/jwt.ts';
import type { Principal } from '../_shared/auth/principal.ts';
import type { Actor } from '../_shared/sql/audit-log.ts';
import type { Resolver } from '../_shared/net/url-guard.ts';
import type { MediaStore } from '../../kernel/media/store.ts';
import type { Keyring } from '../../kernel/secret-box.ts';

export interface Bucket {
  capacity: number;
  windowSeconds: number;
}

export interface GatewayConfig {
  /** Accept http:// webhook URLs (development only). */
  allowHttpWebhooks: boolean;
  /** Accept http:// media URLs (development only). */
  allowHttpMedia: boolean;
  /** GATEWAY_ALLOW_PRIVATE_URLS: webhook and media URLs may point at this machine and private networks (development; local database only). */
  allowPrivateUrls: boolean;
  /** Largest decoded base64 media upload. */
  maxMediaBytes: number;
  /** Body limit of every route but the send route. */
  maxBodyBytes: number;
  limits: {
    link: Bucket; numberChecks: Bucket; keyCreation: Bucket; failedAuth: Bucket;
    /** restart, disconnect and logout together, per agent (each tears a socket down or up). */
    sessionCommands: Bucket;
    /** Webhook tests and redeliveries together, per owner (each is a signed POST to the tenant's host). */
    webhookSends: Bucket;
    /** Renames, per agent. */
    agentRenames: Bucket;
    /** Webhook secret rotations, per owner. */
    webhookRotations: Bucket;
    /** Data subject exports and erasures together, per owner (each reads or deletes a contact's history). */
    dataRequests: Bucket;
  };
  /** How long a number check waits for the connector before answering 202 with a job to poll. */
  numberCheckWaitMs: number;
  numberCheckPollMs: number;
  /** Take the client address from the last X-Forwarded-For entry, the one the platform's proxy appends (true behind Supabase's gateway or a proxy). */
  trustProxy: boolean;
  /**
   * Origins of web apps that may call the API from a browser (exact `scheme://host[:port]`), or
   * `['*']` for any. Credentials (cookies) are never allowed: the API authenticates by the
   * Authorization header, so `*` cannot leak a cookie-bound session. Empty: no cross-origin use.
   */
  corsOrigins: string[];
  /** Organisations: how many one user may own, how long an invitation stays open, how many may be open per organisation. */
  organisations: { maxOwnedPerUser: number; invitationTtlSeconds: number; maxOpenInvitations: number };
}

export const DEFAULT_CONFIG: GatewayConfig = {
  allowHttpWebhooks: false,
  allowHttpMedia: false,
  allowPrivateUrls: false,
  maxMediaBytes: 10 * 1024 * 1024,
  maxBodyBytes: 64 * 1024,
  limits: {
    link: { capacity: 5, windowSeconds: 900 },
    numberChecks: { capacity: 200, windowSeconds: 60 },
    keyCreation: { capacity: 10, windowSeconds: 3600 },
    failedAuth: { capacity: 20, windowSeconds: 300 },
    sessionCommands: { capacity: 10, windowSeconds: 3600 },
    webhookSends: { capacity: 30, windowSeconds: 3600 },
    agentRenames: { capacity: 30, windowSeconds: 3600 },
    webhookRotations: { capacity: 10, windowSeconds: 3600 },
    dataRequests: { capacity: 20, windowSeconds: 3600 },
  },
  numberCheckWaitMs: 5000,
  numberCheckPollMs: 150,
  trustProxy: true,
  corsOrigins: [],
  organisations: { maxOwnedPerUser: 10, invitationTtlSeconds: 7 * 86_400, maxOpenInvitations: 100 },
};

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** The subset of pino the app uses, so tests can pass a recorder. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface AppDeps {
  sql: Sql;
  clock?: Clock;
  verifyJwt: JwtVerifier;
  config?: Partial<GatewayConfig>;
  logger: Logger;
  /** Seals webhook signing secrets (WEBHOOK_SECRETS_KEY; never the credentials keyring). */
  keyring: Keyring;
  /** Seals and opens the content of tenants whose content policy is encrypted (MESSAGE_CONTENT_*); unset until one needs it. */
  contentKeyring?: Keyring;
  /** Keys the Idempotency-Key request hash of encrypted tenants (kernel/content-box.ts requestHashKey); with contentKeyring. */
  requestHashKey?: CryptoKey;
  /** DNS lookup for the webhook URL check; omitted where the runtime cannot resolve. */
  resolveHost?: Resolver;
  /** Where base64 uploads go; queued rows keep a reference (docs/invariants.md, invariant 6). */
  mediaStore: MediaStore;
}

export interface Ctx {
  sql: Sql;
  clock: Clock;
  config: GatewayConfig;
  logger: Logger;
  keyring: Keyring;
  contentKeyring?: Keyring;
  requestHashKey?: CryptoKey;
  resolveHost?: Resolver;
  mediaStore: MediaStore;
}

export type Env = { Variables: { requestId: string; principal: Principal; actor: Actor } };
export type GatewayApp = OpenAPIHono<Env>;
