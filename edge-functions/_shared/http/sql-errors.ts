/**
 * Maps the gateway's SQLSTATEs (WG001..WG009, see 20261122000100_schemas_and_errors.sql) and text
 * Postgres cannot store to HTTP errors. Anything else is not the caller's fault: the caller gets a generic 500 (see app.ts).
 *
 *   app.onError((e) => sqlToHttp(e) ?? internal(e))
 */
import { HttpError } from './errors.ts';
import { rateLimited } from './rate-limit.ts';

interface PgError {
  code?: string;
  message?: string;
  detail?: string;
}

/** The human part of a gateway error message: "not_owner: agent belongs ..." -> "agent belongs ...". */
function humanPart(message: string | undefined): string {
  const text = message ?? '';
  const colon = text.indexOf(': ');
  return colon > 0 ? text.slice(colon + 2) : text;
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function detailJson(detail: string | undefined): Record<string, unknown> | undefined {
  if (!detail) return undefined;
  try {
    const value = JSON.parse(detail);
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Text Postgres cannot store (U+0000 in text: 22021, in jsonb: 22P05). The contracts refuse it
 * first (contracts/common.ts Text); this is the backstop for a string that reached SQL another way.
 */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

export function sqlToHttp(error: unknown): HttpError | undefined {
  const e = error as PgError;
  if (typeof e?.code === 'string' && UNSTORABLE_TEXT.has(e.code)) {
    return new HttpError(400, 'invalid_request', 'The request contains text that cannot be stored (for example the NUL character U+0000)');
  }
  if (typeof e?.code !== 'string' || !e.code.startsWith('WG')) return undefined;
  const message = humanPart(e.message);
  const detail = detailJson(e.detail);
  switch (e.code) {
    // Unknown and foreign look the same from outside: tenants must not learn which ids exist.
    case 'WG001':
    case 'WG002':
      return new HttpError(404, 'not_found', 'No such agent');
    case 'WG009':
      return new HttpError(404, 'not_found', capitalise(message || 'no such resource'));
    case 'WG003':
      return new HttpError(403, 'plan_limit', capitalise(message), detail);
    case 'WG005':
      return new HttpError(422, 'invalid_argument', capitalise(message));
    case 'WG006':
      return new HttpError(409, 'idempotency_conflict', 'This Idempotency-Key was used with a different request');
    case 'WG007': {
      const n = (k: string) => (typeof detail?.[k] === 'number' ? (detail[k] as number) : 0);
      return rateLimited({ limit: n('limit'), remaining: n('remaining'), reset: n('reset'), retryAfter: n('retry_after') || 1 }, message ? capitalise(message) : undefined);
    }
    case 'WG008':
      return new HttpError(409, 'conflict', capitalise(message), detail);
    default:
      return undefined;
  }
}
