// The connector's composition root: everything one connector is made of, built in one place from
// its config — the Postgres pool, the loggers, the metrics, the session manager with its wake-ups
// and jobs (connector.ts), the message path and webhook dispatcher (an extension), alerts by
// email (an extension, with ALERT_SMTP_URL), and the health/metrics HTTP server.
// connector/main.ts, the `npm start` stack and the test harness all start connectors through it,
// so the startup and shutdown sequence is written once.
//
// Process-wide set-up stays with the process: the console scrub and the certificate verification
// shim (main.ts, scripts/dev/start.ts) are installed before this runs.
import type { WAMediaUploadFunction } from '@whiskeysockets/baileys';
import type { DestinationStream, Logger } from 'pino';
import postgres, { type Sql } from 'postgres';
import { PRIVATE_URLS_ALLOWED } from '../kernel/address-policy.ts';
import type { MediaStore } from '../kernel/media/store.ts';
import { PRIVATE_URLS_VARIABLE, PRIVATE_URLS_WARNING } from '../kernel/private-urls.ts';
import { createAlertEmailExtension } from './alerts/email.ts';
import type { ConnectorConfig } from './config.ts';
import { type Connector, createConnector, type ExtensionFactory, type WakeupsChoice } from './connector.ts';
import { startHttpServer } from './http/server.ts';
import { createLogger } from './logging/logger.ts';
import { createMessagingExtension } from './messages/messaging.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { AddressPolicy } from './net/address-policy.ts';
import type { RealtimeClientLike } from './wakeups/wakeups.ts';

export interface ComposeDeps {
  /** A pool to share (the npm start stack: its embedded database serves one connection); otherwise one is opened and closed here. */
  sql?: Sql;
  /** The connector's logger; otherwise one at config.logLevel writing to `logStream`. */
  logger?: Logger;
  /** Where the built loggers write (tests capture it); stdout by default. */
  logStream?: DestinationStream;
  /** Serve /healthz, /readyz and /metrics on config.http (and collect process metrics for it). */
  serveHttp?: boolean;
  /** Where uploads are (MEDIA_STORE), for the message path. */
  mediaStore?: MediaStore;
  /** Development and tests: lets webhooks and media reach this machine. */
  addressPolicy?: AddressPolicy;
  /** Tests: media upload stand-in (the simulator has no media servers). */
  upload?: WAMediaUploadFunction;
  /** The extensions; by default the message path and the webhook dispatcher. */
  extensions?: ExtensionFactory[];
  /** 'poll-only': no wake-ups; a feed: the embedded database's notifications, read in this process (it serves one connection, so no LISTEN). */
  wakeups?: WakeupsChoice;
  /** Tests: an injected Realtime client. */
  realtimeClient?: RealtimeClientLike;
  /** How long stop() lets queries in flight finish when it closes its own pool (default 5 s). */
  poolEndTimeoutSeconds?: number;
}

export interface ComposedConnector {
  connector: Connector;
  config: ConnectorConfig;
  sql: Sql;
  logger: Logger;
  metrics: Metrics;
  /** The health and metrics endpoints' base URL, once started with serveHttp. */
  httpUrl(): string | undefined;
  start(): Promise<void>;
  /** Graceful shutdown: the connector (leases released), the HTTP server, the pool if it is ours. Returns the leases released. */
  stop(): Promise<number>;
  /** As if the process died (tests): sockets end, no lease is released, the pool closes. */
  crash(): Promise<void>;
}

export function composeConnector(config: ConnectorConfig, deps: ComposeDeps = {}): ComposedConnector {
  const ownPool = !deps.sql;
  const sql = deps.sql ?? postgres(config.databaseUrl, { max: config.dbPool, onnotice: () => {}, connection: { application_name: 'wa-connector' } });
  const logger = deps.logger ?? createLogger({ level: config.logLevel }, deps.logStream).child({ connectorId: config.connectorId });
  const baileysLogger = createLogger({ level: config.baileysLogLevel, name: 'baileys', keyMaterial: true }, deps.logStream);
  const metrics = createMetrics({ defaultMetrics: deps.serveHttp === true });
  // GATEWAY_ALLOW_PRIVATE_URLS (development, local database only: loadConfig refused it otherwise).
  if (config.allowPrivateUrls) logger.warn({ variable: PRIVATE_URLS_VARIABLE }, PRIVATE_URLS_WARNING);
  const addressPolicy = deps.addressPolicy ?? (config.allowPrivateUrls ? PRIVATE_URLS_ALLOWED : undefined);
  const extensions = [
    ...(deps.extensions ?? [createMessagingExtension({ addressPolicy, upload: deps.upload, mediaStore: deps.mediaStore })]),
    // Alerts by email run whenever ALERT_SMTP_URL is set, whatever else the connector runs.
    ...(config.alertEmail ? [createAlertEmailExtension()] : []),
  ];
  const connector = createConnector({ sql, config, logger, baileysLogger, metrics, extensions, wakeups: deps.wakeups, realtimeClient: deps.realtimeClient });
  let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
  let done = false;

  const endPool = (timeout: number) => (ownPool ? sql.end({ timeout }) : Promise.resolve());

  return {
    connector,
    config,
    sql,
    logger,
    metrics,
    httpUrl: () => http?.url,
    async start() {
      if (deps.serveHttp) {
        http = await startHttpServer({ registry: metrics.registry, ready: () => connector.ready() }, config.http.port, config.http.host);
        logger.info({ url: http.url }, 'health and metrics endpoints listening');
      }
      await connector.start();
    },
    async stop() {
      if (done) return 0;
      done = true;
      const released = await connector.stop();
      await http?.close();
      await endPool(deps.poolEndTimeoutSeconds ?? 5);
      return released;
    },
    async crash() {
      if (done) return;
      done = true;
      connector.manager.abandon();
      await http?.close();
      await endPool(0);
    },
  };
}
