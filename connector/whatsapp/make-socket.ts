// The Baileys adapter: builds a socket from the connector's config. Injected into createConnector
// as `makeSocket` so tests pass the real one (pointed at the simulator) and benches can tune it.
import makeWASocket, { type AuthenticationState, Browsers, type proto, type WAMessageKey, type WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { ConnectorConfig } from '../config.ts';

export interface MakeSocketOptions {
  auth: AuthenticationState;
  /** Baileys' own logger (already scrubbed and at BAILEYS_LOG_LEVEL). */
  logger: Logger;
  /** Content of one of our sent messages, for re-sending it to a device that asked (retry receipt). */
  getMessage?: (key: WAMessageKey) => Promise<proto.IMessage | undefined>;
}

export type MakeSocket = (options: MakeSocketOptions) => WASocket;

/** How often a WhatsApp phone asks again (retry receipt) for one message it cannot decrypt. */
export const PHONE_RETRY_RECEIPTS = 5;

/**
 * Baileys' maxMsgRetryCount for our sockets. Baileys internal (Socket/messages-recv.js, rc14):
 * each retry receipt for one of our messages is counted twice against it (handleReceipt, then
 * sendMessagesAgain), so with its default of 5 the third request of a phone is acknowledged and
 * never answered, and the message stays undelivered for good (the crash test's rows stuck in
 * `sent`). Twice the phone's limit answers every request. It also bounds the retry receipts we
 * send for one inbound message per socket (10 instead of 5); the sender stops after its own limit.
 */
export const MAX_MSG_RETRY_COUNT = 2 * PHONE_RETRY_RECEIPTS;

/** How long each QR code is shown: the link attempt's window (WA_QR_TIMEOUT_MS) shared by its WA_QR_MAX codes. */
export function qrCodeLifetimeMs(config: Pick<ConnectorConfig['whatsapp'], 'qrTimeoutMs' | 'qrMax'>): number {
  return Math.ceil(config.qrTimeoutMs / config.qrMax);
}

export function createSocketFactory(config: ConnectorConfig['whatsapp']): MakeSocket {
  return ({ auth, logger, getMessage }) =>
    makeWASocket({
      auth,
      logger,
      version: config.version,
      browser: Browsers.ubuntu('Chrome'),
      ...(config.websocketUrl ? { waWebSocketUrl: config.websocketUrl } : {}),
      keepAliveIntervalMs: config.keepAliveMs,
      connectTimeoutMs: config.connectTimeoutMs,
      defaultQueryTimeoutMs: config.queryTimeoutMs,
      // Baileys' qrTimeout is the life of each code (its default: 60 s, then 20 s), not a deadline;
      // the session enforces the attempt's overall deadline (connector/sessions/session.ts).
      qrTimeout: qrCodeLifetimeMs(config),
      retryRequestDelayMs: config.retryRequestDelayMs,
      maxMsgRetryCount: MAX_MSG_RETRY_COUNT,
      ...(config.syncHistory ? {} : { shouldSyncHistoryMessage: () => false }),
      markOnlineOnConnect: false,
      printQRInTerminal: false,
      // Our queue is the message store (connector/whatsapp/stored-messages.ts).
      getMessage: getMessage ?? (async () => undefined),
    });
}

/** Whether the socket's WebSocket is open right now (it can be dead before Baileys reports a close). */
export function isSocketOpen(sock: WASocket): boolean {
  return sock.ws.isOpen === true;
}
