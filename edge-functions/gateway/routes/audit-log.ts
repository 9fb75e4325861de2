/** The organisation's audit log: control-plane actions, newest first. Owners and admins, signed in. */
import { createRoute, type z } from '@hono/zod-openapi';
import { type AuditEntryView, AuditListQuery, AuditPage } from '../../_shared/contracts/audit-log.ts';
import { decodeCursor, encodeCursor, errorResponses } from '../../_shared/contracts/common.ts';
import { HttpError } from '../../_shared/http/errors.ts';
import { type AuditRow, listAuditLog } from '../../_shared/sql/audit-log.ts';
import { role } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

type View = z.infer<typeof AuditEntryView>;

// action and actor_type are text in SQL, held to the same lists by CHECKs (kernel/audit-actions.ts).
const toView = (r: AuditRow): View => ({
  id: r.id, createdAt: isoNow(r.created_at), action: r.action as View['action'], agentId: r.agent_id, targetId: r.target_id,
  actor: { type: r.actor_type as View['actor']['type'], id: r.actor },
  clientIp: r.client_ip, userAgent: r.user_agent, requestId: r.request_id, changes: r.changes as Record<string, unknown>,
});

export function registerAuditLogRoutes(app: GatewayApp, { sql }: Ctx): void {
  app.openapi(
    createRoute({
      method: 'get', path: '/v1/audit-log', operationId: 'listAuditLog', tags: ['Audit log'],
      summary: 'Control-plane actions in the organisation (agents, session commands, API keys, webhooks, plan, members, invitations, data requests, operator actions), newest first, with filters and cursor pagination',
      security, middleware: [role('admin')],
      request: { query: AuditListQuery },
      responses: { 200: json(AuditPage, 'A page of audit entries'), ...errorResponses },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const cursor = decodeCursor(q.cursor);
      if (cursor === 'invalid') throw new HttpError(400, 'invalid_request', 'The cursor is malformed', [{ path: 'cursor', message: 'malformed' }]);
      const filters = { actions: q.action ? [q.action] : null, agentId: q.agentId ?? null, actorType: q.actorType ?? null, since: q.since ?? null, until: q.until ?? null };
      const rows = await listAuditLog(sql, principalOf(c).ownerId, filters, cursor, q.limit + 1);
      const page = rows.slice(0, q.limit);
      const last = page.at(-1);
      return c.json({ data: page.map(toView), nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null }, 200);
    },
  );
}
