/** The WhatsApp session of an agent: link (QR or pairing code), status, commands, sending status. */
import { createRoute, z } from '@hono/zod-openapi';
import QRCode from 'qrcode';
import { CommandRequest, LinkAccepted, LinkRequest, SendingStatus, SessionView } from '../../_shared/contracts/agents.ts';
import { AgentParams, errorResponses } from '../../_shared/contracts/common.ts';
import { notFound } from '../../_shared/http/errors.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import { readSession, requestLink, requestSessionCommand, type SessionRow, sendingStatus } from '../../_shared/sql/sessions.ts';
import { agentVisible, scope } from '../guards.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { actorOf, iso, isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

type View = z.infer<typeof SessionView>;

async function toView(r: SessionRow): Promise<View> {
  // The image is made here rather than stored: QR codes rotate every ~20 s and are only shown live.
  const qr = r.qr_code
    ? { text: r.qr_code, image: await QRCode.toDataURL(r.qr_code, { errorCorrectionLevel: 'M', margin: 1, width: 264 }), expiresAt: iso(r.qr_expires_at) }
    : null;
  return {
    agentId: r.agent_id,
    status: r.status as View['status'],
    statusReason: r.status_reason,
    desiredState: r.desired_state as View['desiredState'],
    pendingCommand: r.pending_command,
    qr,
    pairingCode: r.pairing_code,
    phoneNumber: r.phone_number,
    lastError: r.last_disconnect_code !== null || r.last_disconnect_reason !== null
      ? { code: r.last_disconnect_code, reason: r.last_disconnect_reason, at: iso(r.last_disconnected_at) }
      : null,
    // Connector ids, host names and PIDs are infrastructure: tenants only learn that one holds it.
    ownerConnector: r.held ? { leaseUntil: iso(r.lease_until) } : null,
    heartbeatAgeSeconds: r.heartbeat_age === null ? null : Math.max(0, Math.round(Number(r.heartbeat_age))),
    lastConnectedAt: iso(r.last_connected_at),
    statusChangedAt: isoNow(r.status_changed_at),
  };
}

export function registerSessionRoutes(app: GatewayApp, { sql, config }: Ctx): void {
  app.openapi(
    createRoute({
      method: 'post', path: '/v1/agents/{agentId}/session/link', operationId: 'linkSession', tags: ['Session'],
      summary: `Link by QR code or pairing code (limited to ${config.limits.link.capacity} per ${config.limits.link.windowSeconds / 60} minutes per agent)`, security,
      middleware: [scope('sessions:write'), agentVisible],
      request: { params: AgentParams, body: { required: true, content: { 'application/json': { schema: LinkRequest } } } },
      responses: { 202: json(LinkAccepted, 'Requested; watch the session status for the QR or pairing code'), 409: json(z.unknown(), 'Already connected or disabled'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const body = c.req.valid('json');
      const phone = body.method === 'pairing_code' ? body.phone : null;
      const row = await requestLink(sql, p.ownerId, agentId, body.method, phone, config.limits.link, actorOf(c));
      setRateHeaders(c, rateFromRow(row));
      return c.json({ agentId, status: row.status as View['status'], desiredState: row.desired_state, method: row.link_method, requestedAt: isoNow(row.link_requested_at) }, 202);
    },
  );

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/session', operationId: 'getSession', tags: ['Session'], summary: 'Session status with QR (text and PNG), pairing code, last error, owner connector and heartbeat age', security,
      middleware: [scope('sessions:read'), agentVisible],
      request: { params: AgentParams },
      responses: { 200: json(SessionView, 'The session'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const row = await readSession(sql, p.ownerId, agentId);
      if (!row) throw notFound('agent');
      return c.json(await toView(row), 200);
    },
  );

  for (const command of ['disconnect', 'logout', 'restart'] as const) {
    app.openapi(
      createRoute({
        method: 'post', path: `/v1/agents/{agentId}/session/${command}`, operationId: `${command}Session`, tags: ['Session'],
        summary: `${command[0]!.toUpperCase()}${command.slice(1)} the session (refused with 409 while sends are in flight unless force is true; restart, disconnect and logout together are limited to ${config.limits.sessionCommands.capacity} per ${config.limits.sessionCommands.windowSeconds / 60} minutes per agent)`, security,
        middleware: [scope('sessions:write'), agentVisible],
        request: { params: AgentParams, body: { required: false, content: { 'application/json': { schema: CommandRequest } } } },
        responses: { 202: json(SessionView, 'Command recorded; the connector carries it out'), 409: json(z.unknown(), 'Sends in flight or session not running'), ...errorResponses },
      }),
      async (c) => {
        const p = principalOf(c);
        const { agentId } = c.req.valid('param');
        const force = (c.req.valid('json') as { force?: boolean }).force ?? false;
        const row = await requestSessionCommand(sql, p.ownerId, agentId, command, force, config.limits.sessionCommands, actorOf(c));
        setRateHeaders(c, rateFromRow(row));
        return c.json(await toView(row), 202);
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'get', path: '/v1/agents/{agentId}/session/sending-status', operationId: 'getSendingStatus', tags: ['Session'], summary: 'Sends in flight and queued (whether a restart would be refused)', security,
      middleware: [scope('sessions:read'), agentVisible],
      request: { params: AgentParams },
      responses: { 200: json(SendingStatus, 'Sending status'), ...errorResponses },
    }),
    async (c) => {
      const p = principalOf(c);
      const { agentId } = c.req.valid('param');
      const row = await sendingStatus(sql, p.ownerId, agentId);
      const inFlight = Number(row?.in_flight ?? 0);
      return c.json({ inFlight, queued: Number(row?.queued ?? 0), oldestQueuedAt: iso(row?.oldest_queued_at), canRestart: inFlight === 0 }, 200);
    },
  );
}
