// Baileys/libsignal-specific: the warnings seed 002 watches for ("Closing stale open session",
// "waiting for message"), recognised and attributed to the session they came from.
//
// Where they come from (libsignal 6.0.0 and Baileys 7.0.0-rc14 as installed):
//   - libsignal prints with console.*, which the console scrub captures. Closing an open session
//     prints "Closing session:" (console.info, SessionRecord.closeSession, with the record, which
//     the scrub redacts). That happens when a new outgoing pre-key bundle replaces a stale open
//     session (older builds also warn "Closing stale open session for new outgoing prekey bundle";
//     6.0.0 has that warning commented out) and when an incoming pre-key message replaces one
//     (also warned: "Closing open session in favor of incoming prekey bundle"). The warnings
//     always come with the "Closing session:" line, so that line alone is counted: each close once,
//     in every build.
//   - Baileys logs "timed out waiting for message" (logger.warn) when WhatsApp leaves a query
//     unanswered. It goes to the session's Baileys logger, which watchBaileysLogger wraps.
// console.* has no session, so every signalRepository method of a socket runs inside an
// AsyncLocalStorage scope naming its agent, and a console line is attributed to the scope it is
// printed in. libsignal runs each call through a queue per contact address, started by the first
// caller; a line is attributed to the session whose call started that queue, which is exact unless
// two sessions of one connector work on the same contact at the same moment. A line printed
// outside any scope has no session: it is counted for the connector only (metrics).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import { onConsoleMessage } from '../logging/console-scrub.ts';

export type SignalWarningKind = 'closing_open_session' | 'waiting_for_message';

const PATTERNS: ReadonlyArray<readonly [RegExp, SignalWarningKind]> = [
  [/^Closing session:/, 'closing_open_session'],
  [/\bwaiting for message\b/i, 'waiting_for_message'],
];

export function classifySignalWarning(text: string): SignalWarningKind | undefined {
  return PATTERNS.find(([pattern]) => pattern.test(text))?.[1];
}

type Sink = (kind: SignalWarningKind, agentId: string | undefined) => void;

const scope = new AsyncLocalStorage<string>();
const sinks = new Set<Sink>();
let stopConsole: (() => void) | undefined;

function report(text: string, agentId: string | undefined): void {
  const kind = classifySignalWarning(text);
  if (!kind) return;
  for (const sink of sinks) {
    // Called from inside libsignal's and Baileys' own calls: counting must never break them.
    try {
      sink(kind, agentId);
    } catch {}
  }
}

/** Subscribes to every recognised warning of this process; returns an unsubscribe. */
export function onSignalWarning(sink: Sink): () => void {
  sinks.add(sink);
  stopConsole ??= onConsoleMessage((text) => report(text, scope.getStore()));
  return () => {
    sinks.delete(sink);
    if (sinks.size === 0) {
      stopConsole?.();
      stopConsole = undefined;
    }
  };
}

/** Runs every signalRepository method of `sock` inside `agentId`'s scope. Call once per socket. */
export function scopeSignalWarnings(sock: WASocket, agentId: string): void {
  const repository = sock.signalRepository as unknown as Record<string, unknown>;
  for (const [name, original] of Object.entries(repository)) {
    if (typeof original !== 'function') continue;
    repository[name] = (...args: unknown[]) => scope.run(agentId, () => original.apply(repository, args));
  }
}

/** `logger` for one session's socket: its warnings and errors are checked, attributed to `agentId`. */
export function watchBaileysLogger(logger: Logger, agentId: string): Logger {
  return new Proxy(logger, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property === 'child') {
        return (...args: Parameters<Logger['child']>) => watchBaileysLogger(target.child(...args) as unknown as Logger, agentId);
      }
      if (property === 'warn' || property === 'error') {
        return (...args: unknown[]) => {
          const text = typeof args[0] === 'string' ? args[0] : typeof args[1] === 'string' ? args[1] : undefined;
          if (text !== undefined) report(text, agentId);
          return (value as (...a: unknown[]) => void).apply(target, args);
        };
      }
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
