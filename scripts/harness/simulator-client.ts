// Test-side Baileys sockets pointed at the simulator: in-memory auth state, silent logger, no
// history sync, real certificate verification, and helpers to wait for connection updates and
// message status.
import makeWASocket, {
  type AuthenticationState,
  type ConnectionState,
  initAuthCreds,
  type proto,
  type WAMessageKey,
  type WASocket,
} from '@whiskeysockets/baileys';
import { pino } from 'pino';
import type { MakeSocket } from '../../connector/whatsapp/make-socket.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import { makeMemoryKeyStore } from '../../simulator/memory-key-store.ts';
import type { LinkedAccount, Simulator } from '../../simulator/server.ts';

export function makeTestAuthState(): AuthenticationState {
  return { creds: initAuthCreds(), keys: makeMemoryKeyStore() };
}

export interface ClientOptions {
  /** Leave Baileys' default history-sync policy on (tests default to shouldSyncHistoryMessage: () => false). */
  syncHistory?: boolean;
  keepAliveIntervalMs?: number;
  connectTimeoutMs?: number;
  /** Baileys' getMessage (answers retry receipts); by default nothing is found. */
  getMessage?: (key: WAMessageKey) => Promise<proto.IMessage | undefined>;
  /** Build the socket with the connector's own factory (connector/whatsapp/make-socket.ts) instead. */
  makeSocket?: MakeSocket;
}

// Test sockets verify signatures as the connector's do, so a test trusting the wrong root fails.
installCertificateVerification();

const openSockets = new Set<WASocket>();

export function connectClient(sim: Pick<Simulator, 'url'>, auth: AuthenticationState, opts: ClientOptions = {}): WASocket {
  const logger = pino({ level: 'silent' });
  const sock = opts.makeSocket ? opts.makeSocket({ auth, logger, getMessage: opts.getMessage }) : makeWASocket({
    waWebSocketUrl: sim.url,
    auth,
    logger,
    ...(opts.syncHistory ? {} : { shouldSyncHistoryMessage: () => false }),
    markOnlineOnConnect: false,
    keepAliveIntervalMs: opts.keepAliveIntervalMs ?? 20_000,
    connectTimeoutMs: opts.connectTimeoutMs ?? 20_000,
    getMessage: opts.getMessage ?? (async () => undefined),
  });
  openSockets.add(sock);
  return sock;
}

/** End every socket this helper created (call in afterEach/afterAll). */
export function endAllClients(): void {
  for (const sock of openSockets) sock.end(undefined);
  openSockets.clear();
}

/** Resolves with the first connection.update for which `match` returns true. */
export function waitForUpdate(
  sock: WASocket,
  match: (update: Partial<ConnectionState>) => boolean,
  timeoutMs = 20_000,
): Promise<Partial<ConnectionState>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out waiting for connection.update')), timeoutMs);
    const listener = (update: Partial<ConnectionState>) => {
      if (!match(update)) return;
      clearTimeout(timer);
      sock.ev.off('connection.update', listener);
      resolve(update);
    };
    sock.ev.on('connection.update', listener);
  });
}

export const waitForQr = async (sock: WASocket) => (await waitForUpdate(sock, (u) => !!u.qr)).qr as string;
export const waitForOpen = (sock: WASocket, timeoutMs?: number) => waitForUpdate(sock, (u) => u.connection === 'open', timeoutMs);

/** Resolves with the status code of the close (Boom output.statusCode), and the error. */
export async function waitForClose(sock: WASocket, timeoutMs?: number): Promise<{ statusCode: number | undefined; error: Error | undefined }> {
  const update = await waitForUpdate(sock, (u) => u.connection === 'close', timeoutMs);
  const error = update.lastDisconnect?.error as (Error & { output?: { statusCode?: number } }) | undefined;
  return { statusCode: error?.output?.statusCode, error };
}

/** QR → scan → 515 → reconnect with the linked creds → open. */
export async function linkAccount(
  sim: Simulator,
  phone?: string,
  opts: ClientOptions = {},
): Promise<{ sock: WASocket; auth: AuthenticationState; account: LinkedAccount }> {
  const auth = makeTestAuthState();
  const first = connectClient(sim, auth, opts);
  const qr = await waitForQr(first);
  const closed = waitForClose(first);
  const account = await sim.scan(qr, { phone });
  const { statusCode } = await closed;
  if (statusCode !== 515) throw new Error(`expected restart 515 after pairing, got ${statusCode}`);
  const sock = connectClient(sim, auth, opts);
  await waitForOpen(sock);
  return { sock, auth, account };
}

/**
 * Tracks the status of own messages as the monotonic maximum over messages.upsert and
 * messages.update (Baileys merges early updates into the upsert). ERROR (0) is kept apart.
 */
export function trackStatuses(sock: WASocket) {
  const best = new Map<string, number>();
  const errors = new Map<string, unknown[]>();
  const note = (id: string | null | undefined, status: number | null | undefined, params?: unknown[] | null) => {
    if (!id || status === null || status === undefined) return;
    if (status === 0) errors.set(id, params ?? []);
    else best.set(id, Math.max(best.get(id) ?? 0, status));
  };
  sock.ev.on('messages.upsert', ({ messages }) => {
    for (const m of messages) if (m.key.fromMe) note(m.key.id, m.status as number | undefined, m.messageStubParameters);
  });
  sock.ev.on('messages.update', (updates) => {
    for (const u of updates) note(u.key.id, u.update.status as number | undefined, u.update.messageStubParameters);
  });
  return {
    status: (id: string) => best.get(id) ?? 0,
    error: (id: string) => errors.get(id),
  };
}
