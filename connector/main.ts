// npm run connector — the long-lived connector process.
// Order matters: console scrub first (libsignal prints key material with console.*), then the
// certificate verification shim before any Baileys socket exists, then config (a bad variable
// stops the process with its name), then the database, the connector and the HTTP endpoints.
import postgres from 'postgres';
import { createConnector, type ExtensionFactory } from './connector.ts';
import { ConfigError, loadConfig } from './config.ts';
import { PRIVATE_URLS_ALLOWED } from '../kernel/address-policy.ts';
import { mediaStoreFromEnv } from '../kernel/media/config.ts';
import { PRIVATE_URLS_VARIABLE, PRIVATE_URLS_WARNING } from '../kernel/private-urls.ts';
import type { MediaStore } from '../kernel/media/store.ts';
import { installConsoleScrub } from './logging/console-scrub.ts';
import { loadMessagingConfig, type MessagingConfig } from './messages/config.ts';
import { createMessagingExtension } from './messages/messaging.ts';
import { createLogger } from './logging/logger.ts';
import { startHttpServer } from './http/server.ts';
import { createMetrics } from './metrics.ts';
import { installCertificateVerification } from './whatsapp/verified-certificates.ts';

const bootLogger = createLogger({ level: process.env.LOG_LEVEL || 'info' });
installConsoleScrub(bootLogger.child({ module: 'console' }));

let config: Awaited<ReturnType<typeof loadConfig>>;
let messagingConfig: MessagingConfig;
let mediaStore: MediaStore;
try {
  config = await loadConfig(process.env);
  messagingConfig = loadMessagingConfig(process.env);
  mediaStore = await mediaStoreFromEnv(process.env);
} catch (error) {
  const message = error instanceof ConfigError ? error.message : String(error);
  bootLogger.fatal({ variable: (error as ConfigError).variable }, `configuration error: ${message}`);
  process.exit(78); // EX_CONFIG
}

const logger = createLogger({ level: config.logLevel }).child({ connectorId: config.connectorId });
if (config.allowPrivateUrls) logger.warn({ variable: PRIVATE_URLS_VARIABLE }, PRIVATE_URLS_WARNING);
const baileysLogger = createLogger({ level: config.baileysLogLevel, name: 'baileys', keyMaterial: true });
installCertificateVerification();

const sql = postgres(config.databaseUrl, { max: config.dbPool, onnotice: () => {}, connection: { application_name: 'wa-connector' } });
const metrics = createMetrics({ defaultMetrics: true });
// The message path (outbound queue, status, inbound) and the webhook dispatcher plug in here.
const addressPolicy = config.allowPrivateUrls ? PRIVATE_URLS_ALLOWED : undefined;
const extensions: ExtensionFactory[] = [createMessagingExtension({ config: messagingConfig, mediaStore, addressPolicy })];
const connector = createConnector({ sql, config, logger, baileysLogger, metrics, extensions });
const http = await startHttpServer({ registry: metrics.registry, ready: () => connector.ready() }, config.http.port, config.http.host);
logger.info({ url: http.url }, 'health and metrics endpoints listening');

try {
  await connector.start();
} catch (error) {
  logger.fatal({ err: error }, 'connector failed to start');
  process.exit(1);
}

let shuttingDown = false;
async function shutdown(signal: string): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  logger.info({ signal }, 'shutting down gracefully');
  const hardStop = setTimeout(() => {
    logger.error('graceful shutdown took too long; exiting');
    process.exit(1);
  }, config.shutdownGraceMs + 15_000);
  hardStop.unref();
  try {
    await connector.stop();
    await http.close();
    await sql.end({ timeout: 5 });
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('unhandledRejection', (error) => logger.error({ err: error }, 'unhandled rejection'));
