/**
 * Building blocks shared by every contract: ids, phone numbers, pagination, the error shape.
 * Written with the `z` of @hono/zod-openapi so the same schemas validate requests and generate
 * the OpenAPI document.
 */
import { z } from '@hono/zod-openapi';

export const Uuid = z.uuid().openapi({ example: '8a6e0804-2bd0-4672-b79d-d97027f9071a' });

/**
 * Every string a request brings in. Postgres cannot store U+0000 (text raises 22021, jsonb
 * 22P05), so it is refused here as a 400 with the field's path instead of failing at the insert.
 */
export const Text = () => z.string().refine((s) => !s.includes('\u0000'), 'must not contain the NUL character (U+0000)');

export const AgentParams = z.object({ agentId: Uuid.openapi({ param: { name: 'agentId', in: 'path' } }) });

/**
 * A phone number as people write it (`+49 151 2345-6789`, `0049…`, `(555) 010 1234` with a
 * country code) normalised to E.164 digits without `+`. Impossible numbers (too short or long,
 * letters, a leading 0 after the country prefix) are rejected rather than guessed at.
 */
export function normalisePhone(input: string): string | null {
  const trimmed = input.trim();
  if (!/^\+?[0-9 ().-]+$/.test(trimmed)) return null;
  let digits = trimmed.replace(/[^0-9]/g, '');
  if (!trimmed.startsWith('+') && digits.startsWith('00')) digits = digits.slice(2);
  if (!/^[1-9][0-9]{6,14}$/.test(digits)) return null;
  return digits;
}

export const Phone = z
  .string()
  .max(32)
  .transform((value, ctx) => {
    const digits = normalisePhone(value);
    if (!digits) {
      ctx.addIssue({ code: 'custom', message: 'Not a possible phone number in international format (E.164)' });
      return z.NEVER;
    }
    return digits;
  })
  .openapi({ type: 'string', example: '+4915123456789', description: 'International number; stored as E.164 digits without +' });

/** A WhatsApp message id as Baileys and WhatsApp make them (e.g. 3EB0…); used to quote, react, edit, delete. */
export const WaMessageId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{4,128}$/)
  .openapi({ example: '3EB0A1B2C3D4E5F6A7B8C9' });

export const Limit = z.coerce.number().int().min(1).max(200).default(50).openapi({ type: 'integer', example: 50 });
export const Cursor = z.string().max(200).regex(/^[A-Za-z0-9_-]+$/).optional().openapi({ description: 'The nextCursor of the previous page' });

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'not_found' }),
      message: z.string(),
      details: z.unknown().optional(),
      requestId: z.string(),
    }),
  })
  .openapi('Error');

/** Keyset cursor over (created_at desc, id desc), opaque to callers. */
export function encodeCursor(createdAt: Date | string, id: string): string {
  const iso = typeof createdAt === 'string' ? createdAt : createdAt.toISOString();
  return btoa(`${iso}|${id}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeCursor(cursor: string | undefined): { createdAt: string; id: string } | null | 'invalid' {
  if (!cursor) return null;
  try {
    const text = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
    const [createdAt, id] = text.split('|');
    if (!createdAt || !id || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(createdAt) || !Uuid.safeParse(id).success) return 'invalid';
    return { createdAt, id };
  } catch {
    return 'invalid';
  }
}

export const errorResponses = {
  400: { description: 'Malformed JSON or invalid input', content: { 'application/json': { schema: ErrorSchema } } },
  401: { description: 'Missing or invalid credentials', content: { 'application/json': { schema: ErrorSchema } } },
  403: { description: 'Scope or plan does not allow this', content: { 'application/json': { schema: ErrorSchema } } },
  404: { description: 'Unknown or foreign id', content: { 'application/json': { schema: ErrorSchema } } },
  429: { description: 'Rate limited (Retry-After, RateLimit-* headers)', content: { 'application/json': { schema: ErrorSchema } } },
} as const;
