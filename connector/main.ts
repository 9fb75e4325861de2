// npm run connector — the long-lived connector process.
// Order matters: console scrub first (libsignal prints key material with console.*), then the
// certificate verification shim before any Baileys socket exists, then config (a bad variable
// stops the process with its name), then everything else, built by compose.ts.
import { composeConnector } from './compose.ts';
import { type ConnectorConfig, ConfigError, loadConfig } from './config.ts';
import { mediaStoreFromEnv } from '../kernel/media/config.ts';
import type { MediaStore } from '../kernel/media/store.ts';
import { installConsoleScrub } from './logging/console-scrub.ts';
import { createLogger } from './logging/logger.ts';
import { installCertificateVerification } from './whatsapp/verified-certificates.ts';

const bootLogger = createLogger({ level: process.env.LOG_LEVEL || 'info' });
installConsoleScrub(bootLogger.child({ module: 'console' }));

let config: ConnectorConfig;
let mediaStore: MediaStore;
try {
  config = await loadConfig(process.env);
  mediaStore = await mediaStoreFromEnv(process.env);
} catch (error) {
  const message = error instanceof ConfigError ? error.message : String(error);
  bootLogger.fatal({ variable: (error as ConfigError).variable }, `configuration error: ${message}`);
  process.exit(78); // EX_CONFIG
}
installCertificateVerification();

const composed = composeConnector(config, { serveHttp: true, mediaStore });
const { logger } = composed;

try {
  await composed.start();
} catch (error) {
  if (error instanceof ConfigError) {
    logger.fatal({ variable: error.variable }, `configuration error: ${error.message}`);
    process.exit(78); // EX_CONFIG
  }
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
    await composed.stop();
    process.exit(0);
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('unhandledRejection', (error) => logger.error({ err: error }, 'unhandled rejection'));
