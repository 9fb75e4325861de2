/**
 * Data subject requests for one contact of the organisation (GDPR access and erasure): an export of
 * everything stored about them across the organisation's agents, and its erasure. Organisation-level and
 * destructive, so a signed-in owner or admin only (no API key); erasure needs `confirm: true`. Each request
 * is recorded with a hash of the contact (private.data_requests, and the audit log); statistics stay.
 */
import { createRoute, type z } from '@hono/zod-openapi';
import { errorResponses } from '../../_shared/contracts/common.ts';
import { DataExport, type DataRequestCounts, EraseRequest, EraseResult, ExportRequest } from '../../_shared/contracts/data-requests.ts';
import { HttpError } from '../../_shared/http/errors.ts';
import { rateFromRow, setRateHeaders } from '../../_shared/http/rate-limit.ts';
import { type DataRequestParams, eraseDataSubject, exportDataSubject } from '../../_shared/sql/data-requests.ts';
import { role } from '../guards.ts';
import { readableContent, readablePayload } from '../stored-content.ts';
import type { Ctx, GatewayApp } from '../types.ts';
import { actorOf, iso, isoNow, principalOf } from '../util.ts';

const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { 'application/json': { schema } } });
const security = [{ bearer: [] }];

type Row = Record<string, unknown>;
type Export = z.infer<typeof DataExport>;

const str = (v: unknown): string => String(v ?? '');
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const int = (v: unknown): number => Number(v ?? 0);
const rows = (v: unknown): Row[] => (Array.isArray(v) ? (v as Row[]) : []);

function countsView(c: unknown): z.infer<typeof DataRequestCounts> {
  const r = (c ?? {}) as Row;
  return {
    outboundMessages: int(r.outbound_messages), inboundMessages: int(r.inbound_messages), numberChecks: int(r.number_checks), events: int(r.events),
    webhookDeliveries: int(r.webhook_deliveries), signalKeys: int(r.signal_keys), mediaObjects: int(r.media_objects),
  };
}

/** The SQL document (snake_case rows as jsonb) as the API shows it; every message content through readableContent. */
async function exportView(requestId: string, document: unknown, counts: unknown): Promise<Export> {
  const d = (document ?? {}) as Row;
  const contact = (d.contact ?? {}) as Row;
  return {
    requestId,
    contact: { phones: (contact.phones as string[]) ?? [], lids: (contact.lids as string[]) ?? [] },
    outboundMessages: await Promise.all(rows(d.outbound_messages).map(async (m) => ({
      id: str(m.id), agentId: str(m.agent_id), waMessageId: str(m.wa_message_id), recipient: str(m.recipient), type: str(m.type),
      content: await readableContent(m.content), status: str(m.status), errorCode: strOrNull(m.error_code), errorMessage: strOrNull(m.error_message),
      createdAt: isoNow(str(m.created_at)), sentAt: iso(strOrNull(m.sent_at)), deliveredAt: iso(strOrNull(m.delivered_at)),
      readAt: iso(strOrNull(m.read_at)), failedAt: iso(strOrNull(m.failed_at)),
    }))),
    inboundMessages: await Promise.all(rows(d.inbound_messages).map(async (m) => ({
      id: str(m.id), agentId: str(m.agent_id), waMessageId: str(m.wa_message_id), chatJid: str(m.chat_jid), senderPhone: strOrNull(m.sender_phone),
      senderLid: strOrNull(m.sender_lid), fromMe: m.from_me === true, type: str(m.type), content: await readableContent(m.content),
      quotedWaMessageId: strOrNull(m.quoted_wa_message_id), sentAt: iso(strOrNull(m.sent_at)), createdAt: isoNow(str(m.created_at)),
    }))),
    numberChecks: rows(d.number_checks).map((n) => ({
      id: str(n.id), agentId: str(n.agent_id), status: str(n.status), numbers: (n.numbers as string[]) ?? [],
      results: Array.isArray(n.result) ? rows(n.result).map((r) => ({ number: str(r.number), exists: r.exists === true, jid: strOrNull(r.jid) })) : null,
      createdAt: isoNow(str(n.created_at)), completedAt: iso(strOrNull(n.completed_at)),
    })),
    events: await Promise.all(rows(d.events).map(async (e) => ({
      id: str(e.id), agentId: strOrNull(e.agent_id), type: str(e.type), severity: str(e.severity), payload: await readablePayload(e.payload), createdAt: isoNow(str(e.created_at)),
    }))),
    webhookDeliveries: rows(d.webhook_deliveries).map((w) => ({
      id: str(w.id), endpointId: str(w.endpoint_id), eventId: str(w.event_id), status: str(w.status), attempts: int(w.attempts),
      lastStatusCode: w.last_status_code == null ? null : int(w.last_status_code), lastAttemptAt: iso(strOrNull(w.last_attempt_at)),
      deliveredAt: iso(strOrNull(w.delivered_at)), createdAt: isoNow(str(w.created_at)),
    })),
    signalKeys: rows(d.signal_keys).map((k) => ({ agentId: str(k.agent_id), keyType: str(k.key_type), count: int(k.count) })),
    mediaObjects: rows(d.media_objects).map((o) => ({ key: str(o.key), sha256: str(o.sha256), size: int(o.size), registeredAt: isoNow(str(o.registered_at)) })),
    counts: countsView(counts),
  };
}

export function registerDataRequestRoutes(app: GatewayApp, { sql, config, logger, mediaStore }: Ctx): void {
  const params = (c: Parameters<typeof actorOf>[0], body: { contact: string; agentId?: string | undefined }): DataRequestParams => {
    const principal = principalOf(c);
    return {
      owner: principal.ownerId, requestedBy: principal.kind === 'user' ? principal.userId : principal.keyId, actor: actorOf(c),
      contact: body.contact, agent: body.agentId ?? null, limit: config.limits.dataRequests,
    };
  };

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/data-requests/export', operationId: 'exportContactData', tags: ['Data requests'], security, middleware: [role('admin')],
      summary: `Everything stored about one contact (number or LID) across the organisation's agents, as one document; audited. Owners and admins, signed in; ${config.limits.dataRequests.capacity} requests (exports and erasures) per ${config.limits.dataRequests.windowSeconds} s`,
      request: { body: { required: true, content: { 'application/json': { schema: ExportRequest } } } },
      responses: { 200: json(DataExport, 'The export'), ...errorResponses },
    }),
    async (c) => {
      const row = await exportDataSubject(sql, params(c, c.req.valid('json')));
      setRateHeaders(c, rateFromRow(row));
      c.header('Cache-Control', 'no-store');
      return c.json(await exportView(row.request_id, row.document, row.counts), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post', path: '/v1/data-requests/erase', operationId: 'eraseContactData', tags: ['Data requests'], security, middleware: [role('admin')],
      summary: "Erase one contact (number or LID) from the organisation's agents: messages both ways, number checks, events and their webhook deliveries, media only they used, Signal sessions; statistics stay. Needs confirm: true; owners and admins, signed in; audited with a hash of the contact",
      request: { body: { required: true, content: { 'application/json': { schema: EraseRequest } } } },
      responses: { 200: json(EraseResult, 'Erased (all counts 0 when nothing was stored)'), ...errorResponses },
    }),
    async (c) => {
      const row = await eraseDataSubject(sql, params(c, c.req.valid('json')), async (keys) => {
        try {
          await mediaStore.delete(keys);
        } catch (error) {
          logger.error({ err: error instanceof Error ? error.message : String(error), objects: keys.length }, 'deleting erased media failed');
          throw new HttpError(503, 'unavailable', 'The media store is unavailable; nothing was erased, try again', undefined, { 'Retry-After': '5' });
        }
      });
      setRateHeaders(c, rateFromRow(row));
      return c.json({ requestId: row.request_id, counts: countsView(row.counts) }, 200);
    },
  );
}
