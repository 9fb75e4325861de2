// Wake-ups: latency hints only. The periodic sweep always runs; a wake-up just runs it sooner.
//   - Supabase Realtime (supabase-js, `ws` transport for Node 20) when SUPABASE_URL and a secret
//     key are configured: the private broadcast topic `wa-gateway:connector`, event `wake`,
//     payload {"agent_id", "kind"}, sent by the database (realtime.send in a trigger).
//   - An in-process feed of the same payloads when the database runs in this process (the
//     embedded PGlite of `npm start`: scripts/dev/embedded-db.ts reads its notifications).
//   - Otherwise Postgres LISTEN on channel `wa_gateway_wake` over the direct connection
//     (payload `<agent_id>` for a session change, `<agent_id>:message` for a new message,
//     `<agent_id>:number_check` for a new number check).
// Both come from one trigger function (private.wake_connectors) and fire only for a new session,
// a change of desired state, command or link request, a new message or a new number check.
// Every (re)subscription triggers a sweep, since changes made while we were away were missed.
import type { Logger } from 'pino';
import type { Sql } from 'postgres';

export const WAKE_CHANNEL = 'wa_gateway_wake';

export interface Wake {
  agentId?: string;
  kind: 'session' | 'message' | 'number_check' | 'resubscribed';
}

export type WakeListener = (wake: Wake) => void;

export interface WakeupSource {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function parseWakePayload(payload: string): Wake {
  const [agentId, kind] = payload.split(':');
  return { agentId: agentId || undefined, kind: kind === 'message' || kind === 'number_check' ? kind : 'session' };
}

export function createListenWakeups(sql: Sql, logger: Logger, onWake: WakeListener): WakeupSource {
  let unlisten: (() => Promise<void>) | undefined;
  return {
    async start() {
      const meta = await sql.listen(
        WAKE_CHANNEL,
        (payload) => onWake(parseWakePayload(payload)),
        // Called on the first listen and after every reconnect of the listening connection.
        () => {
          logger.debug('LISTEN wa_gateway_wake (re)established');
          onWake({ kind: 'resubscribed' });
        },
      );
      unlisten = meta.unlisten;
    },
    async stop() {
      await unlisten?.().catch(() => {});
    },
  };
}

/** Notifications on WAKE_CHANNEL from a database in this process; returns the unsubscribe. */
export interface InProcessWakeFeed {
  subscribe(listener: (payload: string) => void): () => void;
}

export function createInProcessWakeups(feed: InProcessWakeFeed, logger: Logger, onWake: WakeListener): WakeupSource {
  let unsubscribe: (() => void) | undefined;
  return {
    async start() {
      unsubscribe = feed.subscribe((payload) => onWake(parseWakePayload(payload)));
      logger.debug('in-process wake-ups subscribed');
      onWake({ kind: 'resubscribed' });
    },
    async stop() {
      unsubscribe?.();
    },
  };
}

/** The private Realtime topic the wake-up trigger broadcasts to (`realtime.send`, event `wake`). */
export const WAKE_TOPIC = 'wa-gateway:connector';
export const WAKE_EVENT = 'wake';

/** The piece of supabase-js we use, so tests can point a real client at a fake Realtime server. */
export interface RealtimeClientLike {
  channel(name: string, opts: { config: { private: boolean } }): RealtimeChannelLike;
  removeAllChannels(): Promise<unknown>;
  /** Sets the access token a private channel's join carries (the secret key, i.e. the service role). */
  realtime: { setAuth(token?: string | null): Promise<void> };
}
export interface RealtimeChannelLike {
  on(type: 'broadcast', filter: { event: string }, callback: (message: { payload?: Record<string, unknown> }) => void): RealtimeChannelLike;
  subscribe(callback: (status: string, error?: Error) => void): unknown;
}

/** A broadcast of the wake-up trigger: {"agent_id", "kind"}; anything else is a plain sweep. */
export function parseWakeBroadcast(payload: Record<string, unknown> | undefined): Wake {
  const agentId = typeof payload?.agent_id === 'string' ? payload.agent_id : undefined;
  const kind = payload?.kind === 'message' || payload?.kind === 'number_check' ? payload.kind : 'session';
  return { agentId, kind };
}

/**
 * Broadcast from the database on a private channel: the trigger of migration 20261202050400 sends
 * only changes a connector must act on (desired state, command, link request, a new message or
 * number check), never lease renewals, so connectors do not wake each other in a loop.
 */
export function createRealtimeWakeups(client: RealtimeClientLike, logger: Logger, onWake: WakeListener): WakeupSource {
  return {
    async start() {
      await client.realtime.setAuth();
      client
        .channel(WAKE_TOPIC, { config: { private: true } })
        .on('broadcast', { event: WAKE_EVENT }, (message) => onWake(parseWakeBroadcast(message.payload)))
        .subscribe((status, error) => {
          if (status === 'SUBSCRIBED') onWake({ kind: 'resubscribed' });
          else if (status !== 'CLOSED') logger.warn({ status, err: error }, 'realtime channel problem; sweeping still runs');
        });
    },
    async stop() {
      await client.removeAllChannels();
    },
  };
}

export async function createSupabaseRealtimeClient(url: string, key: string, options: { heartbeatIntervalMs?: number } = {}): Promise<RealtimeClientLike> {
  const [{ createClient }, { default: WebSocket }] = await Promise.all([import('@supabase/supabase-js'), import('ws')]);
  // Node 20 has no global WebSocket: realtime-js needs the `ws` transport.
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: WebSocket as never, ...(options.heartbeatIntervalMs ? { heartbeatIntervalMs: options.heartbeatIntervalMs } : {}) },
  }) as unknown as RealtimeClientLike;
}
