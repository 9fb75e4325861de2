// The outbound queue worker of one connector.
//
// The loop, in plain words:
//   claim     every poll interval (sooner when nudged by a wake-up or an opened socket, at once
//             again when a claim came back full or was nudged meanwhile, later after a failed one;
//             connector/poll-loop.ts): one gateway.claim_messages statement takes up
//             to claimBatch due rows of the sessions this connector holds whose socket is open
//             and whose lane has room (SKIP LOCKED, visibility timeout). A row we already hold
//             (its claim expired while queued and we took it again) is not queued twice.
//   look-ahead two or more recipients of one session in a claim that this connector has not
//             resolved yet are looked up together (numbers and LIDs, device lists, pre-keys of
//             new Signal sessions: recipients.ts lookAhead), once for all instead of once per
//             first message; their sends wait for it. Pacing is untouched: it only decides when
//             messages leave, and the look-ahead sends none.
//   lane      one per session, serial: the seeds' sending lock. It picks the first queued row
//             that pacing allows (session min interval + jitter, per-recipient interval; rows of
//             one recipient keep their order), resolves the recipient (onWhatsApp, LID), maps the
//             content, and calls sendMessage with the row's own WhatsApp id under a 30 s timeout.
//   outcome   sent = WhatsApp's server acknowledged the message id (Baileys' sendMessage resolves
//             when the bytes are written, which a dropped socket can still lose; no ack within
//             the send timeout → retry with the same id, which receivers dedupe) → complete
//             'sent' (base64 media stripped); a negative ack → failed with WhatsApp's code; a permanent problem → 'failed' with
//             a code and reason; anything else → 'retry' with exponential backoff (SQL fails it
//             after max_attempts). Written in order by the writer, batched.
//   give back a row not yet attempted when its socket is no longer open, when its claim would
//             expire before it could be sent, when our own clock says the session's lease may
//             have passed to another connector (an event-loop stall), or at shutdown is released
//             without counting the attempt (gateway.release_messages); a crash leaves it to the
//             visibility timeout.
//   fencing   every outcome and release names the session and our lease epoch for it (the one
//             we hold now, else the claim's); SQL refuses them once that lease is gone.
// `whenIdle(agentId)` lets restart/disconnect commands wait for the send in flight.
import type { WAMediaUploadFunction, WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { type Clock, systemClock } from '../clock.ts';
import { maskPhones } from '../logging/logger.ts';
import { createPollLoop } from '../poll-loop.ts';
import type { LiveSession, SessionDirectory } from '../sessions/context.ts';
import { claimMessages } from '../sql/messages.ts';
import { type ContentDeps, mapContent } from './content.ts';
import { ACK_ERRORS, permanent, SendError, transient } from './errors.ts';
import { serverAcks } from '../whatsapp/server-acks.ts';
import { Pacer, type PacingConfig } from './pacer.ts';
import { findTarget, lookAhead, type RecipientCache, recipientKey, resolveRecipient } from './recipients.ts';
import { openQueuedContent } from './content-at-rest.ts';
import type { Keyring } from '../../kernel/secret-box.ts';
import type { Completion, MessageWriter } from './writer.ts';

export interface OutboundConfig {
  claimBatch: number;
  /** Most content bytes in one claim (rows carry references, never media bytes). */
  claimMaxBytes: number;
  visibilitySeconds: number;
  pollIntervalMs: number;
  sendTimeoutMs: number;
  /** Most claimed rows waiting in one session's lane. */
  laneMax: number;
  pacing: PacingConfig;
  retryBaseMs: number;
  retryMaxMs: number;
  numberCheckTtlMs: number;
}

export const DEFAULT_OUTBOUND_CONFIG: OutboundConfig = {
  claimBatch: 50,
  claimMaxBytes: 1024 * 1024,
  visibilitySeconds: 120,
  pollIntervalMs: 1_000,
  sendTimeoutMs: 30_000,
  laneMax: 20,
  pacing: { minIntervalMs: 1_000, jitterMs: 1_000, recipientIntervalMs: 3_000, slowdownFactor: 4, slowdownMs: 600_000 },
  retryBaseMs: 5_000,
  retryMaxMs: 300_000,
  numberCheckTtlMs: 86_400_000,
};

export interface ClaimedMessage {
  id: string;
  agent_id: string;
  /** The lease epoch the row was claimed under (its writes' epoch when we no longer hold the session). */
  epoch: bigint;
  wa_message_id: string;
  recipient: string;
  type: string;
  content: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
  claimedAt: number;
}

export interface OutboundWorkerDeps {
  sql: Sql;
  connectorId: string;
  sessions: SessionDirectory;
  writer: MessageWriter;
  loadMedia: ContentDeps['loadMedia'];
  config?: Partial<OutboundConfig>;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
  /** Replaces WhatsApp's media upload (the simulator has no media servers). Tests only. */
  upload?: WAMediaUploadFunction;
  /** Send latency, claim to written (e.g. metrics.sendSeconds). */
  observeSendSeconds?: (seconds: number) => void;
  /** Opens the content of encrypted tenants (MESSAGE_CONTENT_*); unset when none is configured. */
  contentKeyring?: Keyring;
}

interface Lane {
  agentId: string;
  queue: ClaimedMessage[];
  pacer: Pacer;
  running: boolean;
  /** A disconnect/restart is waiting: start no new send until the socket opens again. */
  paused: boolean;
  inFlight: Promise<void> | undefined;
}

export interface OutboundWorker {
  start(): void;
  nudge(): void;
  /** Resolves when the session has no send in flight (false after timeoutMs). */
  whenIdle(agentId: string, timeoutMs?: number): Promise<boolean>;
  /** Before a disconnect/restart: start no new send for the session, give its queue back, wait for the one in flight (false after timeoutMs). */
  quiesce(agentId: string, timeoutMs: number): Promise<boolean>;
  /** The session's socket opened again: sends may start. */
  resume(agentId: string): void;
  /** True when this worker sent `waId` recently (for the message event handler). */
  isOurs(agentId: string, waId: string): boolean;
  /** A 463 for this session: slow it down. */
  restricted(agentId: string): void;
  slowed(agentId: string): boolean;
  /** Stop claiming, let in-flight sends finish, give back the rest, write everything. */
  drain(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(transient('send_timeout', `WhatsApp did not take the message within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createOutboundWorker(deps: OutboundWorkerDeps): OutboundWorker {
  const { sql, connectorId, sessions, writer, logger } = deps;
  const config: OutboundConfig = { ...DEFAULT_OUTBOUND_CONFIG, ...deps.config, pacing: { ...DEFAULT_OUTBOUND_CONFIG.pacing, ...deps.config?.pacing } };
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const log = logger.child({ module: 'outbound' });
  const lanes = new Map<string, Lane>();
  const held = new Map<string, ClaimedMessage>();
  const ours = new Map<string, Set<string>>();
  const numbers = new Map<string, { exists: boolean; at: number }>();
  const recipientCache: RecipientCache = { get: (k) => numbers.get(k), set: (k, v) => void numbers.set(k, v) };
  let stopping = false;

  const laneOf = (agentId: string): Lane => {
    let lane = lanes.get(agentId);
    if (!lane) {
      lane = { agentId, queue: [], pacer: new Pacer(config.pacing, random), running: false, paused: false, inFlight: undefined };
      lanes.set(agentId, lane);
    }
    return lane;
  };

  function remember(agentId: string, waId: string): void {
    const set = ours.get(agentId) ?? new Set<string>();
    ours.set(agentId, set);
    set.add(waId);
    if (set.size > 10_000) set.delete(set.values().next().value as string);
  }

  function retryDelaySeconds(attempts: number): number {
    const nominal = Math.min(config.retryMaxMs, config.retryBaseMs * 2 ** Math.max(0, attempts - 1));
    return (nominal / 2 + random() * (nominal / 2)) / 1000;
  }

  /**
   * The epoch a write about this row carries: that of the session we hold now (the row is locked
   * by us, so after losing and re-claiming the session ourselves it is still ours to finish), else
   * the one it was claimed under. SQL refuses either once the lease is someone else's.
   */
  function epochFor(row: ClaimedMessage): bigint {
    return sessions.get(row.agent_id)?.epoch() ?? row.epoch;
  }

  function release(row: ClaimedMessage): void {
    held.delete(row.id);
    writer.release(row.agent_id, epochFor(row), row.id);
  }

  function finish(row: ClaimedMessage, c: Completion): void {
    held.delete(row.id);
    writer.complete(row.agent_id, epochFor(row), c);
  }

  async function sendOne(session: LiveSession, sock: WASocket, row: ClaimedMessage): Promise<void> {
    const started = clock.monotonic();
    try {
      const pending = lookingAhead.get(recipientKey(row.agent_id, row.recipient));
      const jid = await resolveRecipient({ sock, agentId: row.agent_id, recipient: row.recipient, cache: recipientCache, ttlMs: config.numberCheckTtlMs, now: clock.monotonic(), ...(pending ? { pending } : {}) });
      const content = await openQueuedContent(deps.contentKeyring, row);
      const mapped = await mapContent(row.type, content, { loadMedia: deps.loadMedia, findTarget: (id) => findTarget(sql, row.agent_id, id, deps.contentKeyring) });
      if (!session.isOpen() || session.socket() !== sock) throw transient('connection_closed', 'the socket closed before the send');
      // After a stall longer than the lease (a GC pause, a stopped process) another connector may
      // own the session while this socket still looks open: the send would go out twice and its
      // Signal key writes be refused. Our own clock decides, before the bytes leave.
      if (!session.leaseFresh()) {
        log.warn({ messageId: row.id }, 'lease not fresh before the send; giving the message back unsent');
        release(row);
        return;
      }
      remember(row.agent_id, row.wa_message_id);
      const ack = serverAcks(sock).wait(row.wa_message_id);
      try {
        await withTimeout(
          (async () => {
            await sock.sendMessage(jid, mapped.content, { messageId: row.wa_message_id, ...(mapped.quoted ? { quoted: mapped.quoted } : {}), ...(deps.upload ? { upload: deps.upload } : {}) });
            const { error } = await ack.promise;
            if (error) throw permanent(error, ACK_ERRORS[error] ?? `WhatsApp refused the message (${error})`);
          })(),
          config.sendTimeoutMs,
        );
      } finally {
        ack.cancel();
      }
      finish(row, { id: row.id, outcome: 'sent', strip_media: mapped.usedInlineMedia });
      deps.observeSendSeconds?.((clock.monotonic() - row.claimedAt) / 1000);
      log.debug({ messageId: row.id, ms: Math.round(clock.monotonic() - started) }, 'sent');
    } catch (error) {
      const e = error instanceof SendError ? error : transient('send_failed', maskPhones(error instanceof Error ? error.message : String(error)));
      if (e.permanent) finish(row, { id: row.id, outcome: 'failed', error_code: e.code, error_message: e.message });
      else finish(row, { id: row.id, outcome: 'retry', error_code: e.code, error_message: e.message, retry_in_seconds: retryDelaySeconds(row.attempts) });
      log.info({ messageId: row.id, code: e.code, permanent: e.permanent, attempt: row.attempts, reason: e.message }, 'send did not succeed');
    }
  }

  async function runLane(lane: Lane): Promise<void> {
    if (lane.running) return;
    lane.running = true;
    try {
      while (lane.queue.length > 0 && !stopping) {
        const session = sessions.get(lane.agentId);
        const sock = session?.isOpen() ? session.socket() : undefined;
        if (!session || !sock || lane.paused) {
          for (const row of lane.queue.splice(0)) release(row);
          break;
        }
        const now = clock.monotonic();
        // Claims about to expire go back rather than race a re-claim.
        const deadline = (row: ClaimedMessage) => row.claimedAt + config.visibilitySeconds * 1000 - config.sendTimeoutMs - 5_000;
        for (const row of lane.queue.filter((r) => now > deadline(r))) {
          lane.queue.splice(lane.queue.indexOf(row), 1);
          release(row);
        }
        let pick = -1;
        let wait = Number.POSITIVE_INFINITY;
        const blocked = new Set<string>();
        for (let i = 0; i < lane.queue.length; i++) {
          const r = lane.queue[i]!;
          if (blocked.has(r.recipient)) continue; // keep each recipient's order
          const d = lane.pacer.delay(r.recipient, now);
          if (d <= 0) {
            pick = i;
            break;
          }
          blocked.add(r.recipient);
          wait = Math.min(wait, d);
        }
        if (pick < 0) {
          if (lane.queue.length > 0) await sleep(Math.min(wait, 250));
          continue;
        }
        const [row] = lane.queue.splice(pick, 1);
        lane.inFlight = sendOne(session, sock, row!);
        await lane.inFlight;
        lane.inFlight = undefined;
        lane.pacer.sent(row!.recipient, clock.monotonic());
      }
    } finally {
      lane.running = false;
      if (stopping) for (const row of lane.queue.splice(0)) release(row);
    }
    if (lane.queue.length > 0 && !stopping) void runLane(lane);
  }

  /** Recipients with a look-ahead in flight, by recipientKey. */
  const lookingAhead = new Map<string, Promise<void>>();

  /**
   * Per session, the phone-number recipients of a claim that this connector has not resolved yet
   * (no fresh positive answer, none in flight): when there are two or more, they are looked up
   * together (recipients.ts lookAhead) instead of one round trip each per first message. One alone
   * gains nothing from it; its send asks as before.
   */
  function lookAheadOf(claimed: Array<{ agentId: string; recipient: string }>, now: number): void {
    const byAgent = new Map<string, Set<string>>();
    for (const { agentId, recipient } of claimed) {
      if (recipient.includes('@')) continue;
      const key = recipientKey(agentId, recipient);
      const known = numbers.get(key);
      if (lookingAhead.has(key) || (known?.exists && now - known.at < config.numberCheckTtlMs)) continue;
      byAgent.set(agentId, (byAgent.get(agentId) ?? new Set()).add(recipient));
    }
    for (const [agentId, recipients] of byAgent) {
      if (recipients.size < 2) continue;
      const session = sessions.get(agentId);
      const sock = session?.isOpen() ? session.socket() : undefined;
      if (!sock) continue;
      const work = lookAhead({ sock, agentId, numbers: [...recipients], cache: recipientCache, now }).catch((error) => {
        log.info({ agentId, recipients: recipients.size, reason: maskPhones(error instanceof Error ? error.message : String(error)) }, 'look-ahead of new recipients failed; their sends ask one by one');
      });
      for (const recipient of recipients) {
        const key = recipientKey(agentId, recipient);
        lookingAhead.set(key, work);
        void work.finally(() => lookingAhead.delete(key));
      }
    }
  }

  async function claim(): Promise<number> {
    const open = sessions.open().filter((s) => s.isOpen() && !lanes.get(s.agentId)?.paused && (lanes.get(s.agentId)?.queue.length ?? 0) < config.laneMax);
    if (open.length === 0) return 0;
    const rows = await claimMessages(sql, { connector: connectorId, limit: config.claimBatch, visibilitySeconds: config.visibilitySeconds, agents: open.map((s) => s.agentId), maxBytes: config.claimMaxBytes });
    const now = clock.monotonic();
    // Before any lane starts on them: a send waits for its recipient's look-ahead rather than ask alone.
    lookAheadOf(rows.filter((r) => !held.has(r.id as string)).map((r) => ({ agentId: r.agent_id as string, recipient: r.recipient as string })), now);
    for (const r of rows) {
      const existing = held.get(r.id as string);
      if (existing) {
        existing.claimedAt = now; // claimed again by us: same row, fresh lock
        existing.attempts = r.attempts as number;
        continue;
      }
      const row: ClaimedMessage = {
        id: r.id as string,
        agent_id: r.agent_id as string,
        epoch: r.lease_epoch,
        wa_message_id: r.wa_message_id as string,
        recipient: r.recipient as string,
        type: r.type as string,
        content: r.content as Record<string, unknown>,
        attempts: r.attempts as number,
        max_attempts: r.max_attempts as number,
        claimedAt: now,
      };
      held.set(row.id, row);
      const lane = laneOf(row.agent_id);
      lane.queue.push(row);
      void runLane(lane);
    }
    return rows.length;
  }

  // A burst of wake-ups (one per queued message) coalesces into one claim.
  const loop = createPollLoop({ name: 'claiming messages', fetch: async () => (await claim()) >= config.claimBatch, intervalMs: config.pollIntervalMs, nudgeDelayMs: 10, logger: log });

  return {
    start: loop.start,
    nudge: loop.nudge,
    async whenIdle(agentId, timeoutMs = config.sendTimeoutMs) {
      const inFlight = lanes.get(agentId)?.inFlight;
      if (!inFlight) return true;
      return Promise.race([inFlight.then(() => true), sleep(timeoutMs).then(() => false)]);
    },
    async quiesce(agentId, timeoutMs) {
      const lane = laneOf(agentId);
      lane.paused = true;
      if (!lane.running) for (const row of lane.queue.splice(0)) release(row);
      const idle = await this.whenIdle(agentId, timeoutMs);
      await writer.flush();
      return idle;
    },
    resume(agentId) {
      const lane = lanes.get(agentId);
      if (lane) lane.paused = false;
    },
    isOurs: (agentId, waId) => ours.get(agentId)?.has(waId) ?? false,
    restricted(agentId) {
      laneOf(agentId).pacer.restricted(clock.monotonic());
    },
    slowed: (agentId) => lanes.get(agentId)?.pacer.slowed(clock.monotonic()) ?? false,
    async drain() {
      stopping = true;
      await loop.stop();
      // Running lanes finish their send in flight (at most the send timeout) and give back the
      // rest as they exit; idle lanes give theirs back now.
      for (const lane of lanes.values()) if (!lane.running) for (const row of lane.queue.splice(0)) release(row);
      while ([...lanes.values()].some((l) => l.running)) await sleep(20);
      await writer.flush();
    },
  };
}
