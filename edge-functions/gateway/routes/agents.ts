/** Agents (create within the plan, list, get, delete) and their daily statistics. */
import { createRoute, type z } from '@hono/zod-openapi';
import { requireScope, requireUser, visibleAgent } from '../../_shared/auth/principal.ts';
import { HttpError, notFound } from '../../_shared/http/errors.ts';
import { AgentList, AgentView, CreateAgent, StatsQuery, StatsView } from '../../_shared/contracts/agents.ts';
import { AgentParams, errorResponses } from '../../_shared/contracts/common.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { isoNow, principalOf } from '../util.ts';

type AgentRow = { id: string; name: string; disabled_at: Date | null; disabled_reason: string | null; status: string; phone_number: string | null; created_at: Date };

const toView = (r: AgentRow): z.infer<typeof AgentView> => ({
  id: r.id,
  name: r.name,
  disabled: r.disabled_at !== null,
  disabledReason: r.disabled_reason,
  status: r.status as z.infer<typeof AgentView>['status'],
  phoneNumber: r.phone_number,
  createdAt: isoNow(r.created_at),
});

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

export function registerAgentRoutes(app: GatewayApp, { sql, clock }: Ctx): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/agents', tags: ['Agents'], summary: 'Create an agent (plan limit enforced)', security,
      request: { body: { required: true, content: { 'application/json': { schema: CreateAgent } } } },
      responses: { 201: json(AgentView, 'Created'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      requireUser(p);
      const { name } = c.req.valid('json');
      const [row] = await sql<AgentRow[]>`
        select a.*, 'disconnected' as status, null::text as phone_number from gateway.create_agent(${p.ownerId}, ${name}) a`;
      return c.json(toView(row!), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents', tags: ['Agents'], summary: 'List agents', security,
      responses: { 200: json(AgentList, 'The caller\'s agents'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      requireScope(p, 'agents:read');
      const only = p.kind === 'api_key' ? p.agentId : null;
      const rows = await sql<AgentRow[]>`
        select a.*, s.status, s.phone_number from public.agents a join public.whatsapp_sessions s on s.agent_id = a.id
        where a.owner_id = ${p.ownerId} and (${only}::uuid is null or a.id = ${only}::uuid)
        order by a.created_at, a.id`;
      return c.json({ data: rows.map(toView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}', tags: ['Agents'], summary: 'Get an agent', security,
      request: { params: AgentParams },
      responses: { 200: json(AgentView, 'The agent'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      requireScope(p, 'agents:read');
      visibleAgent(p, agentId);
      const [row] = await sql<AgentRow[]>`
        select a.id, a.name, a.disabled_at, a.disabled_reason, a.created_at, s.status, s.phone_number
        from gateway.api_read(${p.ownerId}, ${agentId}) a join public.whatsapp_sessions s on s.agent_id = a.id`;
      if (!row) throw notFound('agent');
      return c.json(toView(row), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/agents/{agentId}', tags: ['Agents'], summary: 'Delete an agent, ending its session and wiping its secrets', security,
      request: { params: AgentParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      requireUser(p);
      const { agentId } = c.req.valid('param');
      await sql`select gateway.delete_agent(${p.ownerId}, ${agentId})`;
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/stats', tags: ['Statistics'], summary: 'Per-day statistics (UTC days; default the last 30)', security,
      request: { params: AgentParams, query: StatsQuery },
      responses: { 200: json(StatsView, 'Counts per day, zero-filled'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const q = c.req.valid('query');
      requireScope(p, 'stats:read');
      visibleAgent(p, agentId);
      const day = 86_400_000;
      const to = q.to ?? clock.now().toISOString().slice(0, 10);
      const from = q.from ?? new Date(Date.parse(to) - 29 * day).toISOString().slice(0, 10);
      const span = (Date.parse(to) - Date.parse(from)) / day;
      if (span < 0 || span > 366) throw new HttpError(400, 'invalid_request', 'from must be before to, at most 366 days apart');
      const rows = await sql<{ day: string; queued: number; sent: number; delivered: number; read: number; failed: number; received: number; api_calls: number }[]>`
        select d.day::text as day, d.queued, d.sent, d.delivered, d.read, d.failed, d.received, d.api_calls
        from gateway.api_read(${p.ownerId}, ${agentId}) a
        left join public.daily_stats d on d.agent_id = a.id and d.day between ${from}::date and ${to}::date`;
      const byDay = new Map(rows.filter((r) => r.day).map((r) => [r.day, r]));
      const days = [];
      for (let t = Date.parse(from); t <= Date.parse(to); t += day) {
        const key = new Date(t).toISOString().slice(0, 10);
        const r = byDay.get(key);
        days.push({ day: key, queued: r?.queued ?? 0, sent: r?.sent ?? 0, delivered: r?.delivered ?? 0, read: r?.read ?? 0, failed: r?.failed ?? 0, received: r?.received ?? 0, apiCalls: r?.api_calls ?? 0 });
      }
      return c.json({ agentId, from, to, days }, 200);
    },
  );
}
