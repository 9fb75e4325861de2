/** Agents (create within the plan, list, get, rename, delete) and their daily statistics. */
import { createRoute, type z } from '@hono/zod-openapi';
import { HttpError, notFound } from '../../_shared/http/errors.ts';
import { AgentList, AgentView, CreateAgent, StatsQuery, StatsView, UpdateAgent } from '../../_shared/contracts/agents.ts';
import { AgentParams, errorResponses } from '../../_shared/contracts/common.ts';
import { type AgentRow, createAgent, dailyStats, deleteAgent, listAgents, readAgent, renameAgent } from '../../_shared/sql/agents.ts';
import { agentVisible, role, scope } from '../guards.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { actorOf, isoNow, principalOf } from '../util.ts';

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

export function registerAgentRoutes(app: GatewayApp, { sql, clock, config }: Ctx): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/agents', operationId: 'createAgent', tags: ['Agents'], summary: 'Create an agent (plan limit of the organisation enforced; developer role)', security, middleware: [role('developer')],
      request: { body: { required: true, content: { 'application/json': { schema: CreateAgent } } } },
      responses: { 201: json(AgentView, 'Created'), ...errorResponses },
    }),
    async (c) => {
      const { name } = c.req.valid('json');
      return c.json(toView(await createAgent(sql, principalOf(c).ownerId, name, actorOf(c))), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents', operationId: 'listAgents', tags: ['Agents'], summary: 'List agents', security, middleware: [scope('agents:read')],
      responses: { 200: json(AgentList, 'The caller\'s agents'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const rows = await listAgents(sql, p.ownerId, p.kind === 'api_key' ? p.agentId : null);
      return c.json({ data: rows.map(toView) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}', operationId: 'getAgent', tags: ['Agents'], summary: 'Get an agent', security, middleware: [scope('agents:read'), agentVisible],
      request: { params: AgentParams },
      responses: { 200: json(AgentView, 'The agent'), ...errorResponses },
    }),
    async (c) => {
      const row = await readAgent(sql, principalOf(c).ownerId, c.req.valid('param').agentId);
      if (!row) throw notFound('agent');
      return c.json(toView(row), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch', path: '/v1/agents/{agentId}', operationId: 'renameAgent', tags: ['Agents'], security, middleware: [role('developer')],
      summary: `Rename an agent (limited to ${config.limits.agentRenames.capacity} per ${config.limits.agentRenames.windowSeconds / 60} minutes per agent)`,
      request: { params: AgentParams, body: { required: true, content: { 'application/json': { schema: UpdateAgent } } } },
      responses: { 200: json(AgentView, 'Renamed'), ...errorResponses },
    }),
    async (c) => {
      const { agentId } = c.req.valid('param');
      const row = await renameAgent(sql, principalOf(c).ownerId, agentId, c.req.valid('json').name, config.limits.agentRenames, actorOf(c));
      setRateHeaders(c, rateFromRow(row));
      return c.json(toView(row), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete', path: '/v1/agents/{agentId}', operationId: 'deleteAgent', tags: ['Agents'], summary: 'Delete an agent, ending its session and wiping its secrets (developer role)', security, middleware: [role('developer')],
      request: { params: AgentParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      await deleteAgent(sql, principalOf(c).ownerId, c.req.valid('param').agentId, actorOf(c));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/stats', operationId: 'getAgentStats', tags: ['Statistics'], summary: 'Per-day statistics (UTC days; default the last 30)', security, middleware: [scope('stats:read'), agentVisible],
      request: { params: AgentParams, query: StatsQuery },
      responses: { 200: json(StatsView, 'Counts per day, zero-filled'), ...errorResponses },
    }),
    async (c) => {
      const { agentId } = c.req.valid('param');
      const q = c.req.valid('query');
      const day = 86_400_000;
      const to = q.to ?? clock.now().toISOString().slice(0, 10);
      const from = q.from ?? new Date(Date.parse(to) - 29 * day).toISOString().slice(0, 10);
      const span = (Date.parse(to) - Date.parse(from)) / day;
      if (span < 0 || span > 366) throw new HttpError(400, 'invalid_request', 'from must be before to, at most 366 days apart');
      const rows = await dailyStats(sql, principalOf(c).ownerId, agentId, from, to);
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
