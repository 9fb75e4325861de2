// Seed 002's signal-warning monitor for one connector: counts the warnings
// connector/whatsapp/signal-warnings.ts recognises, per session in Postgres (the hour's count and
// the alerts live in gateway.record_signal_warnings, so every connector adds to one count) and per
// connector in Prometheus. Only kinds and numbers leave here, never the text of the line.
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import type { ConnectorConfig } from './config.ts';
import type { Metrics } from './metrics.ts';
import { recordSignalWarnings } from './sql/keys.ts';
import { onSignalWarning, type SignalWarningKind } from './whatsapp/signal-warnings.ts';

export interface SignalWarningMonitorDeps {
  sql: Sql;
  logger: Logger;
  metrics: Metrics;
  thresholds: ConnectorConfig['signalWarningThresholds'];
  /** Whether this connector holds the session (another connector in the process counts its own). */
  holds(agentId: string): boolean;
  /** Warnings are batched this long before they are written (default 2 s). */
  flushDelayMs?: number;
}

export interface SignalWarningMonitor {
  /** Writes what is pending now; returns the alerts raised. */
  flush(): Promise<number>;
  /** Stops counting and writes what is pending. */
  stop(): Promise<void>;
}

export function createSignalWarningMonitor(deps: SignalWarningMonitorDeps): SignalWarningMonitor {
  const pending = new Map<string, { agent_id: string; kind: SignalWarningKind; count: number }>();
  let timer: NodeJS.Timeout | undefined;

  const add = (agentId: string, kind: SignalWarningKind, count: number) => {
    const key = `${agentId}/${kind}`;
    const entry = pending.get(key) ?? { agent_id: agentId, kind, count: 0 };
    entry.count += count;
    pending.set(key, entry);
  };

  const unsubscribe = onSignalWarning((kind, agentId) => {
    const mine = agentId !== undefined && deps.holds(agentId);
    if (agentId !== undefined && !mine) return;
    deps.metrics.signalWarnings.inc({ kind, attributed: mine ? 'session' : 'connector' });
    if (!mine) return;
    add(agentId, kind, 1);
    timer ??= setTimeout(() => void flush(), deps.flushDelayMs ?? 2_000).unref();
  });

  async function flush(): Promise<number> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.size === 0) return 0;
    const counts = [...pending.values()];
    pending.clear();
    try {
      return await recordSignalWarnings(deps.sql, counts, deps.thresholds);
    } catch (error) {
      // Kept for the next flush: a database hiccup must not lose the early warning.
      for (const c of counts) add(c.agent_id, c.kind, c.count);
      timer ??= setTimeout(() => void flush(), deps.flushDelayMs ?? 2_000).unref();
      deps.logger.warn({ err: error }, 'recording signal warnings failed');
      return 0;
    }
  }

  return {
    flush,
    async stop() {
      unsubscribe();
      await flush();
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
