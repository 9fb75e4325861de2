/**
 * Bulk "is this number on WhatsApp": a job row the connector answers. The request waits a bounded
 * time (polling; LISTEN does not pass the transaction pooler) and then answers 200 with the
 * results, or 202 with the job to poll.
 */
import { createRoute, type z } from '@hono/zod-openapi';
import { AgentParams, errorResponses, Uuid } from '../../_shared/contracts/common.ts';
import { NumberCheckRequest, NumberCheckView } from '../../_shared/contracts/integrations.ts';
import { notFound } from '../../_shared/http/errors.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import { createNumberCheck, type NumberCheckRow, numberCheck, readNumberCheck } from '../../_shared/sql/number-checks.ts';
import { agentVisible, scope } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { iso, isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

type View = z.infer<typeof NumberCheckView>;

function toView(r: NumberCheckRow): View {
  const results = Array.isArray(r.result)
    ? (r.result as Array<Record<string, unknown>>).map((x) => ({ number: String(x.number ?? ''), exists: x.exists === true, jid: typeof x.jid === 'string' ? x.jid : null }))
    : null;
  return { id: r.id, agentId: r.agent_id, status: r.status as View['status'], numbers: r.numbers, results, error: r.error, createdAt: isoNow(r.created_at), completedAt: iso(r.completed_at) };
}

const finished = (status: string) => status === 'done' || status === 'failed';

export function registerNumberCheckRoutes(app: GatewayApp, { sql, clock, config }: Ctx): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/agents/{agentId}/number-checks', operationId: 'checkNumbers', tags: ['Number checks'],
      summary: `Check up to 50 numbers; waits up to ${config.numberCheckWaitMs} ms, then 202 with a job to poll (limited to ${config.limits.numberChecks.capacity} numbers per ${config.limits.numberChecks.windowSeconds} s per agent)`, security,
      middleware: [scope('numbers:check'), agentVisible],
      request: { params: AgentParams, body: { required: true, content: { 'application/json': { schema: NumberCheckRequest } } } },
      responses: { 200: json(NumberCheckView, 'Answered'), 202: json(NumberCheckView, 'Still pending; poll the Location'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const { numbers } = c.req.valid('json');
      const created = await createNumberCheck(sql, p.ownerId, agentId, [...new Set(numbers)], config.limits.numberChecks);
      setRateHeaders(c, rateFromRow(created));
      const deadline = clock.now().getTime() + config.numberCheckWaitMs;
      let row: NumberCheckRow | undefined;
      for (;;) {
        row = await numberCheck(sql, created.id);
        if (!row || finished(row.status) || clock.now().getTime() + config.numberCheckPollMs > deadline) break;
        await clock.sleep(config.numberCheckPollMs);
      }
      if (!row) throw notFound('number check'); // the agent was deleted meanwhile
      c.header('Location', `/gateway/v1/agents/${agentId}/number-checks/${row.id}`);
      return finished(row.status) ? c.json(toView(row), 200) : c.json(toView(row), 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/number-checks/{checkId}', operationId: 'getNumberCheck', tags: ['Number checks'], summary: 'Poll a number check', security,
      middleware: [scope('numbers:check'), agentVisible],
      request: { params: AgentParams.extend({ checkId: Uuid }) },
      responses: { 200: json(NumberCheckView, 'The job'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId, checkId } = c.req.valid('param');
      const row = await readNumberCheck(sql, p.ownerId, agentId, checkId);
      if (!row) throw notFound('number check');
      return c.json(toView(row), 200);
    },
  );
}
