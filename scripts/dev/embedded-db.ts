/**
 * The embedded database of `npm start`: PGlite (PostgreSQL compiled to WASM, in this process)
 * with its data under .data/pglite, the same bootstrap and migrations as every other database,
 * served on a loopback port by pglite-socket so postgres.js clients connect as to any server.
 *
 * PGlite is one backend: clients must share ONE connection (postgres.js `max: 1`), because
 * interleaved extended-protocol messages from several connections break it, and a LISTEN
 * connection would get notifications only in the responses to its own statements (the backend
 * writes them to whichever client it is serving at the time). Wake-ups are read in
 * this process instead (`wakeups`): the backend LISTENs on the wake-up channel, and the bytes
 * pglite-socket streams back to clients are scanned for NotificationResponse messages. PGlite's
 * own `db.listen` is not enough: pglite-socket uses the raw protocol path, which bypasses the
 * parser that calls those listeners. Concurrency is real PostgreSQL's job (set DATABASE_URL);
 * this is for trying the gateway on one machine.
 *
 * Durability: a commit returns after its WAL record is written to the data directory's files
 * (synchronous_commit is on), so a killed process loses no committed transaction. Nothing is
 * fsynced (PGlite runs with fsync off, and its Node filesystem has no fsync), so a power loss or
 * an operating-system crash can lose recent commits or damage the data directory.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { type InProcessWakeFeed, WAKE_CHANNEL } from '../../connector/wakeups/wakeups.ts';
import { repoRoot } from '../db/migrate.ts';
import { freePort } from '../db/throwaway-cluster.ts';

export interface EmbeddedDatabase {
  url: string;
  applied: string[];
  /** Notifications on the wake-up channel, whichever client's statement raised them. */
  wakeups: InProcessWakeFeed;
  stop(): Promise<void>;
}

/**
 * Follows a backend message stream (type byte, int32 length, body) across chunks and hands each
 * NotificationResponse ('A': pid, channel, payload) to `onNotification`; other bodies are skipped
 * without copying.
 */
export function notificationScanner(onNotification: (channel: string, payload: string) => void): (chunk: Uint8Array) => void {
  let header = Buffer.alloc(0);
  let bodyLeft = 0;
  let body: Buffer[] | undefined;
  const emit = (parts: Buffer[]) => {
    const message = Buffer.concat(parts);
    const channelEnd = message.indexOf(0, 4);
    const payloadEnd = message.indexOf(0, channelEnd + 1);
    onNotification(message.toString('utf8', 4, channelEnd), message.toString('utf8', channelEnd + 1, payloadEnd));
  };
  return (chunk) => {
    let i = 0;
    while (i < chunk.length) {
      if (bodyLeft > 0) {
        const n = Math.min(bodyLeft, chunk.length - i);
        body?.push(Buffer.from(chunk.subarray(i, i + n)));
        bodyLeft -= n;
        i += n;
        if (bodyLeft === 0 && body) emit(body);
        continue;
      }
      if (header.length === 0 && chunk.length - i >= 5) {
        // The usual case, a whole header in the chunk: no copy.
        bodyLeft = ((chunk[i + 1]! << 24) | (chunk[i + 2]! << 16) | (chunk[i + 3]! << 8) | chunk[i + 4]!) - 4;
        body = chunk[i] === 0x41 ? [] : undefined;
        i += 5;
        if (bodyLeft === 0 && body) emit(body);
        continue;
      }
      const n = Math.min(5 - header.length, chunk.length - i);
      header = Buffer.concat([header, chunk.subarray(i, i + n)]);
      i += n;
      if (header.length < 5) break;
      bodyLeft = header.readInt32BE(1) - 4;
      body = header[0] === 0x41 ? [] : undefined;
      header = Buffer.alloc(0);
      if (bodyLeft === 0 && body) emit(body);
    }
  };
}

/** Taps what the socket server streams back to its clients; the stream itself is unchanged. */
function tapNotifications(db: PGlite, channel: string): InProcessWakeFeed {
  const listeners = new Set<(payload: string) => void>();
  const scan = notificationScanner((name, payload) => {
    if (name !== channel) return;
    // After the statement's response is handed over: a listener's queries queue behind it.
    for (const listener of listeners) queueMicrotask(() => listener(payload));
  });
  const raw = db.execProtocolRawStream.bind(db);
  db.execProtocolRawStream = (message, options) =>
    raw(message, {
      ...options,
      onRawData: (data) => {
        scan(data);
        options.onRawData(data);
      },
    });
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** Applies the bootstrap once and every migration not yet recorded, in file order. */
async function migrateEmbedded(db: PGlite): Promise<string[]> {
  await db.exec(readFileSync(path.join(repoRoot, 'supabase/bootstrap/plain-postgres.sql'), 'utf8'));
  await db.exec(`create schema if not exists supabase_migrations;
    create table if not exists supabase_migrations.schema_migrations (version text primary key, name text)`);
  const done = new Set((await db.query<{ version: string }>('select version from supabase_migrations.schema_migrations')).rows.map((r) => r.version));
  const applied: string[] = [];
  const dir = path.join(repoRoot, 'supabase/migrations');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.sql')).sort()) {
    const version = file.split('_')[0]!;
    if (done.has(version)) continue;
    await db.transaction(async (tx) => {
      await tx.exec(readFileSync(path.join(dir, file), 'utf8'));
      await tx.query('insert into supabase_migrations.schema_migrations (version, name) values ($1, $2)', [version, file]);
    });
    applied.push(file);
  }
  return applied;
}

export async function startEmbeddedDatabase(dataDir = path.join(repoRoot, '.data/pglite'), port?: number): Promise<EmbeddedDatabase> {
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir, extensions: { pgcrypto } });
  const applied = await migrateEmbedded(db);
  // One backend for every client: this LISTEN makes it send the trigger's notifications at all.
  await db.exec(`LISTEN ${WAKE_CHANNEL}`);
  const wakeups = tapNotifications(db, WAKE_CHANNEL);
  const listenPort = port ?? (await freePort());
  const server = new PGLiteSocketServer({ db, port: listenPort, host: '127.0.0.1', maxConnections: 8 });
  await server.start();
  return {
    url: `postgresql://postgres@127.0.0.1:${listenPort}/postgres`,
    applied,
    wakeups,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/** True when a database URL points at the embedded server (callers then use one connection). */
export function isEmbeddedUrl(url: string, embedded?: EmbeddedDatabase): boolean {
  return embedded !== undefined && url === embedded.url;
}
