// The local stand-ins for Supabase Auth and Realtime that `npm start` serves to the link page
// (scripts/dev/local-supabase.ts), driven by supabase-js itself against real PostgreSQL: the
// owner's private join to agent:<id> is accepted and receives the session_changed broadcast the
// database makes; another user's join, and a token not signed by the stack, are refused; the
// Auth stand-in answers /user and the refresh grant.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createClient, type RealtimeChannel, type SupabaseClient } from '@supabase/supabase-js';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalSupabase, type LocalSupabase } from '../../scripts/dev/local-supabase.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { claim, createAgent, createRunningAgent, createUser, registerConnector } from '../helpers/fixtures.ts';

const ISSUER = 'http://localhost.invalid/auth/v1';
let db: TestDatabase;
let alice: string;
let bob: string;
let agent: string;
let bobsAgent: string;
let forAlice: LocalSupabase;
let forBob: LocalSupabase;
let server: Server;
let url: string;
const clients: SupabaseClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  alice = await createUser(db.sql);
  bob = await createUser(db.sql);
  agent = await createRunningAgent(db.sql, alice);
  bobsAgent = await createAgent(db.sql, bob);
  const secret = randomBytes(32).toString('hex');
  // One stand-in serves the sockets; Bob's tokens come from a second with the same secret.
  forAlice = await createLocalSupabase({ sql: db.sql, jwtSecret: secret, userId: alice, email: 'alice@example.test', issuer: ISSUER, deliveryIntervalMs: 50 });
  forBob = await createLocalSupabase({ sql: db.sql, jwtSecret: secret, userId: bob, email: 'bob@example.test', issuer: ISSUER });
  server = createServer(getRequestListener(forAlice.app.fetch));
  forAlice.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const c of clients) await c.removeAllChannels();
  await forAlice?.stop();
  await forBob?.stop();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await db?.drop();
});

function client(): SupabaseClient {
  const c = createClient(url, forAlice.anonKey, { auth: { persistSession: false, autoRefreshToken: false }, realtime: { transport: WebSocket as never } });
  clients.push(c);
  return c;
}

/** Subscribes as `token` and resolves with the channel's first terminal status. */
async function join(token: string, topic: string, heard: unknown[]): Promise<{ status: string; channel: RealtimeChannel }> {
  const c = client();
  await c.realtime.setAuth(token);
  const channel = c.channel(topic, { config: { private: true } }).on('broadcast', { event: 'session_changed' }, (m) => heard.push(m.payload));
  const status = await new Promise<string>((resolve) => {
    channel.subscribe((s) => {
      if (s !== 'CLOSED') resolve(s);
    });
  });
  return { status, channel };
}

describe('local Supabase stand-ins (npm start)', () => {
  it("the owner's private join hears session_changed; another user's join, and a foreign token, are refused", async () => {
    const heard: unknown[] = [];
    const owner = await join(await forAlice.accessToken(600), `agent:${agent}`, heard);
    expect(owner.status).toBe('SUBSCRIBED');

    const bobHeard: unknown[] = [];
    expect((await join(await forBob.accessToken(600), `agent:${agent}`, bobHeard)).status).toBe('CHANNEL_ERROR');
    expect((await join(await forBob.accessToken(600), `agent:${bobsAgent}`, bobHeard)).status).toBe('SUBSCRIBED');
    const stranger = await createLocalSupabase({ sql: db.sql, jwtSecret: 'another secret', userId: alice, email: 'alice@example.test', issuer: ISSUER });
    expect((await join(await stranger.accessToken(600), `agent:${agent}`, [])).status).toBe('CHANNEL_ERROR');
    await stranger.stop();

    const connector = await registerConnector(db.sql);
    const epoch = (await claim(db.sql, connector, agent))!.toString();
    await db.sql`select gateway.update_session(${agent}, ${connector}, ${epoch}, ${db.sql.json({ status: 'qr', qr_code: 'QR-TEXT' })})`;
    const deadline = Date.now() + 5_000;
    while (heard.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(heard).toEqual([{ agent_id: agent, status: 'qr' }]);
    expect(bobHeard).toEqual([]);
  });

  it('Auth stand-in: /user for a valid token, the refresh grant, nothing for a bad refresh token', async () => {
    const token = await forAlice.accessToken(600);
    const user = await fetch(`${url}/auth/v1/user`, { headers: { authorization: `Bearer ${token}` } });
    expect(user.status).toBe(200);
    expect(await user.json()).toMatchObject({ id: alice, email: 'alice@example.test' });
    expect((await fetch(`${url}/auth/v1/user`, { headers: { authorization: `Bearer ${await forBob.accessToken(600)}` } })).status).toBe(401);

    const link = new URL(await forAlice.signInLink(url, token));
    const refreshToken = new URLSearchParams(link.hash.slice(1)).get('refresh_token');
    const refreshed = await fetch(`${url}/auth/v1/token?grant_type=refresh_token`, { method: 'POST', body: JSON.stringify({ refresh_token: refreshToken }) });
    expect(refreshed.status).toBe(200);
    const session = (await refreshed.json()) as { access_token: string };
    expect((await fetch(`${url}/auth/v1/user`, { headers: { authorization: `Bearer ${session.access_token}` } })).status).toBe(200);
    const bad = await fetch(`${url}/auth/v1/token?grant_type=refresh_token`, { method: 'POST', body: JSON.stringify({ refresh_token: 'x' }) });
    expect(bad.status).toBe(400);
  });
});
