/** Small helpers for route handlers: timestamps out, the acting owner in. */
import type { Context } from 'hono';
import type { Principal } from '../_shared/auth/principal.ts';
import type { Env } from './types.ts';

export const iso = (value: Date | string | null | undefined): string | null =>
  value == null ? null : value instanceof Date ? value.toISOString() : new Date(value).toISOString();

export const isoNow = (value: Date | string): string => iso(value)!;

export const principalOf = (c: Context<Env>): Principal => c.get('principal');

