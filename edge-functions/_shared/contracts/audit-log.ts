/** The audit log as the API shows it: who did what, when, from where, newest first. */
import { z } from '@hono/zod-openapi';
import { AUDIT_ACTIONS, AUDIT_ACTOR_TYPES } from '../../../kernel/audit-actions.ts';
import { Cursor, Limit, Uuid } from './common.ts';

export const AuditEntryView = z
  .object({
    id: z.string(),
    createdAt: z.string(),
    action: z.enum(AUDIT_ACTIONS),
    agentId: z.string().nullable(),
    targetId: z.string().nullable().openapi({ description: 'What was acted on when it is not the agent: API key, webhook endpoint, account, key cleanup' }),
    actor: z.object({
      type: z.enum(AUDIT_ACTOR_TYPES),
      id: z.string().openapi({ description: 'user: the user id; api_key: the key prefix; operator: the database role' }),
    }),
    clientIp: z.string().nullable(),
    userAgent: z.string().nullable(),
    requestId: z.string().nullable(),
    changes: z.record(z.string(), z.unknown()).openapi({ description: 'What changed ({field: {from, to}} or the arguments); never a secret, webhook URLs as origin only' }),
  })
  .openapi('AuditEntry');

export const AuditPage = z.object({ data: z.array(AuditEntryView), nextCursor: z.string().nullable() }).openapi('AuditPage');

export const AuditListQuery = z.object({
  action: z.enum(AUDIT_ACTIONS).optional().openapi({ description: 'Only entries of this action' }),
  agentId: Uuid.optional().openapi({ description: 'Only entries about this agent (also once it is deleted)' }),
  actorType: z.enum(AUDIT_ACTOR_TYPES).optional(),
  since: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Entries at or after this time' }),
  until: z.iso.datetime({ offset: true }).optional().openapi({ description: 'Entries before this time' }),
  limit: Limit,
  cursor: Cursor,
});
