/**
 * The gateway edge function: one Hono app under /gateway (Supabase routes every path of a
 * function under its name), built from its dependencies so Node tests, the Node dev server and
 * Deno all run the same code.
 *
 *   const app = createApp({ sql, verifyJwt, logger, keyring });
 *   await app.request('/gateway/health');
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { HTTPException } from 'hono/http-exception';
import { authentication } from '../_shared/auth/authenticate.ts';
import { errorBody, HttpError, notFound } from '../_shared/http/errors.ts';
import { sqlToHttp } from '../_shared/http/sql-errors.ts';
import { ping } from '../_shared/sql/health.ts';
import { registerActivityRoutes } from './routes/activity.ts';
import { registerAgentRoutes } from './routes/agents.ts';
import { registerAuditLogRoutes } from './routes/audit-log.ts';
import { registerDataRequestRoutes } from './routes/data-requests.ts';
import { registerContentPolicyRoutes } from './routes/content-policy.ts';
import { registerDocs } from './routes/docs.ts';
import { registerInvitationRoutes } from './routes/invitations.ts';
import { registerKeyRoutes } from './routes/keys.ts';
import { registerMemberRoutes } from './routes/members.ts';
import { registerMessageRoutes, sendInOneStatement } from './routes/messages.ts';
import { registerNumberCheckRoutes } from './routes/number-checks.ts';
import { registerOrganisationRoutes } from './routes/organisations.ts';
import { registerSessionRoutes } from './routes/sessions.ts';
import { registerWebhookRotationRoute } from './routes/webhook-rotation.ts';
import { registerWebhookRoutes } from './routes/webhooks.ts';
import { type AppDeps, type Ctx, DEFAULT_CONFIG, type Env, type GatewayApp, systemClock } from './types.ts';
import { actorFrom } from './util.ts';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The client address for the failed-auth limit: the last X-Forwarded-For entry, the one the
 * platform's proxy appends. Entries to its left come from the client and can say anything.
 */
export function clientAddressFrom(trustProxy: boolean) {
  return (headers: Headers): string => {
    if (!trustProxy) return 'direct';
    const forwarded = headers.get('x-forwarded-for')?.split(',').at(-1)?.trim() || headers.get('x-real-ip')?.trim();
    return (forwarded || 'unknown').slice(0, 64);
  };
}

/** Validation failures become one 400 shape with field paths, before any handler runs. */
function validationHook(result: { success: boolean; error?: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } }) {
  if (!result.success) {
    const details = (result.error?.issues ?? []).slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
    throw new HttpError(400, 'invalid_request', 'The request is invalid', details);
  }
}

export function createApp(deps: AppDeps): GatewayApp {
  const config = { ...DEFAULT_CONFIG, ...deps.config, limits: { ...DEFAULT_CONFIG.limits, ...deps.config?.limits } };
  const ctx: Ctx = { sql: deps.sql, clock: deps.clock ?? systemClock, config, logger: deps.logger, keyring: deps.keyring, contentKeyring: deps.contentKeyring, requestHashKey: deps.requestHashKey, resolveHost: deps.resolveHost, mediaStore: deps.mediaStore };
  const app = new OpenAPIHono<Env>({ defaultHook: validationHook }).basePath('/gateway') as GatewayApp;

  app.use('*', async (c, next) => {
    const given = c.req.header('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    await next();
  });

  // Browsers on another origin: preflights are answered here, before authentication, so they never
  // spend the failed-auth budget (they carry no credentials by design). An origin not listed gets
  // no Access-Control-Allow-Origin and the browser refuses the response.
  const allowed = new Set(config.corsOrigins);
  app.use('*', cors({
    origin: (origin) => (allowed.has('*') ? '*' : allowed.has(origin) ? origin : null),
    allowMethods: ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'X-Organisation-Id'],
    exposeHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Location'],
    maxAge: 600,
    credentials: false,
  }));
  // An API answers JSON: nothing in it may be framed, sniffed or run as a page. The one HTML page
  // (/docs) has no script and only inline style.
  app.use('*', secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], styleSrc: ["'unsafe-inline'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
  }));

  // Body limits: the send route carries base64 media (4/3 of the media limit plus JSON).
  const small = bodyLimit({ maxSize: config.maxBodyBytes, onError: () => { throw new HttpError(413, 'payload_too_large', `Request bodies are limited to ${config.maxBodyBytes} bytes`); } });
  const sendMax = Math.ceil(config.maxMediaBytes / 3) * 4 + 64 * 1024;
  const large = bodyLimit({ maxSize: sendMax, onError: () => { throw new HttpError(413, 'payload_too_large', `Send bodies are limited to ${sendMax} bytes`); } });
  app.use('/v1/*', async (c, next) => {
    if (!BODY_METHODS.has(c.req.method)) return next();
    const limit = c.req.method === 'POST' && /\/messages$/.test(c.req.path) ? large : small;
    return limit(c, next);
  });

  const clientAddress = clientAddressFrom(config.trustProxy);
  const auth = authentication({ sql: ctx.sql, verifyJwt: deps.verifyJwt, now: () => ctx.clock.now(), failedAuthLimit: config.limits.failedAuth, clientAddress });
  // A valid send checks its caller in its own statement (one round trip); whatever that does not
  // accept goes on to authentication and the route as usual (routes/messages.ts).
  app.post('/v1/agents/:agentId/messages', sendInOneStatement(ctx, auth.presented));
  app.use('/v1/*', auth.middleware);
  // The audit log's "who and from where" for every action of this request (routes pass it to
  // their statement). Without a trusted proxy there is no client address to record.
  app.use('/v1/*', async (c, next) => {
    const address = config.trustProxy ? clientAddress(c.req.raw.headers) : null;
    c.set('actor', actorFrom(c.get('principal'), c.req.raw.headers, address === 'unknown' ? null : address, c.get('requestId')));
    await next();
  });

  // An agent-bound key works in its agent's context without naming it (seed 004): /v1/agent/… is
  // /v1/agents/<the key's agent>/… . The request is served again under that path, so every rule of
  // the named route (scopes, validation, limits, errors) applies unchanged.
  app.use('/v1/agent/*', async (c) => {
    const p = c.get('principal');
    if (p.kind !== 'api_key' || !p.agentId) {
      throw new HttpError(400, 'agent_required', 'Only an API key bound to one agent works without naming it; use /v1/agents/{agentId}/…');
    }
    const url = new URL(c.req.url);
    url.pathname = url.pathname.replace(/\/v1\/agent\//, `/v1/agents/${p.agentId}/`);
    return app.fetch(new Request(url, c.req.raw), c.env);
  });

  // Malformed JSON is a 400 of its own, before any schema runs; an empty body counts as {}.
  app.use('/v1/*', async (c, next) => {
    if (!BODY_METHODS.has(c.req.method)) return next();
    const text = await c.req.text();
    if (text.trim() === '') {
      (c.req as unknown as { bodyCache: Record<string, unknown> }).bodyCache.json = Promise.resolve({});
      return next();
    }
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/(?:[a-z0-9.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
      throw new HttpError(415, 'unsupported_media_type', 'Send JSON with Content-Type: application/json');
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new HttpError(400, 'malformed_json', 'The request body is not valid JSON');
    }
    (c.req as unknown as { bodyCache: Record<string, unknown> }).bodyCache.json = Promise.resolve(parsed);
    return next();
  });

  app.get('/health', async (c) => {
    const started = performance.now();
    await ping(ctx.sql);
    return c.json({ status: 'ok', database: 'ok', latencyMs: Math.round(performance.now() - started) });
  });

  registerAgentRoutes(app, ctx);
  registerSessionRoutes(app, ctx);
  registerMessageRoutes(app, ctx);
  registerNumberCheckRoutes(app, ctx);
  registerKeyRoutes(app, ctx);
  registerContentPolicyRoutes(app, ctx);
  registerWebhookRoutes(app, ctx);
  registerWebhookRotationRoute(app, ctx);
  registerActivityRoutes(app, ctx);
  registerDataRequestRoutes(app, ctx);
  registerAuditLogRoutes(app, ctx);
  registerOrganisationRoutes(app, ctx);
  registerMemberRoutes(app, ctx);
  registerInvitationRoutes(app, ctx);
  registerDocs(app);

  // Thrown, not answered: every error response is made in onError below.
  app.notFound(() => {
    throw notFound('route');
  });

  app.onError((error, c) => {
    const requestId = c.get('requestId') ?? crypto.randomUUID();
    let http = error instanceof HttpError ? error : sqlToHttp(error);
    if (!http && error instanceof HTTPException && error.status < 500) {
      const code = error.status === 415 ? 'unsupported_media_type' : error.status === 413 ? 'payload_too_large' : 'bad_request';
      http = new HttpError(error.status, code, error.status === 400 ? 'The request body is not valid JSON' : error.message || code);
    }
    if (!http) {
      // Only the name, SQLSTATE and message: postgres.js errors also carry the query parameters.
      const e = error as { name?: string; code?: string; message?: string };
      ctx.logger.error({ requestId, method: c.req.method, route: c.req.routePath, err: { name: e.name, code: e.code, message: String(e.message ?? '').slice(0, 300) } }, 'request failed');
      return c.json(errorBody('internal_error', 'Something went wrong on our side; quote the request id if you report it', requestId), 500);
    }
    for (const [k, v] of Object.entries(http.headers ?? {})) c.header(k, v);
    return c.json(errorBody(http.code, http.message, requestId, http.details), http.status as 400);
  });

  return app;
}
