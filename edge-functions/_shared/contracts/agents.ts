/** Contracts of agents, their session, and statistics. */
import { z } from '@hono/zod-openapi';
import { SESSION_STATUSES } from '../../../kernel/session-statuses.ts';
import { Phone, Text } from './common.ts';

export { SESSION_STATUSES };

const AgentName = Text().trim().min(1).max(100);

export const CreateAgent = z.strictObject({ name: AgentName }).openapi('CreateAgent');

export const UpdateAgent = z.strictObject({ name: AgentName }).openapi('UpdateAgent');

export const AgentView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    disabled: z.boolean(),
    disabledReason: z.string().nullable(),
    status: z.enum(SESSION_STATUSES),
    phoneNumber: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Agent');

export const AgentList = z.object({ data: z.array(AgentView) }).openapi('AgentList');

export const LinkRequest = z
  .discriminatedUnion('method', [
    z.strictObject({ method: z.literal('qr') }),
    z.strictObject({ method: z.literal('pairing_code'), phone: Phone }),
  ])
  .openapi('LinkRequest');

export const LinkAccepted = z
  .object({ agentId: z.uuid(), status: z.enum(SESSION_STATUSES), desiredState: z.string(), method: z.string(), requestedAt: z.string() })
  .openapi('LinkAccepted');

export const CommandRequest = z.strictObject({ force: z.boolean().default(false) }).openapi('SessionCommand');

export const SessionView = z
  .object({
    agentId: z.uuid(),
    status: z.enum(SESSION_STATUSES),
    statusReason: z.string().nullable(),
    desiredState: z.enum(['connected', 'disconnected']),
    pendingCommand: z.string().nullable(),
    qr: z.object({ text: z.string(), image: z.string().openapi({ description: 'PNG data URL' }), expiresAt: z.string().nullable() }).nullable(),
    pairingCode: z.string().nullable(),
    phoneNumber: z.string().nullable(),
    lastError: z.object({ code: z.number().int().nullable(), reason: z.string().nullable(), at: z.string().nullable() }).nullable(),
    ownerConnector: z
      .object({ leaseUntil: z.string().nullable() })
      .nullable()
      .openapi({ description: 'Set while a connector holds the session (which one, and where, is for operators only: ops.sessions)' }),
    heartbeatAgeSeconds: z.number().nullable(),
    lastConnectedAt: z.string().nullable(),
    statusChangedAt: z.string(),
  })
  .openapi('Session');

export const SendingStatus = z
  .object({ inFlight: z.number().int(), queued: z.number().int(), oldestQueuedAt: z.string().nullable(), canRestart: z.boolean() })
  .openapi('SendingStatus');

const Day = z.iso.date();
export const StatsQuery = z.object({ from: Day.optional(), to: Day.optional() });
export const StatsView = z
  .object({
    agentId: z.uuid(),
    from: z.string(),
    to: z.string(),
    days: z.array(
      z.object({
        day: z.string(),
        queued: z.number().int(),
        sent: z.number().int(),
        delivered: z.number().int(),
        read: z.number().int(),
        failed: z.number().int(),
        received: z.number().int(),
        apiCalls: z.number().int().openapi({ description: 'API requests that changed something (sends, link requests, session commands, number checks); reads are not counted' }),
      }),
    ),
  })
  .openapi('Stats');
