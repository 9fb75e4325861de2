// Wake-ups: latency hints only. The periodic sweep always runs; a wake-up just runs it sooner.
//   - Supabase Realtime (supabase-js, `ws` transport for Node 20) when SUPABASE_URL and a secret
//     key are configured: postgres_changes on whatsapp_sessions and messages inserts.
//   - Otherwise Postgres LISTEN on channel `wa_gateway_wake` over the direct connection
//     (payload `<agent_id>` for a session change, `<agent_id>:message` for a new message,
//     `<agent_id>:number_check` for a new number check).
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

/** The piece of supabase-js we use, so the Realtime path can be tested without hosted Supabase. */
export interface RealtimeClientLike {
  channel(name: string): RealtimeChannelLike;
  removeAllChannels(): Promise<unknown>;
}
export interface RealtimeChannelLike {
  on(type: 'postgres_changes', filter: Record<string, string>, callback: (payload: { new?: Record<string, unknown> }) => void): RealtimeChannelLike;
  subscribe(callback: (status: string, error?: Error) => void): unknown;
}

export function createRealtimeWakeups(client: RealtimeClientLike, logger: Logger, onWake: WakeListener): WakeupSource {
  return {
    async start() {
      const agentOf = (payload: { new?: Record<string, unknown> }) => (payload.new?.agent_id as string | undefined) ?? undefined;
      client
        .channel('wa-gateway-connector')
        .on('postgres_changes', { event: '*', schema: 'public', table: 'whatsapp_sessions' }, (p) =>
          onWake({ agentId: agentOf(p), kind: 'session' }),
        )
        .on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'messages' }, (p) =>
          onWake({ agentId: agentOf(p), kind: 'message' }),
        )
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

export async function createSupabaseRealtimeClient(url: string, key: string): Promise<RealtimeClientLike> {
  const [{ createClient }, { default: WebSocket }] = await Promise.all([import('@supabase/supabase-js'), import('ws')]);
  // Node 20 has no global WebSocket: realtime-js needs the `ws` transport.
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: WebSocket as never },
  }) as unknown as RealtimeClientLike;
}
