/**
 * A stand-in for the two Supabase services the link page uses, for `npm start` only: hosted Auth
 * (GoTrue) and Realtime cannot run here, so the local stack answers the small part of their
 * protocols supabase-js speaks. On Supabase the page talks to the real services; nothing in the
 * gateway depends on this file.
 *
 * Auth stand-in (/auth/v1): one local developer. GET /user for a valid access token, a refresh
 * grant that mints a new access token, and logout. Sign-in is the link `npm start` prints (an
 * implicit-grant redirect, `#access_token=…&type=magiclink`, which supabase-js's
 * detectSessionInUrl consumes); password and magic-link sign-in need Supabase Auth.
 *
 * Realtime stand-in (/realtime/v1/websocket): the Phoenix protocol subset realtime-js uses
 * (serializer 2.0.0, JSON array frames): heartbeats, phx_join/phx_leave, access_token updates,
 * and server broadcasts. A private join is authorised as Supabase Realtime does it: the join's
 * token is verified, then, inside a rolled-back transaction, a probe row on the topic is selected
 * as `authenticated` with the user's claims and `realtime.topic()` set — so the RLS policies on
 * realtime.messages decide, exactly as on Supabase. Broadcasts from the database (the rows
 * `realtime.send` writes) are read from realtime.messages in this process while someone is joined
 * and pushed to the joined sockets: the server reads the table, the page never polls.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type { Sql } from 'postgres';
import { type WebSocket, WebSocketServer } from 'ws';

type Frame = [string | null, string | null, string, string, Record<string, unknown>];

export interface LocalSupabaseOptions {
  sql: Sql;
  jwtSecret: string;
  userId: string;
  email: string;
  /** The `iss` of tokens the control plane accepts (its verifier's Supabase URL + /auth/v1). */
  issuer: string;
  /** How often the Realtime stand-in reads new broadcasts while a client is joined. */
  deliveryIntervalMs?: number;
}

export interface LocalSupabase {
  /** Routes under /auth/v1 (mount on the stack's HTTP app). */
  app: Hono;
  /** A publishable (anon) key for supabase-js: a legacy anon JWT for this stack. */
  anonKey: string;
  /** Serves /realtime/v1/websocket on the stack's HTTP server. */
  attach(server: Server): void;
  /** An access token for the local developer. */
  accessToken(lifetimeSeconds: number): Promise<string>;
  /** The implicit-grant link that signs the local developer in on the page at `origin`. */
  signInLink(origin: string, accessToken: string): Promise<string>;
  stop(): Promise<void>;
}

const ACCESS_LIFETIME_SECONDS = 3600;

export async function createLocalSupabase(opts: LocalSupabaseOptions): Promise<LocalSupabase> {
  const { sql, userId, email, issuer } = opts;
  const key = new TextEncoder().encode(opts.jwtSecret);
  // A refresh token names the user and is bound to this stack's secret (GoTrue's are opaque rows).
  const refreshToken = createHmac('sha256', opts.jwtSecret).update(`refresh:${userId}`).digest('base64url');
  const user = { id: userId, aud: 'authenticated', role: 'authenticated', email, app_metadata: { provider: 'email', providers: ['email'] }, user_metadata: {}, created_at: new Date(0).toISOString() };

  const accessToken = (lifetimeSeconds: number) =>
    new SignJWT({ role: 'authenticated', email })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuer(issuer)
      .setAudience('authenticated')
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + lifetimeSeconds)
      .sign(key);
  const anonKey = await new SignJWT({ role: 'anon' }).setProtectedHeader({ alg: 'HS256' }).setIssuer(issuer).setIssuedAt().sign(key);

  const verify = async (token: string | undefined): Promise<JWTPayload | null> => {
    if (!token) return null;
    try {
      const { payload } = await jwtVerify(token, key, { issuer, audience: 'authenticated', algorithms: ['HS256'] });
      return typeof payload.sub === 'string' ? payload : null;
    } catch {
      return null;
    }
  };
  const bearer = (header: string | undefined) => (header?.startsWith('Bearer ') ? header.slice(7) : undefined);
  const authError = (status: number, code: string, msg: string) => Response.json({ code: status, error_code: code, msg }, { status });

  const app = new Hono();
  // Supabase Auth answers CORS for any origin (its endpoints take the token in a header, never a
  // cookie); so does the stand-in, so a web app on its own origin signs in as it would on Supabase.
  app.use('/auth/v1/*', cors({ origin: '*', allowMethods: ['GET', 'POST', 'OPTIONS'], maxAge: 600 }));
  app.get('/auth/v1/user', async (c) => {
    const claims = await verify(bearer(c.req.header('authorization')));
    if (!claims || claims.sub !== userId) return authError(401, 'bad_jwt', 'invalid JWT');
    return c.json(user);
  });
  app.post('/auth/v1/token', async (c) => {
    if (c.req.query('grant_type') !== 'refresh_token') {
      return authError(400, 'validation_failed', 'The local stand-in for Supabase Auth signs in only through the link npm start prints');
    }
    const body = (await c.req.json().catch(() => ({}))) as { refresh_token?: unknown };
    const given = Buffer.from(String(body.refresh_token ?? ''));
    if (given.length !== refreshToken.length || !timingSafeEqual(given, Buffer.from(refreshToken))) {
      return authError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
    }
    const token = await accessToken(ACCESS_LIFETIME_SECONDS);
    return c.json({ access_token: token, token_type: 'bearer', expires_in: ACCESS_LIFETIME_SECONDS, expires_at: Math.floor(Date.now() / 1000) + ACCESS_LIFETIME_SECONDS, refresh_token: refreshToken, user });
  });
  app.post('/auth/v1/logout', (c) => c.body(null, 204));
  app.all('/auth/v1/*', () => authError(400, 'not_available_locally', 'Not offered by the local stand-in for Supabase Auth: sign in with the link npm start prints'));

  // --- Realtime stand-in ---
  interface Joined {
    ws: WebSocket;
    joinRef: string | null;
    topic: string;
  }
  const joined: Joined[] = [];
  const wss = new WebSocketServer({ noServer: true });
  const send = (ws: WebSocket, frame: Frame) => ws.send(JSON.stringify(frame));

  /** Supabase Realtime's check for a private channel: may these claims select a message of the topic? */
  async function mayJoin(token: string | undefined, topic: string): Promise<boolean> {
    const claims = await verify(token);
    if (!claims) return false;
    const verdict = { ok: false };
    const rollback = new Error('rollback');
    await sql
      .begin(async (tx) => {
        const [probe] = await tx`insert into realtime.messages (topic, extension, private, event, payload)
          values (${topic}, 'broadcast', true, 'join_check', '{}'::jsonb) returning id`;
        await tx`select set_config('request.jwt.claims', ${JSON.stringify(claims)}, true), set_config('realtime.topic', ${topic}, true)`;
        await tx.unsafe('set local role authenticated');
        const rows = await tx`select 1 from realtime.messages where id = ${probe!.id} and realtime.topic() = ${topic}`;
        verdict.ok = rows.length === 1;
        throw rollback;
      })
      .catch((error) => {
        if (error !== rollback) throw error;
      });
    return verdict.ok;
  }

  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      void (async () => {
        const [joinRef, ref, topic, event, payload] = JSON.parse(data.toString()) as Frame;
        const reply = (status: 'ok' | 'error', response: Record<string, unknown>) => send(ws, [joinRef, ref, topic, 'phx_reply', { status, response }]);
        if (topic === 'phoenix' && event === 'heartbeat') return send(ws, [null, ref, 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
        if (event === 'phx_join') {
          const channel = topic.replace(/^realtime:/, '');
          const isPrivate = (payload.config as { private?: boolean } | undefined)?.private === true;
          // Every topic this stand-in carries is private: a public join would hear nothing.
          if (!isPrivate || !(await mayJoin(payload.access_token as string | undefined, channel))) {
            return reply('error', { reason: `Unauthorized: You do not have permissions to read from this Channel topic: ${channel}` });
          }
          joined.push({ ws, joinRef, topic });
          return reply('ok', { postgres_changes: [] });
        }
        if (event === 'phx_leave') {
          for (let i = joined.length - 1; i >= 0; i--) if (joined[i]!.ws === ws && joined[i]!.topic === topic) joined.splice(i, 1);
          return reply('ok', {});
        }
        if (event === 'access_token') return;
        reply('ok', {});
      })().catch(() => ws.close(1011));
    });
    ws.on('close', () => {
      for (let i = joined.length - 1; i >= 0; i--) if (joined[i]!.ws === ws) joined.splice(i, 1);
    });
  });

  // Rows are read by id over a short window of recent inserts: a transaction that began before the
  // last read but committed after it still has its row picked up. `seen` forgets ids past the window.
  const seen = new Map<string, number>();
  for (const r of await sql`select id::text from realtime.messages where topic like 'agent:%'`) seen.set(r.id as string, Date.now());
  let delivering = false;
  async function deliver(): Promise<void> {
    if (delivering || joined.length === 0) return;
    delivering = true;
    try {
      const rows = await sql`select id::text, topic, event, payload from realtime.messages
        where extension = 'broadcast' and private and topic like 'agent:%' and event <> 'join_check'
          and inserted_at > localtimestamp - interval '30 seconds' order by inserted_at, id`;
      const now = Date.now();
      for (const row of rows) {
        if (seen.has(row.id as string)) continue;
        seen.set(row.id as string, now);
        const topic = `realtime:${row.topic as string}`;
        for (const j of joined) {
          if (j.topic === topic) send(j.ws, [j.joinRef, null, topic, 'broadcast', { type: 'broadcast', event: row.event as string, payload: row.payload as Record<string, unknown> }]);
        }
      }
      for (const [id, at] of seen) if (now - at > 60_000) seen.delete(id);
    } finally {
      delivering = false;
    }
  }
  const timer = setInterval(() => void deliver().catch(() => {}), opts.deliveryIntervalMs ?? 200);

  return {
    app,
    anonKey,
    attach(server) {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const url = new URL(req.url ?? '/', 'http://local');
        if (url.pathname !== '/realtime/v1/websocket') return void socket.destroy();
        wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
      });
    },
    accessToken,
    async signInLink(origin, token) {
      const { payload } = await jwtVerify(token, key, { issuer });
      const expiresAt = payload.exp ?? Math.floor(Date.now() / 1000) + ACCESS_LIFETIME_SECONDS;
      const params = new URLSearchParams({
        access_token: token,
        refresh_token: refreshToken,
        expires_in: String(expiresAt - Math.floor(Date.now() / 1000)),
        expires_at: String(expiresAt),
        token_type: 'bearer',
        type: 'magiclink',
      });
      return `${origin}/#${params}`;
    },
    async stop() {
      clearInterval(timer);
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}
