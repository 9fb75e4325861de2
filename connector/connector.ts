// The connector process, built by a factory that receives its dependencies, so tests run real
// ones (Postgres, Baileys against the simulator) in-process and main.ts wires production ones.
//
// Lifecycle: start() checks the Baileys internals the adapter relies on (whatsapp/self-check.ts),
// registers the connector (id, hostname, pid, version, capacity), starts the reconciler (claim /
// renew / self-fence loops), the wake-up source, the jobs and the key-count metrics. stop() is the
// graceful shutdown: stop claiming, let extensions drain in-flight work (bounded by
// shutdownGraceMs), end every socket, release every lease in one statement.
import type { WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { type Clock, systemClock } from './clock.ts';
import { ConfigError, KEYRING_PREFIX } from '../kernel/secret-box.ts';
import type { ConnectorConfig } from './config.ts';
import { runJob, scheduleJobs, type JobName } from './jobs/jobs.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { LiveSession, SessionDirectory } from './sessions/context.ts';
import { SessionManager } from './sessions/manager.ts';
import { signalKeysPerType } from './sql/keys.ts';
import { registerConnector } from './sql/leases.ts';
import { contentEncryptionInUse } from './sql/content.ts';
import { queueDepth } from './sql/messages.ts';
import { createSignalWarningMonitor, type SignalWarningMonitor } from './signal-warning-monitor.ts';
import {
  createInProcessWakeups,
  createListenWakeups,
  createRealtimeWakeups,
  createSupabaseRealtimeClient,
  type InProcessWakeFeed,
  type RealtimeClientLike,
  type Wake,
  type WakeupSource,
} from './wakeups/wakeups.ts';
import { createSocketFactory, type MakeSocket } from './whatsapp/make-socket.ts';
import { checkBaileysInternals } from './whatsapp/self-check.ts';

/** What connector/messages and connector/webhooks plug in with. */
export interface ConnectorExtension {
  /** A socket was just made for a session (synchronously, before any of its events fire). */
  onSocketCreated?(session: LiveSession, sock: WASocket): void;
  /** A disconnect, logout or restart is about to end an open socket; wait for sends unless forced. */
  beforeSocketEnd?(session: LiveSession, force: boolean): Promise<void>;
  /** A session's socket just opened (status already `connected`): start working its queue. */
  onSocketOpen?(session: LiveSession): void | Promise<void>;
  /** A session's open socket closed or was ended. */
  onSocketClose?(session: LiveSession): void;
  /** A wake-up arrived (kind `message` for a new outbound message of `agentId`). */
  onWake?(wake: Wake): void;
  /** Graceful shutdown: finish in-flight sends; bounded by shutdownGraceMs. */
  drain?(): Promise<void>;
  /** Sockets have ended, leases are still held: finish writes of what they received (of `agentIds` only, for a hand-over). */
  beforeRelease?(agentIds?: readonly string[]): Promise<void>;
  /** Called last, after sockets ended and leases were released. */
  stop?(): Promise<void>;
}

export interface ExtensionContext {
  sql: Sql;
  config: ConnectorConfig;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  directory: SessionDirectory;
}

export type WakeupsChoice = 'auto' | 'poll-only' | InProcessWakeFeed;

export type ExtensionFactory = (context: ExtensionContext) => ConnectorExtension;

export interface ConnectorDeps {
  sql: Sql;
  config: ConnectorConfig;
  logger: Logger;
  /** Baileys' logger; defaults to a child of `logger` at config.baileysLogLevel. */
  baileysLogger?: Logger;
  clock?: Clock;
  makeSocket?: MakeSocket;
  metrics?: Metrics;
  extensions?: ExtensionFactory[];
  /** Injected Realtime client (tests); otherwise built from config.realtime when set. */
  realtimeClient?: RealtimeClientLike;
  /**
   * 'poll-only': no LISTEN connection; an in-process feed: the database's notifications read in
   * this process (the embedded PGlite of `npm start` serves one connection, so no LISTEN).
   */
  wakeups?: WakeupsChoice;
}

export interface Connector {
  readonly id: string;
  readonly metrics: Metrics;
  readonly directory: SessionDirectory;
  readonly manager: SessionManager;
  start(): Promise<void>;
  /** Graceful shutdown; returns how many leases were released. */
  stop(): Promise<number>;
  ready(): boolean;
  /** Runs one scheduled job now (operators, tests). */
  runJob(name: JobName): Promise<{ ran: boolean; result?: unknown }>;
}

export function createConnector(deps: ConnectorDeps): Connector {
  const { sql, config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const metrics = deps.metrics ?? createMetrics();
  const baileysLogger = deps.baileysLogger ?? logger.child({ module: 'baileys' }, { level: config.baileysLogLevel });
  const extensions: ConnectorExtension[] = [];
  const manager = new SessionManager({
    sql,
    config,
    logger,
    baileysLogger,
    metrics,
    clock,
    makeSocket: deps.makeSocket ?? createSocketFactory(config.whatsapp),
    beforeRelease: async (agentIds) => {
      await Promise.all(extensions.map((ext) => ext.beforeRelease?.(agentIds).catch((error) => logger.warn({ err: error }, 'draining before release failed'))));
    },
    hooks: {
      onSocketCreated: (session, sock) => {
        for (const ext of extensions) ext.onSocketCreated?.(session, sock);
      },
      beforeSocketEnd: async (session, force) => {
        await Promise.all(extensions.map((ext) => ext.beforeSocketEnd?.(session, force)));
      },
      onSocketOpen: async (session) => {
        for (const ext of extensions) await ext.onSocketOpen?.(session);
      },
      onSocketClose: (session) => {
        for (const ext of extensions) ext.onSocketClose?.(session);
      },
    },
  });
  metrics.observe({ sessions: manager, sql, logger });
  for (const factory of deps.extensions ?? []) extensions.push(factory({ sql, config, logger, metrics, clock, directory: manager }));

  let wakeups: WakeupSource | undefined;
  let jobs: { stop(): void } | undefined;
  let keyMetricsTimer: NodeJS.Timeout | undefined;
  let signalWarnings: SignalWarningMonitor | undefined;
  let stopping = false;
  let started = false;

  const onWake = (wake: Wake) => {
    if (stopping) return;
    if (wake.kind === 'resubscribed') manager.sweep();
    else if (wake.kind === 'session') {
      // Ours: renew now (brings desired state and commands); not ours: maybe claimable.
      if (wake.agentId && manager.get(wake.agentId)) void manager.renew();
      else manager.sweep();
    }
    for (const ext of extensions) ext.onWake?.(wake);
  };

  async function refreshGauges(): Promise<void> {
    const held = manager.holdings().map((h) => h.agentId);
    try {
      const counts = await signalKeysPerType(sql, held);
      metrics.signalKeys.reset();
      for (const row of counts) metrics.signalKeys.set({ key_type: row.key_type }, row.n);
      const queue = await queueDepth(sql, held);
      metrics.queueDepth.set(queue?.depth ?? 0);
      metrics.queueAgeSeconds.set(queue?.age ?? 0);
    } catch (error) {
      logger.warn({ err: error }, 'refreshing key and queue gauges failed');
    }
  }

  return {
    id: config.connectorId,
    metrics,
    directory: manager,
    manager,
    ready: () => started && !stopping && manager.healthy,
    runJob: (name) => runJob(name, { sql, config, logger, metrics }),

    async start() {
      // Before any session is claimed: a Baileys whose internals changed would lose messages quietly.
      checkBaileysInternals();
      // Encrypted content this connector could neither send nor store: refuse now, naming the variable.
      if (!config.contentKeyring && (await contentEncryptionInUse(sql))) {
        throw new ConfigError(`${KEYRING_PREFIX.messageContent}_KEY`, 'is required: a tenant keeps message content encrypted (content policy `encrypted`)');
      }
      await registerConnector(sql, { id: config.connectorId, hostname: config.hostname, pid: process.pid, version: config.version, capacity: config.capacity, leaseSeconds: config.leaseSeconds, keyVersions: [...config.keyring.keys.keys()] });
      logger.info({ connectorId: config.connectorId, capacity: config.capacity, leaseSeconds: config.leaseSeconds }, 'connector registered');
      signalWarnings = createSignalWarningMonitor({ sql, logger, metrics, thresholds: config.signalWarningThresholds, holds: (id) => manager.get(id) !== undefined });
      manager.start();
      const realtime = deps.realtimeClient ?? (config.realtime ? await createSupabaseRealtimeClient(config.realtime.url, config.realtime.key) : undefined);
      const choice = deps.wakeups ?? 'auto';
      if (typeof choice === 'object') wakeups = createInProcessWakeups(choice, logger, onWake);
      else if (choice === 'auto') wakeups = realtime ? createRealtimeWakeups(realtime, logger, onWake) : createListenWakeups(sql, logger, onWake);
      await wakeups?.start().catch((error) => logger.error({ err: error }, 'wake-ups unavailable; relying on the periodic sweep'));
      if (config.jobs.enabled) jobs = scheduleJobs({ sql, config, logger, metrics });
      keyMetricsTimer = setInterval(() => void refreshGauges(), 60_000);
      started = true;
    },

    async stop() {
      if (stopping) return 0;
      stopping = true;
      manager.stopClaiming();
      jobs?.stop();
      if (keyMetricsTimer) clearInterval(keyMetricsTimer);
      await wakeups?.stop();
      const grace = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceMs).unref());
      await Promise.race([Promise.all(extensions.map((e) => e.drain?.().catch(() => {}))), grace]);
      const released = await manager.stop();
      await signalWarnings?.stop();
      for (const ext of extensions) await ext.stop?.().catch(() => {});
      logger.info({ released }, 'connector stopped; leases released');
      return released;
    },
  };
}
