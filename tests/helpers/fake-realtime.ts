// A fake Supabase Realtime server for tests (hosted Realtime cannot run here). It speaks the
// Phoenix websocket protocol realtime-js uses (serializer vsn 2.0.0: text frames are JSON arrays
// [join_ref, ref, topic, event, payload]): heartbeats on topic "phoenix", phx_join / phx_leave
// with phx_reply, access_token updates, and server "broadcast" pushes. Like the real server it
// delivers broadcast-from-database: it reads the rows `realtime.send` inserts into
// realtime.messages and pushes each to the clients joined to "realtime:<topic>". A private row
// reaches only clients that joined privately with the expected access token (the service role);
// a private join with any other token is refused, as Realtime's RLS check would.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Sql } from 'postgres';
import { type WebSocket, WebSocketServer } from 'ws';

type Frame = [string | null, string | null, string, string, Record<string, unknown>];

interface Joined {
  ws: WebSocket;
  joinRef: string | null;
  topic: string;
  private: boolean;
}

export interface FakeRealtime {
  /** The Supabase project URL to give supabase-js (http://127.0.0.1:<port>). */
  url: string;
  /** Heartbeats received from clients (proof they were alive while nothing was broadcast). */
  heartbeats(): number;
  /** Broadcasts pushed to clients, in order. */
  delivered(): Array<{ topic: string; event: string; payload: unknown }>;
  /** Joins seen, with their outcome. */
  joins(): Array<{ topic: string; private: boolean; ok: boolean }>;
  /** Reads new realtime.messages rows now and pushes them (the poller also does this). */
  pump(): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeRealtime(opts: { sql: Sql; serviceKey: string; pollMs?: number }): Promise<FakeRealtime> {
  const { sql, serviceKey } = opts;
  const server: Server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  const joined: Joined[] = [];
  const delivered: Array<{ topic: string; event: string; payload: unknown }> = [];
  const joins: Array<{ topic: string; private: boolean; ok: boolean }> = [];
  let heartbeats = 0;

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/realtime/v1/websocket' || url.searchParams.get('apikey') === null) {
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws));
  });

  const send = (ws: WebSocket, frame: Frame) => ws.send(JSON.stringify(frame));

  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return; // client broadcast pushes; the connector sends none
      const [joinRef, ref, topic, event, payload] = JSON.parse(data.toString()) as Frame;
      if (topic === 'phoenix' && event === 'heartbeat') {
        heartbeats++;
        send(ws, [null, ref, 'phoenix', 'phx_reply', { status: 'ok', response: {} }]);
        return;
      }
      if (event === 'phx_join') {
        const config = (payload.config ?? {}) as { private?: boolean };
        const isPrivate = config.private === true;
        const ok = !isPrivate || payload.access_token === serviceKey;
        joins.push({ topic, private: isPrivate, ok });
        if (!ok) {
          send(ws, [joinRef, ref, topic, 'phx_reply', { status: 'error', response: { reason: `Unauthorized: You do not have permissions to read from this Channel topic: ${topic}` } }]);
          return;
        }
        joined.push({ ws, joinRef, topic, private: isPrivate });
        send(ws, [joinRef, ref, topic, 'phx_reply', { status: 'ok', response: { postgres_changes: [] } }]);
        return;
      }
      if (event === 'phx_leave') {
        for (let i = joined.length - 1; i >= 0; i--) if (joined[i]!.ws === ws && joined[i]!.topic === topic) joined.splice(i, 1);
        send(ws, [joinRef, ref, topic, 'phx_reply', { status: 'ok', response: {} }]);
        return;
      }
      if (event === 'access_token') return;
      send(ws, [joinRef, ref, topic, 'phx_reply', { status: 'ok', response: {} }]);
    });
    ws.on('close', () => {
      for (let i = joined.length - 1; i >= 0; i--) if (joined[i]!.ws === ws) joined.splice(i, 1);
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  // Rows present before the server started were never ours to deliver (as with the WAL).
  const seen = new Set<string>((await sql`select id::text from realtime.messages`).map((r) => r.id as string));
  // One pump at a time, each starting after the previous: a caller's pump sees every row
  // committed before it was called.
  let chain: Promise<void> = Promise.resolve();
  async function pumpOnce(): Promise<void> {
    const rows = await sql`
      select id::text, topic, event, payload, private from realtime.messages
      where extension = 'broadcast' order by inserted_at, id`;
    for (const row of rows) {
      if (seen.has(row.id as string)) continue;
      seen.add(row.id as string);
      const topic = `realtime:${row.topic as string}`;
      for (const j of joined) {
        if (j.topic !== topic || (row.private === true && !j.private)) continue;
        delivered.push({ topic, event: row.event as string, payload: row.payload });
        send(j.ws, [j.joinRef, null, topic, 'broadcast', { type: 'broadcast', event: row.event as string, payload: row.payload as Record<string, unknown> }]);
      }
    }
  }
  const pump = () => {
    chain = chain.catch(() => {}).then(pumpOnce);
    return chain;
  };
  const timer = setInterval(() => void pump().catch(() => {}), opts.pollMs ?? 50);

  return {
    url: `http://127.0.0.1:${port}`,
    heartbeats: () => heartbeats,
    delivered: () => [...delivered],
    joins: () => [...joins],
    pump,
    async close() {
      clearInterval(timer);
      await chain.catch(() => {});
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
