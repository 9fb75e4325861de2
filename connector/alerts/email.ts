// Alerts by email (seed 000): works the alert-mail outbox (private.alert_emails) that a trigger
// fills in the transaction of each mailed alert event (supabase/migrations/…_alert_emails.sql).
// Any connector with ALERT_SMTP_URL runs it; claims are shared out in SQL (FOR UPDATE SKIP
// LOCKED, visibility timeout) and outcomes are written only for rows this connector still holds,
// so two connectors never send one row, and a crashed connector's rows come back (a mail may then
// go out twice, never zero times).
//
// The loop (connector/poll-loop.ts): at its first round it stores this connector's ALERT_EMAIL_*
// settings for the trigger, then claims a few due mails, sends them over SMTP (nodemailer) side
// by side and writes each outcome as soon as it is known:
//   accepted by the server                         → sent
//   recipient refused with a 5xx (RCPT TO)         → dead (no retry: the address is wrong)
//   anything else (connection, timeout, auth, 4xx) → retry after exponential backoff with jitter
//   out of attempts                                → dead (SQL)
// A mail is plain text: the agent's name and masked phone number, the alert type, severity and
// time, and the event's details with phone numbers masked and secret-named fields left out.
import nodemailer, { type Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { type Clock, systemClock } from '../clock.ts';
import type { ExtensionFactory } from '../connector.ts';
import { maskPhones, REDACT_PATHS } from '../logging/logger.ts';
import { createPollLoop } from '../poll-loop.ts';
import { type AlertEmailOutcome, type ClaimedAlertEmail, claimAlertEmails, completeAlertEmails, configureAlertEmails } from '../sql/alert-emails.ts';
import { backoffMs } from '../webhooks/backoff.ts';
import type { AlertEmailConfig } from './config.ts';

/** Mails claimed (and SMTP connections opened) at once. */
const CLAIM_LIMIT = 5;

const WHAT: Record<string, string> = {
  'alert.logged_out': 'The WhatsApp session was logged out (401): the phone must link it again.',
  'alert.repeated_logouts': 'The WhatsApp session was logged out several times within 24 hours.',
  'alert.disconnected_long': 'The WhatsApp session has been disconnected for more than 5 minutes.',
  'alert.conflict': 'The WhatsApp session was replaced by another connection (440 conflict).',
  'alert.heartbeat_failing': 'The WhatsApp session has had no heartbeat for more than 5 minutes.',
};

const SECRET_FIELDS = new Set(REDACT_PATHS.filter((p) => !p.includes('.')).map((p) => p.toLowerCase()));

export interface AlertMail {
  subject: string;
  text: string;
}

/** The mail of one claimed alert: nothing secret, no full phone number. */
export function alertMail(row: ClaimedAlertEmail): AlertMail {
  // A tenant chose the name: no line breaks of theirs in a header or among the mail's lines.
  const agent = (row.agent_name ?? 'no agent').replace(/\p{Cc}+/gu, ' ');
  const phone = row.phone_number ? maskPhones(row.phone_number) : 'not linked';
  const at = new Date(row.event_created_at).toISOString();
  const details = Object.entries((row.payload ?? {}) as Record<string, unknown>)
    .filter(([k]) => !SECRET_FIELDS.has(k.toLowerCase()))
    .map(([k, v]) => `  ${k}: ${maskPhones(typeof v === 'string' ? v : JSON.stringify(v)).slice(0, 300)}`);
  const text = [
    `Alert: ${row.event_type} (${row.severity})`,
    WHAT[row.event_type] ?? '',
    '',
    `Agent: ${agent}${row.agent_id ? ` (${row.agent_id})` : ''}`,
    `Phone: ${phone}`,
    `Time: ${at}`,
    ...(details.length ? ['Details:', ...details] : []),
    '',
    `Event id: ${row.event_id}`,
  ].join('\n');
  return { subject: maskPhones(`[wa-gateway] ${row.event_type}: ${agent} (${phone})`), text };
}

export interface AlertEmailSenderDeps {
  sql: Sql;
  connectorId: string;
  config: AlertEmailConfig;
  logger: Logger;
  clock?: Clock;
  random?: () => number;
}

export interface AlertEmailSender {
  start(): void;
  /** One round: settings stored, claim, send, complete. Returns the mails claimed. For tests. */
  runOnce(): Promise<number>;
  /** Stops polling, waits for the round in flight, closes the SMTP connection. */
  stop(): Promise<void>;
}

export function createAlertEmailSender(deps: AlertEmailSenderDeps): AlertEmailSender {
  const { sql, connectorId, config } = deps;
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? Math.random;
  const log = deps.logger.child({ module: 'alert-email' });
  const password = decodeURIComponent(new URL(config.smtpUrl).password);
  const transport: Transporter = nodemailer.createTransport({
    url: config.smtpUrl,
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
    logger: false,
    debug: false,
  });
  let configured = false;

  /** An SMTP error for last_error and the log, without the password should a server echo it. */
  function describe(error: unknown): string {
    const message = error instanceof Error ? error.message : String(error);
    return password ? message.split(password).join('[redacted]') : message;
  }

  async function send(row: ClaimedAlertEmail): Promise<AlertEmailOutcome> {
    const mail = alertMail(row);
    try {
      await transport.sendMail({ from: config.from, to: row.recipient, subject: mail.subject, text: mail.text });
      log.info({ mailId: row.id, eventId: row.event_id, eventType: row.event_type, attempt: row.attempts }, 'alert mail sent');
      return { id: row.id, outcome: 'sent' };
    } catch (error) {
      const smtp = error as { code?: string; command?: string; responseCode?: number };
      const reason = describe(error);
      // Only a refused recipient is final; a refused sender is this configuration's to fix.
      if (smtp.code === 'EENVELOPE' && smtp.command === 'RCPT TO' && (smtp.responseCode ?? 0) >= 500) {
        log.error({ mailId: row.id, eventId: row.event_id, error: reason }, 'alert mail refused for good');
        return { id: row.id, outcome: 'dead', error: reason };
      }
      const delay = backoffMs({ baseMs: config.baseMs, maxMs: config.maxMs, maxRetryAfterMs: 0 }, row.attempts, random);
      log.warn({ mailId: row.id, eventId: row.event_id, attempt: row.attempts, retryInMs: delay, error: reason }, 'alert mail not sent; will retry');
      return { id: row.id, outcome: 'retry', error: reason, retry_at: new Date(clock.wall() + delay).toISOString() };
    }
  }

  async function round(): Promise<number> {
    if (!configured) {
      await configureAlertEmails(sql, { connector: connectorId, eventTypes: config.types, recipients: config.to, owners: config.owners });
      configured = true;
    }
    const rows = await claimAlertEmails(sql, { connector: connectorId, limit: CLAIM_LIMIT, visibilitySeconds: config.visibilitySeconds });
    // Side by side, so every mail of the claim is done within the visibility timeout (one SMTP
    // exchange's timeouts), and each outcome written as soon as it is known: a crash then resends
    // at most the mails in flight.
    await Promise.all(rows.map(async (row) => completeAlertEmails(sql, { connector: connectorId, results: [await send(row)] })));
    return rows.length;
  }

  const loop = createPollLoop({ name: 'sending alert mails', fetch: async () => (await round()) >= CLAIM_LIMIT, intervalMs: config.pollIntervalMs, logger: log });

  return {
    start: () => loop.start(),
    runOnce: round,
    async stop() {
      await loop.stop();
      transport.close();
    },
  };
}

/** The sender as a connector extension; compose.ts adds it when ALERT_SMTP_URL is set. */
export function createAlertEmailExtension(): ExtensionFactory {
  return (ctx) => {
    const config = ctx.config.alertEmail;
    if (!config) return {};
    const sender = createAlertEmailSender({ sql: ctx.sql, connectorId: ctx.config.connectorId, config, logger: ctx.logger, clock: ctx.clock });
    sender.start();
    return { drain: () => sender.stop(), stop: () => sender.stop() };
  };
}
