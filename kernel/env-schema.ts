// The building blocks of both processes' environment schemas (connector/config.ts,
// edge-functions/gateway/config.ts): zod only, so it loads in Deno and Node. Every variable
// carries its description in the schema (`.describe()`, or `.meta({ description, accepts })` where
// the JSON schema alone says too little); scripts/docs/config-reference.ts renders the README's
// reference from them.
import { z } from 'zod';
import { ConfigError } from './secret-box.ts';

export type EnvMap = Record<string, string | undefined>;

/** What a variable's `.meta()` holds. */
export interface VariableMeta {
  description?: string;
  /** Shown in the reference instead of the constraint derived from the JSON schema. */
  accepts?: string;
  /** Shown as "required" although the schema accepts it unset (checked where it is used). */
  required?: string;
}

export const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
export const optionalInt = (min: number) => z.coerce.number().int().min(min).optional();

export const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');

export const logLevel = (fallback: string) => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default(fallback as 'info');

// A keyring's variables (secret-box.ts parses them exactly; the schema makes the key required,
// names the variable when it is missing or malformed, and documents them).
export const keyMaterial = () =>
  z
    .string()
    .regex(/^\s*([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)\s*$/, 'must be 32 random bytes written as 64 hex characters or base64 (e.g. `openssl rand -hex 32`)');
export const ACCEPTS_KEY = '32 bytes, hex or base64';
export const ACCEPTS_OLD_KEYS = '`version:key,…`';

/** Empty strings count as unset, so `FOO=` in an env file means "use the default". */
export function cleanEnv(env: EnvMap): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== '')) as Record<string, string>;
}

/**
 * Parses `env` with `schema`; throws ConfigError naming the first missing or malformed variable.
 * Reads only the schema's variables (the gateway never enumerates its environment).
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: EnvMap): z.output<S> {
  const cleaned = cleanEnv(Object.fromEntries(Object.keys(schema.shape).map((name) => [name, env[name]])));
  const parsed = schema.safeParse(cleaned);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const variable = String(issue.path[0] ?? 'environment');
  throw new ConfigError(variable, issue.code === 'invalid_type' && cleaned[variable] === undefined ? 'is required' : issue.message);
}
