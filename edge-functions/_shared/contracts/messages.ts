/**
 * The send contract: what a caller POSTs, validated into the stored `content` shapes of
 * kernel/message-content.ts (the connector maps them to Baileys; keep them stable).
 *
 * Request body: `{ "to": <phone or group jid>, "type": <type>, ...fields of the type }`.
 * `content` = the fields of the type exactly as validated below (phones normalised to E.164
 * digits, no `+`). `recipient` (the column) = `to` normalised: E.164 digits, or a `…@g.us` jid.
 */
import { z } from '@hono/zod-openapi';
import { MESSAGE_TYPES, MIME_ALLOW_LIST, type MessageType } from '../../../kernel/message-content.ts';
import { checkOutboundUrl } from '../net/url-guard.ts';
import { Phone, Text, WaMessageId } from './common.ts';

export interface MessageLimits {
  /** Largest decoded base64 upload in bytes (the seeds' 10 MB). */
  maxMediaBytes: number;
  /** Accept http:// media URLs (development only). */
  allowHttpMedia: boolean;
  /** GATEWAY_ALLOW_PRIVATE_URLS (development only). */
  allowPrivateUrls?: boolean;
}

export const DEFAULT_MESSAGE_LIMITS: MessageLimits = { maxMediaBytes: 10 * 1024 * 1024, allowHttpMedia: false };

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function base64DecodedBytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return (data.length / 4) * 3 - padding;
}

const Filename = z
  .string()
  .min(1)
  .max(255)
  .refine((f) => !/[\\/]/.test(f) && ![...f].some((ch) => ch.charCodeAt(0) < 32), 'must not contain slashes or control characters');
const Mimetype = z.string().max(100).transform((m) => m.toLowerCase().trim());
const baseMime = (m: string) => m.split(';')[0]!.trim();

function mediaSchema(kind: keyof typeof MIME_ALLOW_LIST, limits: MessageLimits) {
  const allowed = MIME_ALLOW_LIST[kind];
  const allowedMime = (m: string) => allowed.includes(baseMime(m));
  const byUrl = z.strictObject({
    url: Text().max(2048).superRefine((url, ctx) => {
      const problem = checkOutboundUrl(url, { allowHttp: limits.allowHttpMedia, allowPrivate: limits.allowPrivateUrls });
      if (problem) ctx.addIssue({ code: 'custom', message: `media url ${problem}` });
    }),
    mimetype: Mimetype.refine(allowedMime, `mimetype must be one of ${allowed.join(', ')}`).optional(),
    filename: Filename.optional(),
  });
  const byData = z.strictObject({
    data: z
      .string()
      .min(4)
      .max(Math.ceil(limits.maxMediaBytes / 3) * 4 + 4)
      .refine((d) => BASE64.test(d), 'data must be standard base64')
      .refine((d) => base64DecodedBytes(d) <= limits.maxMediaBytes, `media must be at most ${limits.maxMediaBytes} bytes`),
    mimetype: Mimetype.refine(allowedMime, `mimetype must be one of ${allowed.join(', ')}`),
    filename: Filename.optional(),
  });
  return z.union([byUrl, byData]).openapi({ description: `Media by https URL or base64; MIME types: ${allowed.join(', ')}` });
}

const Mentions = z.array(Phone).max(50);
const Caption = Text().min(1).max(1024);
const To = z
  .string()
  .max(64)
  .transform((value, ctx) => {
    if (/^[0-9]{6,20}(-[0-9]{6,20})?@g\.us$/.test(value)) return value;
    const digits = Phone.safeParse(value);
    if (digits.success) return digits.data;
    ctx.addIssue({ code: 'custom', message: 'to must be a phone number in international format or a group jid (…@g.us)' });
    return z.NEVER;
  })
  .openapi({ type: 'string', example: '+4915123456789' });

export function createSendMessageSchema(limits: MessageLimits = DEFAULT_MESSAGE_LIMITS) {
  const t = <T extends MessageType, S extends z.ZodRawShape>(type: T, shape: S) =>
    z.strictObject({ to: To, type: z.literal(type), ...shape });
  return z
    .discriminatedUnion('type', [
      t('text', { text: Text().min(1).max(4096), replyTo: WaMessageId.optional(), mentions: Mentions.optional(), linkPreview: z.boolean().optional() }),
      t('image', { media: mediaSchema('image', limits), caption: Caption.optional(), replyTo: WaMessageId.optional(), mentions: Mentions.optional() }),
      t('video', { media: mediaSchema('video', limits), caption: Caption.optional(), gifPlayback: z.boolean().optional(), replyTo: WaMessageId.optional(), mentions: Mentions.optional() }),
      t('audio', { media: mediaSchema('audio', limits), replyTo: WaMessageId.optional() }),
      t('voice', { media: mediaSchema('voice', limits), replyTo: WaMessageId.optional() }),
      t('document', { media: mediaSchema('document', limits), filename: Filename.optional(), caption: Caption.optional(), replyTo: WaMessageId.optional(), mentions: Mentions.optional() }),
      t('location', { latitude: z.number().min(-90).max(90), longitude: z.number().min(-180).max(180), name: Text().max(256).optional(), address: Text().max(512).optional() }),
      t('contact', {
        contacts: z
          .array(z.strictObject({ name: Text().min(1).max(256), phone: Phone, organization: Text().max(256).optional(), email: z.email().max(254).optional() }))
          .min(1)
          .max(10),
      }),
      t('reaction', { messageId: WaMessageId, emoji: Text().max(16) }),
      t('poll', {
        name: Text().min(1).max(256),
        options: z.array(Text().min(1).max(100)).min(2).max(12).refine((o) => new Set(o).size === o.length, 'options must be distinct'),
        selectableCount: z.number().int().min(0).max(12).default(1),
      }),
      t('edit', { messageId: WaMessageId, text: Text().min(1).max(4096) }),
      t('delete', { messageId: WaMessageId, forEveryone: z.boolean().default(true) }),
    ])
    .superRefine((body, ctx) => {
      if (body.type === 'poll' && body.selectableCount > body.options.length) {
        ctx.addIssue({ code: 'custom', path: ['selectableCount'], message: 'selectableCount must not exceed the number of options' });
      }
    })
    .openapi('SendMessage');
}

export type SendMessage = z.output<ReturnType<typeof createSendMessageSchema>>;

/** Splits a validated body into the recipient column and the stored content (see the table above). */
export function toQueuedMessage(body: SendMessage): { recipient: string; type: MessageType; content: Record<string, unknown> } {
  const { to, type, ...content } = body;
  return { recipient: to, type, content };
}

export const MessageStatus = z.enum(['queued', 'sending', 'sent', 'delivered', 'read', 'failed']);

export const SendAccepted = z
  .object({ id: z.uuid(), waMessageId: z.string(), status: MessageStatus, createdAt: z.string(), replayed: z.boolean() })
  .openapi('SendAccepted');

export const MessageView = z
  .object({
    id: z.uuid(),
    agentId: z.uuid(),
    waMessageId: z.string(),
    to: z.string(),
    type: z.enum(MESSAGE_TYPES),
    content: z.record(z.string(), z.unknown()).openapi({ description: 'The stored content; base64 media data is replaced by its size' }),
    status: MessageStatus,
    attempts: z.number().int(),
    error: z.object({ code: z.string().nullable(), message: z.string().nullable() }).nullable(),
    createdAt: z.string(),
    sentAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    readAt: z.string().nullable(),
    failedAt: z.string().nullable(),
  })
  .openapi('Message');

export const MessageListQuery = z.object({
  status: MessageStatus.optional(),
  type: z.enum(MESSAGE_TYPES).optional(),
  to: Phone.optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).regex(/^[A-Za-z0-9_-]+$/).optional(),
});

export const MessagePage = z.object({ data: z.array(MessageView), nextCursor: z.string().nullable() }).openapi('MessagePage');
