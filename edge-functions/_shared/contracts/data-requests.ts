/**
 * Data subject requests (GDPR access and erasure) for one contact of the tenant: what a caller
 * POSTs and what the export document looks like.
 *
 *   { "contact": "+44 7700 900111" }              a phone number as people write it
 *   { "contact": "98765432101234@lid" }           a WhatsApp LID
 *   { "contact": "...", "confirm": true }         erase: the confirmation is required
 */
import { z } from '@hono/zod-openapi';
import { normalisePhone, Uuid } from './common.ts';

const LID_JID = /^([0-9]{1,24})(?::[0-9]{1,3})?@lid$/;
const PHONE_JID = /^([0-9]{1,15})(?::[0-9]{1,3})?@s\.whatsapp\.net$/;

/**
 * A contact as E.164 digits or `<id>@lid` (what gateway.export_data_subject takes), from a
 * number as people write it or a JID of either form (a device suffix `:<n>` is dropped); null
 * when it is neither.
 */
export function normaliseContact(input: string): string | null {
  const trimmed = input.trim();
  const lid = LID_JID.exec(trimmed);
  if (lid) return `${lid[1]}@lid`;
  const phoneJid = PHONE_JID.exec(trimmed);
  if (phoneJid) return normalisePhone(`+${phoneJid[1]}`);
  return normalisePhone(trimmed);
}

export const Contact = z
  .string()
  .max(64)
  .transform((value, ctx) => {
    const contact = normaliseContact(value);
    if (!contact) {
      ctx.addIssue({ code: 'custom', message: 'Not a phone number in international format (E.164), a <number>@s.whatsapp.net JID or a <id>@lid LID' });
      return z.NEVER;
    }
    return contact;
  })
  .openapi({ type: 'string', example: '+447700900111', description: 'The contact: an international phone number, its JID, or a WhatsApp LID (`<id>@lid`)' });

const AgentFilter = Uuid.optional().openapi({ description: 'Only this agent; all agents of the account when left out' });

export const ExportRequest = z.strictObject({ contact: Contact, agentId: AgentFilter }).openapi('DataExportRequest');

export const EraseRequest = z
  .strictObject({
    contact: Contact,
    agentId: AgentFilter,
    confirm: z.literal(true, { error: 'must be true: erasing cannot be undone' }).openapi({ description: 'Must be true: erasing cannot be undone' }),
  })
  .openapi('DataEraseRequest');

export const DataRequestCounts = z
  .object({
    outboundMessages: z.number().int(),
    inboundMessages: z.number().int(),
    numberChecks: z.number().int(),
    events: z.number().int(),
    webhookDeliveries: z.number().int(),
    signalKeys: z.number().int(),
    mediaObjects: z.number().int(),
  })
  .openapi('DataRequestCounts');

const Timestamp = z.string().nullable();
const Content = z.record(z.string(), z.unknown());

export const DataExport = z
  .object({
    requestId: z.string(),
    contact: z.object({
      phones: z.array(z.string()).openapi({ description: 'E.164 digits' }),
      lids: z.array(z.string()).openapi({ description: "The LIDs (`<id>@lid`) the account's inbound messages paired with the number" }),
    }),
    outboundMessages: z.array(
      z.object({
        id: z.string(), agentId: z.string(), waMessageId: z.string(), recipient: z.string(), type: z.string(), content: Content, status: z.string(),
        errorCode: z.string().nullable(), errorMessage: z.string().nullable(),
        createdAt: z.string(), sentAt: Timestamp, deliveredAt: Timestamp, readAt: Timestamp, failedAt: Timestamp,
      }),
    ),
    inboundMessages: z.array(
      z.object({
        id: z.string(), agentId: z.string(), waMessageId: z.string(), chatJid: z.string(), senderPhone: z.string().nullable(), senderLid: z.string().nullable(),
        fromMe: z.boolean(), type: z.string(), content: Content, quotedWaMessageId: z.string().nullable(), sentAt: Timestamp, createdAt: z.string(),
      }),
    ),
    numberChecks: z.array(
      z.object({
        id: z.string(), agentId: z.string(), status: z.string(),
        numbers: z.array(z.string()).openapi({ description: "Only the contact's numbers of the check" }),
        results: z.array(z.object({ number: z.string(), exists: z.boolean(), jid: z.string().nullable() })).nullable(),
        createdAt: z.string(), completedAt: Timestamp,
      }),
    ),
    events: z.array(z.object({ id: z.string(), agentId: z.string().nullable(), type: z.string(), severity: z.string(), payload: Content, createdAt: z.string() })),
    webhookDeliveries: z.array(
      z.object({
        id: z.string(), endpointId: z.string(), eventId: z.string(), status: z.string(), attempts: z.number().int(),
        lastStatusCode: z.number().int().nullable(), lastAttemptAt: Timestamp, deliveredAt: Timestamp, createdAt: z.string(),
      }),
    ),
    signalKeys: z
      .array(z.object({ agentId: z.string(), keyType: z.string(), count: z.number().int() }))
      .openapi({ description: 'How many Signal keys each agent holds for the contact (sessions, identity keys, device list, LID mapping); never their material' }),
    mediaObjects: z.array(z.object({ key: z.string(), sha256: z.string(), size: z.number().int(), registeredAt: z.string() })),
    counts: DataRequestCounts,
  })
  .openapi('DataExport');

export const EraseResult = z.object({ requestId: z.string(), counts: DataRequestCounts }).openapi('DataEraseResult');
