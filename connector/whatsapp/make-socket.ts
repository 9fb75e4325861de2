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
      ...(config.qrTimeoutMs ? { qrTimeout: config.qrTimeoutMs } : {}),
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
