// The Baileys adapter: builds a socket from the connector's config. Injected into createConnector
// as `makeSocket` so tests pass the real one (pointed at the simulator) and benches can tune it.
import makeWASocket, { type AuthenticationState, Browsers, type WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { ConnectorConfig } from '../config.ts';

export interface MakeSocketOptions {
  auth: AuthenticationState;
  /** Baileys' own logger (already scrubbed and at BAILEYS_LOG_LEVEL). */
  logger: Logger;
}

export type MakeSocket = (options: MakeSocketOptions) => WASocket;

export function createSocketFactory(config: ConnectorConfig['whatsapp']): MakeSocket {
  return ({ auth, logger }) =>
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
      // Messages are resent from our queue (with their ids), never from a Baileys cache.
      getMessage: async () => undefined,
    });
}
