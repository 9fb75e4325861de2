/** Contracts of API keys, webhook endpoints and number checks. */
import { z } from '@hono/zod-openapi';
import { EVENT_FAMILIES, EVENT_TYPES, isEventSubscription } from '../../../kernel/event-types.ts';
import { API_KEY_SCOPES } from '../auth/api-keys.ts';
import { Phone, Text } from './common.ts';

export const CreateApiKey = z
  .strictObject({
    name: Text().trim().min(1).max(100),
    agentId: z.uuid().nullable().optional().openapi({ description: 'Restrict the key to one agent' }),
    scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).max(20).default(['*']),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .openapi('CreateApiKey');

export const ApiKeyView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string(),
    agentId: z.uuid().nullable(),
    scopes: z.array(z.string()),
    expiresAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('ApiKey');

export const CreatedApiKey = ApiKeyView.extend({ key: z.string().openapi({ description: 'Shown once; store it now' }) }).openapi('CreatedApiKey');

// A subscription names something the gateway emits (kernel/event-types.ts): a typo would
// otherwise be stored and then match no event, silently.
const EventType = z
  .string()
  .max(100)
  .refine(isEventSubscription, {
    message: `unknown event type: use *, <family>.* (${EVENT_FAMILIES.join(', ')}) or one of ${EVENT_TYPES.join(', ')}`,
  })
  .openapi({ description: 'An event type, `<family>.*` or `*`', example: 'message.received' });
export const CreateWebhook = z
  .strictObject({
    url: Text().max(2048),
    agentId: z.uuid().nullable().optional().openapi({ description: 'Only events of this agent; omit for all agents' }),
    eventTypes: z.array(EventType).min(1).max(50).default(['*']),
    description: Text().max(500).optional(),
  })
  .openapi('CreateWebhook');

export const UpdateWebhook = z
  .strictObject({
    url: Text().max(2048).optional(),
    eventTypes: z.array(EventType).min(1).max(50).optional(),
    description: Text().max(500).nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, 'at least one field is required')
  .openapi('UpdateWebhook');

export const WebhookView = z
  .object({
    id: z.uuid(),
    agentId: z.uuid().nullable(),
    url: z.string(),
    eventTypes: z.array(z.string()),
    description: z.string().nullable(),
    enabled: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Webhook');

export const CreatedWebhook = WebhookView.extend({
  secret: z.string().openapi({ description: 'Signing secret (Standard Webhooks: `whsec_` + base64 of the key), shown once' }),
}).openapi('CreatedWebhook');

export const DeliveryView = z
  .object({
    id: z.uuid(),
    eventId: z.uuid(),
    eventType: z.string(),
    status: z.enum(['pending', 'delivering', 'delivered', 'dead']),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    nextAttemptAt: z.string(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    lastAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('WebhookDelivery');

export const NumberCheckRequest = z
  .strictObject({ numbers: z.array(Phone).min(1).max(50) })
  .openapi('NumberCheckRequest');

export const NumberCheckView = z
  .object({
    id: z.uuid(),
    agentId: z.uuid(),
    status: z.enum(['pending', 'running', 'done', 'failed']),
    numbers: z.array(z.string()),
    results: z.array(z.object({ number: z.string(), exists: z.boolean(), jid: z.string().nullable() })).nullable(),
    error: z.string().nullable(),
    createdAt: z.string(),
    completedAt: z.string().nullable(),
  })
  .openapi('NumberCheck');

export const ROTATION_OVERLAP_DEFAULT_SECONDS = 24 * 3600;
export const ROTATION_OVERLAP_MAX_SECONDS = 7 * 24 * 3600;

export const RotateWebhookSecret = z
  .strictObject({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(ROTATION_OVERLAP_MAX_SECONDS)
      .default(ROTATION_OVERLAP_DEFAULT_SECONDS)
      .openapi({ description: 'How long deliveries stay signed with the old secret as well (0 ends it now; at most 7 days)' }),
  })
  .openapi('RotateWebhookSecret');

export const RotatedWebhookSecret = z
  .object({
    id: z.uuid(),
    secret: z.string().openapi({ description: 'The new signing secret (`whsec_` + base64), shown once' }),
    previousSecretExpiresAt: z
      .string()
      .nullable()
      .openapi({ description: 'Until then every delivery carries a signature with the old secret too; null when the overlap is 0' }),
  })
  .openapi('RotatedWebhookSecret');
