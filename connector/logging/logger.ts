// The connector's pino logger. Two layers keep secrets out of logs (docs/invariants.md, invariant 4):
//   - redact: values under names that hold creds, keys, tokens, secrets, QR or pairing codes;
//   - a logMethod hook that masks phone numbers (and jids built from them) in every string and
//     removes key material from objects (Baileys logs nodes and errors we do not control).
import { type Logger, type LoggerOptions, pino } from 'pino';
import { scrubString, scrubValue } from './console-scrub.ts';

const SECRET_NAMES = [
  'creds', 'keys', 'key', 'token', 'accessToken', 'secret', 'password', 'privateKey', 'private',
  'ciphertext', 'qr', 'qrCode', 'qr_code', 'pairingCode', 'pairing_code', 'authorization', 'apiKey',
  'advSecretKey', 'noiseKey', 'signedIdentityKey', 'signedPreKey', 'identityKey', 'smtpUrl',
];

export const REDACT_PATHS = [...SECRET_NAMES, ...SECRET_NAMES.map((n) => `*.${n}`), ...SECRET_NAMES.map((n) => `*.*.${n}`)];

// 7-15 digits, optionally after + and before :device or @server, not inside a longer word or a uuid.
const PHONE = /(?<![\w-])\+?(\d{2,4})(\d{3,9})(\d{2})(?=(?::\d+)?@|\b)(?![-])/g;

/** 15550001111 -> 1555******11; also inside jids (1555******11@s.whatsapp.net). */
export function maskPhones(text: string): string {
  return text.replace(PHONE, (_m, head: string, middle: string, tail: string) => `${head}${'*'.repeat(middle.length)}${tail}`);
}

function deepMask(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPhones(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => deepMask(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[maskPhones(k)] = deepMask(v, depth + 1);
  return out;
}

/**
 * What the hook does to each log call's arguments (exported for the unit test). Our own log calls
 * carry ids (uuids) that the key-material scrub would take for keys, so only errors and, with
 * `keyMaterial`, whole objects (Baileys' logger, whose objects we do not control) get it.
 */
export function scrubLogArgs(args: unknown[], keyMaterial = false): unknown[] {
  return args.map((arg) => {
    if (typeof arg === 'string') return maskPhones(keyMaterial ? scrubString(arg) : arg);
    if (arg instanceof Error) return deepMask(scrubValue(arg));
    if (arg && typeof arg === 'object') {
      if (keyMaterial) return deepMask(scrubValue(arg));
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(arg)) out[k] = v instanceof Error ? deepMask(scrubValue(v)) : deepMask(v);
      return out;
    }
    return arg;
  });
}

export function createLogger(
  options: { level?: string; name?: string; keyMaterial?: boolean } = {},
  destination?: pino.DestinationStream,
): Logger {
  const keyMaterial = options.keyMaterial ?? false;
  const opts: LoggerOptions = {
    name: options.name ?? 'wa-connector',
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    hooks: {
      logMethod(args, method) {
        method.apply(this, scrubLogArgs(args, keyMaterial) as Parameters<typeof method>);
      },
    },
  };
  return destination ? pino(opts, destination) : pino(opts);
}
