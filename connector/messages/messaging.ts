// The message path of one connector, assembled: the ordered writer, the outbound worker, the
// per-socket message event handlers, and the webhook dispatcher, plus the hooks the session
// manager calls. `createMessagingExtension` adapts it to connector.ts's extension interface;
// tests call `createMessaging` with a SessionDirectory of their own.
import type { WAMediaUploadFunction, WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { MediaStore } from '../../kernel/media/store.ts';
import type { Keyring } from '../../kernel/secret-box.ts';
import { type Clock, systemClock } from '../clock.ts';
import type { MessagingConfig } from '../config.ts';
import type { ConnectorExtension, ExtensionFactory } from '../connector.ts';
import type { AddressPolicy } from '../net/address-policy.ts';
import { createUrlGuard, type UrlGuard } from '../net/guard.ts';
import { isStaleLease, type LiveSession, type SessionDirectory } from '../sessions/context.ts';
import { raiseSessionAlert } from '../sql/sessions.ts';
import type { Wake } from '../wakeups/wakeups.ts';
import { createWebhookDispatcher, type WebhookDispatcher } from '../webhooks/dispatcher.ts';
import { persistReceiptsFirst } from './durable-receipts.ts';
import { captureMessageEvents } from '../whatsapp/event-capture.ts';
import { holdInboundAcks } from './inbound-acks.ts';
import { createInboundStore, type InboundStore } from './inbound-store.ts';
import { createMediaLoader } from './media.ts';
import { deleteUnusedMedia } from './media-retention.ts';
import { createNumberCheckWorker, type NumberCheckWorker } from './number-checks.ts';
import { observeSendOutcomes, type SendOutcomeObserver } from './observed-writer.ts';
import { createOutboundWorker, type OutboundWorker } from './outbound-worker.ts';
import { attachMessageEvents } from './session-events.ts';
import { createMessageWriter, type MessageWriter } from './writer.ts';

export interface MessagingDeps {
  sql: Sql;
  connectorId: string;
  directory: SessionDirectory;
  /** Opens webhook signing secrets (WEBHOOK_SECRETS_*); never the credentials keyring. */
  webhookKeyring: Keyring;
  /** Message content of encrypted tenants (MESSAGE_CONTENT_*); unset when none is configured. */
  contentKeyring?: Keyring;
  config: MessagingConfig;
  logger: Logger;
  clock?: Clock;
  /** Tests only: lets guards reach receivers and media servers on 127.0.0.1. */
  addressPolicy?: AddressPolicy;
  /** Tests only: media upload stand-in (the simulator has no media servers). */
  upload?: WAMediaUploadFunction;
  /** Where uploads are (connector/main.ts: MEDIA_STORE); read at send time, cleaned by retention. */
  mediaStore?: MediaStore;
  observeSendSeconds?: (seconds: number) => void;
  observeSendOutcome?: SendOutcomeObserver;
  observeWebhookOutcome?: (outcome: 'delivered' | 'retry' | 'dead') => void;
  /** How long a graceful stop waits for inbound writes in flight (default 10 s). */
  inboundDrainMs?: number;
}

export interface Messaging
  extends Required<Pick<ConnectorExtension, 'onSocketCreated' | 'beforeSocketEnd' | 'onSocketOpen' | 'onSocketClose' | 'onWake' | 'drain' | 'beforeRelease' | 'stop'>> {
  worker: OutboundWorker;
  inbound: InboundStore;
  writer: MessageWriter;
  dispatcher: WebhookDispatcher | undefined;
  numberChecks: NumberCheckWorker;
  start(): void;
}

export function createMessaging(deps: MessagingDeps): Messaging {
  const { sql, connectorId, config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const log = logger.child({ module: 'messages' });
  const guard = (allowHttp: boolean, timeoutMs: number): UrlGuard => createUrlGuard({ allowHttp, timeoutMs, addressPolicy: deps.addressPolicy });

  const dispatcher = config.webhooks.enabled
    ? createWebhookDispatcher({ sql, connectorId, keyring: deps.webhookKeyring, contentKeyring: deps.contentKeyring, guard: guard(config.webhooks.allowHttp, config.webhooks.timeoutMs), config: config.webhooks, logger, clock, onOutcome: deps.observeWebhookOutcome })
    : undefined;
  const writer = createMessageWriter({ sql, connectorId, logger: log, onWritten: () => dispatcher?.nudge() });
  const inbound = createInboundStore({ logger: log, onStored: () => dispatcher?.nudge(), contentKeyring: deps.contentKeyring });
  const worker = createOutboundWorker({
    sql,
    connectorId,
    sessions: deps.directory,
    writer: observeSendOutcomes(writer, deps.observeSendOutcome),
    loadMedia: createMediaLoader({ guard: guard(config.media.allowHttp, config.media.timeoutMs), maxBytes: config.media.maxBytes, timeoutMs: config.media.timeoutMs, store: deps.mediaStore }),
    config: config.outbound,
    logger,
    clock,
    upload: deps.upload,
    observeSendSeconds: deps.observeSendSeconds,
    contentKeyring: deps.contentKeyring,
  });

  const numberChecks = createNumberCheckWorker({
    sql,
    connectorId,
    sessions: deps.directory,
    config: { pollIntervalMs: Math.max(1_000, config.outbound.pollIntervalMs), visibilitySeconds: 60, queryTimeoutMs: config.outbound.sendTimeoutMs },
    logger,
  });

  const lastAlert = new Map<string, number>();
  function onRestricted(session: LiveSession, waId: string): void {
    worker.restricted(session.agentId);
    const now = clock.monotonic();
    // One event per session per minute is enough to tell the owner; every 463 still slows it.
    if (now - (lastAlert.get(session.agentId) ?? Number.NEGATIVE_INFINITY) < 60_000) return;
    lastAlert.set(session.agentId, now);
    const payload = { code: 463, wa_message_id: waId, slowdown_factor: config.outbound.pacing.slowdownFactor, slowdown_seconds: config.outbound.pacing.slowdownMs / 1000 };
    void raiseSessionAlert(sql, { agent: session.agentId, connector: session.connectorId, epoch: session.epoch(), type: 'session.restricted', severity: 'warning', payload })
      .then(() => dispatcher?.nudge())
      .catch((error) => {
        if (!isStaleLease(error)) log.error({ err: error, agentId: session.agentId }, 'raising session.restricted failed');
      });
    log.warn({ agentId: session.agentId }, 'WhatsApp answered 463 (restricted); slowing the session down');
  }

  let mediaTimer: NodeJS.Timeout | undefined;
  let mediaRun: Promise<unknown> = Promise.resolve();
  function scheduleMediaRetention(): void {
    const store = deps.mediaStore;
    if (!store) return;
    mediaTimer = setInterval(() => {
      mediaRun = deleteUnusedMedia(sql, store, { graceSeconds: config.media.retentionGraceSeconds, limit: 500 })
        .then((r) => r.deleted > 0 && log.info({ deleted: r.deleted }, 'unused media deleted from the media store'))
        .catch((error) => log.error({ err: error }, 'media retention failed'));
    }, config.media.retentionIntervalMs);
    mediaTimer.unref();
  }

  const attached = new Map<string, () => void>();
  const sockets = new Map<string, WASocket>();
  const hooked = new WeakSet<WASocket>();
  let started = false;

  return {
    worker,
    inbound,
    writer,
    dispatcher,
    numberChecks,
    start() {
      if (started) return;
      started = true;
      worker.start();
      numberChecks.start();
      scheduleMediaRetention();
      dispatcher?.start();
    },
    onSocketCreated(session, sock) {
      // The offline queue arrives right after login, before onSocketOpen: record it from here.
      captureMessageEvents(sock);
      persistReceiptsFirst(session, sock, writer, log);
      holdInboundAcks(sock, log.child({ agentId: session.agentId }));
      hooked.add(sock);
      sockets.set(session.agentId, sock);
    },
    async beforeSocketEnd(session, force) {
      await worker.quiesce(session.agentId, force ? 0 : config.outbound.sendTimeoutMs);
    },
    onSocketOpen(session) {
      worker.resume(session.agentId);
      attached.get(session.agentId)?.();
      attached.set(
        session.agentId,
        attachMessageEvents(session, { writer, logger: log, isOurs: worker.isOurs, onRestricted, inbound, sendReadReceipts: config.sendReadReceipts, receiptsPersisted: hooked.has(session.socket() as WASocket) }),
      );
      worker.nudge();
      numberChecks.nudge();
    },
    onSocketClose(session) {
      // Events Baileys is still buffering (it buffers while it works through the offline queue)
      // would be dropped when the socket ends; deliver them to the handlers first.
      sockets.get(session.agentId)?.ev.flush();
      attached.get(session.agentId)?.();
      attached.delete(session.agentId);
    },
    onWake(wake: Wake) {
      if (wake.kind === 'message' || wake.kind === 'resubscribed') worker.nudge();
      if (wake.kind === 'number_check' || wake.kind === 'resubscribed') numberChecks.nudge();
    },
    async drain() {
      if (mediaTimer) clearInterval(mediaTimer);
      await Promise.all([worker.drain(), numberChecks.stop(), mediaRun]);
      await dispatcher?.stop();
    },
    async beforeRelease(agentIds) {
      // Sockets have ended (their buffered upserts were handed on): let those writes commit
      // under the lease still held. What does not commit in time was never acknowledged to
      // WhatsApp, which offers it again to the next owner. A hand-over waits for its own only.
      if (!agentIds && inbound.inFlight() > 0) log.info({ inFlight: inbound.inFlight() }, 'waiting for inbound writes before releasing leases');
      const drained = await inbound.drain(deps.inboundDrainMs ?? 10_000, agentIds);
      if (!drained) log.warn({ inFlight: inbound.inFlight() }, 'inbound writes still in flight at stop; WhatsApp will deliver those messages again');
    },
    async stop() {
      for (const detach of attached.values()) detach();
      attached.clear();
      await writer.flush();
    },
  };
}

/**
 * The message path as a connector extension (connector/compose.ts adds it). Its settings are the
 * connector config's `messaging` unless `config` is given.
 */
export function createMessagingExtension(
  options: { config?: MessagingConfig; addressPolicy?: AddressPolicy; upload?: WAMediaUploadFunction; mediaStore?: MediaStore } = {},
): ExtensionFactory {
  return (ctx) => {
    const messaging = createMessaging({
      sql: ctx.sql,
      connectorId: ctx.config.connectorId,
      directory: ctx.directory,
      webhookKeyring: ctx.config.webhookKeyring,
      contentKeyring: ctx.config.contentKeyring,
      config: options.config ?? ctx.config.messaging,
      logger: ctx.logger,
      clock: ctx.clock,
      addressPolicy: options.addressPolicy,
      upload: options.upload,
      mediaStore: options.mediaStore,
      observeSendSeconds: (s) => ctx.metrics.sendSeconds.observe(s),
      observeSendOutcome: ctx.metrics.sendOutcome,
      observeWebhookOutcome: (outcome) => ctx.metrics.webhookDeliveries.inc({ outcome }),
      inboundDrainMs: ctx.config.shutdownGraceMs,
    });
    messaging.start();
    return messaging;
  };
}
