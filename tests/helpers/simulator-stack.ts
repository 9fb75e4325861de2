/**
 * The simulator stack a test file runs against, set up once per file: the WhatsApp simulator,
 * trusted as WhatsApp's root with the connector's certificate verification installed (as the
 * connector runs), and, with `database`, a fresh database, an owner on the max plan and
 * in-process connectors against both. It registers its own beforeAll and afterAll; call it at the
 * top of the file, before the file's own hooks. Its afterAll runs after the file's (vitest runs
 * after-hooks in reverse), and stops the connectors started through it before the simulator and
 * the database go.
 *
 *   const stack = useSimulatorStack({ database: true });
 *   const c = await stack.connector({ CONNECTOR_CAPACITY: '4' });
 *   await scanPublishedQr(stack.db.sql, stack.sim, agentId, phone);
 */
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import type { ExtensionFactory } from '../../connector/connector.ts';
import { installConsoleScrub } from '../../connector/logging/console-scrub.ts';
import { installCertificateVerification } from '../../connector/whatsapp/verified-certificates.ts';
import type { LogCapture, TestConnector } from '../../scripts/harness/connector.ts';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../simulator/server.ts';
import { trustSimulatorRoot } from '../../simulator/trust.ts';
import type { TestDatabase } from './db.ts';
import { createUser, setPlan } from './fixtures.ts';

// Loaded only with `database`: a file that tests the simulator alone does not load the connector.
type Harness = typeof import('../../scripts/harness/connector.ts');

export interface SimulatorStackOptions {
  simulator?: SimulatorOptions;
  /** A test database, an owner on the max plan, and connectors. */
  database?: boolean;
  /** Route console.* through a silent scrubbing logger first: the in-process libsignal prints key material. */
  scrubConsole?: boolean;
}

export interface SimulatorStack {
  readonly sim: Simulator;
  /** Only with `database`. */
  readonly db: TestDatabase;
  /** A user on the max plan; only with `database`. */
  readonly owner: string;
  /** Env for a connector against this database and simulator (testEnv's fast timings). */
  env(overrides?: Record<string, string>): Record<string, string>;
  /** An in-process connector against this database and simulator, stopped by stopConnectors. */
  connector(
    overrides?: Record<string, string>,
    options?: { logs?: LogCapture; extensions?: (env: Record<string, string>) => ExtensionFactory[]; start?: boolean },
  ): Promise<TestConnector>;
  /**
   * Stops every connector started through connector() and not stopped yet (afterEach, or at the
   * end); `crash` ends them as a dead process would, without waiting for work in flight.
   */
  stopConnectors(how?: 'stop' | 'crash'): Promise<void>;
}

export function useSimulatorStack(options: SimulatorStackOptions = {}): SimulatorStack {
  let sim: Simulator | undefined;
  let db: TestDatabase | undefined;
  let owner: string | undefined;
  let untrust: (() => void) | undefined;
  let unscrub: (() => void) | undefined;
  let harness: Harness | undefined;
  const running: TestConnector[] = [];
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`simulator stack: no ${what} (before beforeAll, or not asked for)`);
    return value;
  };

  const stack: SimulatorStack = {
    get sim() {
      return ready(sim, 'simulator');
    },
    get db() {
      return ready(db, 'database');
    },
    get owner() {
      return ready(owner, 'owner');
    },
    env: (overrides = {}) => ready(harness, 'database').testEnv(stack.db.url, stack.sim.url, overrides),
    async connector(overrides = {}, opts = {}) {
      const env = stack.env(overrides);
      const c = await ready(harness, 'database').startTestConnector(env, { logs: opts.logs, extensions: opts.extensions?.(env), start: opts.start });
      running.push(c);
      return c;
    },
    async stopConnectors(how = 'stop') {
      await Promise.all(running.splice(0).map((c) => (how === 'crash' ? c.crash() : c.stop()).catch(() => {})));
    },
  };

  beforeAll(async () => {
    if (options.scrubConsole) unscrub = installConsoleScrub(pino({ level: 'silent' }));
    installCertificateVerification();
    if (options.database) {
      harness = await import('../../scripts/harness/connector.ts');
      db = await (await import('./db.ts')).createTestDatabase();
    }
    sim = await startSimulator(options.simulator);
    untrust = trustSimulatorRoot(sim);
    if (db) {
      owner = await createUser(db.sql);
      await setPlan(db.sql, owner, 'max');
    }
  });
  afterAll(async () => {
    await stack.stopConnectors();
    untrust?.();
    await sim?.stop();
    await db?.drop();
    unscrub?.();
  });
  return stack;
}
