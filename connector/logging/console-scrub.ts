// libsignal (inside Baileys) prints whole session records — private ratchet keys, root and chain
// keys — with console.info/warn/error ("Closing session:", "Closing open session in favor of
// incoming prekey bundle", ...). installConsoleScrub routes every console.* call to a pino logger
// after removing key material: bytes of any kind, values under key-like property names, and long
// base64/hex runs inside strings (libsignal indexes chains by base64 keys). Returns an uninstall.
import type { Logger } from 'pino';

const REDACTED = '[redacted]';
const MAX_DEPTH = 6;
const MAX_ITEMS = 50;

/** Property names whose values are key material in libsignal and Baileys objects. */
const SENSITIVE_NAME =
  /^(priv(ate)?key|pub(lic)?key|rootkey|chainkey|basekey|key|keys|keypair|ephemeralkeypair|lastremoteephemeralkey|remoteidentitykey|identitykey|signedprekey|prekey|signature|messagekeys|mackey|cipherkey|iv|secret|_chains|pendingprekey|noisekey|advsecretkey)$/i;

/** 32+ base64 characters (a 24-byte key and up) or 32+ hex digits. */
const LONG_TOKEN = /[A-Za-z0-9+/_-]{32,}={0,2}|\b(?:[0-9a-fA-F]{2}[ :]?){16,}\b/g;

export function scrubString(text: string): string {
  return text.replace(LONG_TOKEN, REDACTED);
}

function isBytes(value: unknown): boolean {
  return value instanceof Uint8Array || value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

export function scrubValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubString(value);
  if (value === null || typeof value !== 'object') {
    return typeof value === 'function' ? '[function]' : typeof value === 'bigint' ? String(value) : value;
  }
  if (isBytes(value)) return REDACTED;
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[nested]';
  seen.add(value);
  if (value instanceof Error) {
    return { name: value.name, message: scrubString(value.message), stack: value.stack && scrubString(value.stack) };
  }
  if (Array.isArray(value)) return value.slice(0, MAX_ITEMS).map((item) => scrubValue(item, depth + 1, seen));
  if (value instanceof Map) return scrubValue(Object.fromEntries(value), depth, seen);
  if (value instanceof Set) return scrubValue([...value], depth, seen);
  const result: Record<string, unknown> = {};
  for (const [name, inner] of Object.entries(value).slice(0, MAX_ITEMS)) {
    result[scrubString(name)] = SENSITIVE_NAME.test(name) ? REDACTED : scrubValue(inner, depth + 1, seen);
  }
  return result;
}

// The one place that touches console: it is what this module replaces.
const consoleObject: Console = globalThis.console;

type ConsoleListener = (message: string) => void;
const listeners = new Set<ConsoleListener>();

/** Calls `listener` with the scrubbed text of each captured console line, in the caller's async context. */
export function onConsoleMessage(listener: ConsoleListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

type ConsoleMethod = 'log' | 'info' | 'warn' | 'error' | 'debug' | 'trace';
const LEVEL_OF: Record<ConsoleMethod, 'info' | 'warn' | 'error' | 'debug'> = {
  log: 'info',
  info: 'info',
  warn: 'warn',
  error: 'error',
  debug: 'debug',
  trace: 'debug',
};

/** Replaces console.* so output reaches `logger` scrubbed. Call the returned function to restore. */
export function installConsoleScrub(logger: Logger): () => void {
  const originals = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  const replacements = new Map<ConsoleMethod, (...args: unknown[]) => void>();
  for (const method of Object.keys(LEVEL_OF) as ConsoleMethod[]) {
    originals.set(method, consoleObject[method]);
    const level = LEVEL_OF[method];
    const replacement = (...args: unknown[]) => {
      const [first, ...rest] = args;
      const message = typeof first === 'string' ? scrubString(first) : 'console output';
      const details = (typeof first === 'string' ? rest : args).map((arg) => scrubValue(arg));
      logger[level]({ source: `console.${method}`, ...(details.length ? { args: details } : {}) }, message);
      for (const listener of listeners) listener(message);
    };
    replacements.set(method, replacement);
    consoleObject[method] = replacement;
  }
  return () => {
    for (const [method, original] of originals) {
      // Leave alone a method someone else replaced after us.
      if (consoleObject[method] === replacements.get(method)) consoleObject[method] = original;
    }
  };
}
