/** What an agent received and what happened to it: inbound messages and events, newest first. */
import { z } from '@hono/zod-openapi';
import { Cursor, Limit } from './common.ts';

export const InboundView = z
  .object({
    id: z.string(),
    waMessageId: z.string(),
    chatJid: z.string(),
    senderPhone: z.string().nullable(),
    senderLid: z.string().nullable(),
    fromMe: z.boolean().openapi({ description: 'Sent from the phone (or another linked device), not through the gateway' }),
    type: z.string(),
    content: z.record(z.string(), z.unknown()),
    quotedWaMessageId: z.string().nullable(),
    sentAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('InboundMessage');

export const InboundPage = z.object({ data: z.array(InboundView), nextCursor: z.string().nullable() }).openapi('InboundPage');
export const InboundListQuery = z.object({ limit: Limit, cursor: Cursor });

export const EventView = z
  .object({
    id: z.string(),
    type: z.string(),
    severity: z.enum(['info', 'warning', 'critical']),
    payload: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .openapi('Event');

export const EventPage = z.object({ data: z.array(EventView), nextCursor: z.string().nullable() }).openapi('EventPage');
export const EventListQuery = z.object({
  limit: Limit,
  cursor: Cursor,
  type: z.string().regex(/^[a-z_]+\.[a-z_.]+$/).optional().openapi({ description: 'Only events of this type, e.g. message.status' }),
});
