// Alerts by email (seed 000) against real Postgres and a real SMTP server (smtp-server, with
// authentication) started here: the trigger queues one mail per recipient in the alert's
// transaction, connectors composed from the environment send them over SMTP, retry what the
// server refuses, and never send one mail twice between them.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../connector/config.ts';
import { startTestConnector, type TestConnector, testEnv, waitFor } from '../../scripts/harness/connector.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { createAgent, createUser } from '../helpers/fixtures.ts';

const USER = 'alerts';
const PASSWORD = 'p@ss w0rd!';
const PHONE = '15550001111';

interface Received {
  from: string;
  to: string[];
  user: string | undefined;
  subject: string;
  body: string;
}

/** Headers unfolded, a quoted-printable body decoded: what the recipient reads. */
function readMail(raw: string): { subject: string; body: string } {
  const [head = '', ...rest] = raw.split('\r\n\r\n');
  const unfolded = head.replace(/\r\n(?=[ \t])/g, '');
  const subject = /^Subject: (.*)$/m.exec(unfolded)?.[1] ?? '';
  let body = rest.join('\r\n\r\n');
  if (/^Content-Transfer-Encoding: quoted-printable$/im.test(unfolded)) {
    body = body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  }
  return { subject, body: body.replace(/\r\n/g, '\n') };
}

let db: TestDatabase;
let server: SMTPServer;
let smtpUrl: string;
const mails: Received[] = [];
/** MAIL FROM commands still to refuse with a 451 (the server "busy"). */
let refuse = 0;
let refused = 0;
const connectors: TestConnector[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  server = new SMTPServer({
    // Plain SMTP on loopback: no certificate to trust in a test; production URLs use TLS.
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: USER });
      else callback(new Error('Invalid username or password'));
    },
    onMailFrom(_address, _session, callback) {
      if (refuse > 0) {
        refuse -= 1;
        refused += 1;
        callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
      } else callback();
    },
    onRcptTo(address, _session, callback) {
      if (address.address.startsWith('bounce@')) callback(Object.assign(new Error('No such mailbox'), { responseCode: 550 }));
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const envelope = session.envelope;
        mails.push({
          from: envelope.mailFrom ? envelope.mailFrom.address : '',
          to: envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          ...readMail(Buffer.concat(chunks).toString('utf8')),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  smtpUrl = `smtp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`;
});
afterAll(async () => {
  for (const c of connectors) await c.stop();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await db?.drop();
});

const mailEnv = (overrides: Record<string, string> = {}) =>
  testEnv(db.url, undefined, {
    ALERT_SMTP_URL: smtpUrl,
    ALERT_EMAIL_FROM: 'gateway@example.test',
    ALERT_EMAIL_TO: 'ops1@example.test, ops2@example.test',
    ALERT_EMAIL_OWNERS: 'true',
    ALERT_EMAIL_POLL_INTERVAL_MS: '100',
    ALERT_EMAIL_BACKOFF_BASE_MS: '50',
    ALERT_EMAIL_BACKOFF_MAX_MS: '200',
    ...overrides,
  });

async function emit(owner: string, agent: string, type: string, payload: object = {}): Promise<string> {
  const [row] = await db.sql`select gateway.emit_event(${owner}, ${agent}, ${type}, 'critical', ${db.sql.json(payload as never)}) as id`;
  return row!.id as string;
}

const mailsOf = (eventId: string) => mails.filter((m) => m.body.includes(`Event id: ${eventId}`));
const unsent = async (eventIds: string[]) =>
  (await db.sql`select count(*)::int as n from private.alert_emails where event_id = any(${eventIds}::uuid[]) and status <> 'sent'`)[0]!.n as number;

describe('alerts by email: configuration', () => {
  it('is off without ALERT_SMTP_URL; a bad value stops the process naming the variable (and never showing the password)', async () => {
    expect((await loadConfig(testEnv(db.url))).alertEmail).toBeUndefined();
    const config = (await loadConfig(mailEnv())).alertEmail;
    expect(config).toMatchObject({ from: 'gateway@example.test', to: ['ops1@example.test', 'ops2@example.test'], owners: true });
    expect(config?.types).toEqual(['alert.logged_out', 'alert.repeated_logouts', 'alert.disconnected_long', 'alert.conflict', 'alert.heartbeat_failing']);

    const bad = await loadConfig(mailEnv({ ALERT_SMTP_URL: `https://${USER}:${PASSWORD}@mail.example.test` })).catch((e: Error & { variable?: string }) => e);
    expect(bad).toMatchObject({ name: 'ConfigError', variable: 'ALERT_SMTP_URL' });
    expect((bad as Error).message).not.toContain(PASSWORD);
    const cases: Array<[Record<string, string>, string]> = [
      [{ ALERT_EMAIL_FROM: '' }, 'ALERT_EMAIL_FROM'],
      [{ ALERT_EMAIL_TO: '', ALERT_EMAIL_OWNERS: 'false' }, 'ALERT_EMAIL_TO'],
      [{ ALERT_EMAIL_TO: 'ops1@example.test, not an address' }, 'ALERT_EMAIL_TO'],
      [{ ALERT_EMAIL_TYPES: 'alert.logged_out,session.status' }, 'ALERT_EMAIL_TYPES'],
      [{ ALERT_EMAIL_OWNERS: 'maybe' }, 'ALERT_EMAIL_OWNERS'],
    ];
    for (const [env, variable] of cases) {
      await expect(loadConfig(mailEnv(env)), variable).rejects.toMatchObject({ variable });
    }
  });

  it('a connector without ALERT_SMTP_URL configures and queues no mail', async () => {
    const plain = await startTestConnector(testEnv(db.url));
    const owner = await createUser(db.sql, 'quiet-owner@example.test');
    const agent = await createAgent(db.sql, owner, 'Quiet');
    await emit(owner, agent, 'alert.logged_out');
    await plain.stop();
    const [counts] = await db.sql`select (select count(*) from private.alert_email_settings)::int as settings, (select count(*) from private.alert_emails)::int as queued`;
    expect(counts).toEqual({ settings: 0, queued: 0 });
    expect(mails).toEqual([]);
  });
});

describe('alerts by email: delivery', () => {
  let owner: string;
  let agent: string;

  beforeAll(async () => {
    owner = await createUser(db.sql, 'owner@example.test');
    agent = await createAgent(db.sql, owner, 'Front desk');
    await db.sql`update public.whatsapp_sessions set phone_number = ${PHONE} where agent_id = ${agent}`;
    connectors.push(await startTestConnector(mailEnv()));
    await waitFor(async () => (await db.sql`select 1 from private.alert_email_settings`).length > 0, 20_000, 'the connector to store its mail settings');
  });

  it('an alert of a mailed type is mailed once to each operator and to the owner; other events are not mailed', async () => {
    const other = await emit(owner, agent, 'alert.session_inactive');
    await emit(owner, agent, 'session.status', { status: 'connected' });
    const rolledBack = await db.sql
      .begin(async (tx) => {
        await tx`select gateway.emit_event(${owner}, ${agent}, 'alert.conflict', 'critical', '{}'::jsonb)`;
        throw new Error('abort');
      })
      .catch(() => 'rolled back');
    expect(rolledBack).toBe('rolled back');
    const event = await emit(owner, agent, 'alert.logged_out', { code: 401, reason: `logged out on ${PHONE}`, token: 'must-not-be-mailed' });

    await waitFor(async () => (await unsent([event])) === 0 && mailsOf(event).length >= 3, 20_000, 'three alert mails');
    const got = mailsOf(event);
    expect(got.map((m) => m.to.join(',')).sort()).toEqual(['ops1@example.test', 'ops2@example.test', 'owner@example.test']);
    const [at] = await db.sql`select created_at from public.events where id = ${event}`;
    for (const mail of got) {
      expect(mail).toMatchObject({ from: 'gateway@example.test', user: USER });
      expect(mail.subject).toBe('[wa-gateway] alert.logged_out: Front desk (1555*****11)');
      expect(mail.body).toContain('Alert: alert.logged_out (critical)');
      expect(mail.body).toContain(`Agent: Front desk (${agent})`);
      expect(mail.body).toContain('Phone: 1555*****11');
      expect(mail.body).toContain(`Time: ${(at!.created_at as Date).toISOString()}`);
      expect(mail.body).toContain('reason: logged out on 1555*****11');
      expect(`${mail.subject}\n${mail.body}`).not.toContain(PHONE);
      expect(mail.body).not.toContain('must-not-be-mailed');
    }
    expect(await db.sql`select 1 from private.alert_emails where event_id = ${other}`).toHaveLength(0);
    expect(mails.filter((m) => !m.body.includes(`Event id: ${event}`))).toEqual([]);
  });

  it('mails the server refuses are retried with backoff and then sent, once each; the password is never logged', async () => {
    refuse = 2;
    const event = await emit(owner, agent, 'alert.conflict', { code: 440 });
    await waitFor(async () => (await unsent([event])) === 0, 20_000, 'the refused mails to be sent');
    expect(refused).toBe(2);
    expect(mailsOf(event).map((m) => m.to.join(',')).sort()).toEqual(['ops1@example.test', 'ops2@example.test', 'owner@example.test']);
    const [row] = await db.sql`select sum(attempts)::int as attempts from private.alert_emails where event_id = ${event}`;
    expect(row!.attempts).toBe(3 + 2);
    const logs = connectors[0]!.logs.text();
    expect(logs).toContain('alert mail not sent; will retry');
    expect(logs).toContain('Try again later');
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(encodeURIComponent(PASSWORD));
  });

  it('a recipient the server refuses for good (5xx) is given up at once; the others still get the mail', async () => {
    const bouncing = await createUser(db.sql, 'bounce@example.test');
    const theirs = await createAgent(db.sql, bouncing, 'Back\noffice');
    const event = await emit(bouncing, theirs, 'alert.heartbeat_failing');
    await waitFor(async () => (await db.sql`select 1 from private.alert_emails where event_id = ${event} and status in ('pending', 'sending')`).length === 0 && (await db.sql`select 1 from private.alert_emails where event_id = ${event}`).length === 3, 20_000, 'the mails to be settled');
    // What an operator reads (README cookbook).
    const rows = await db.sql`select recipient, status, attempts, last_error, agent_name, event_type from ops.alert_emails where event_id = ${event} order by recipient`;
    expect(rows.map((r) => `${r.recipient}:${r.status}:${r.attempts}`)).toEqual(['bounce@example.test:dead:1', 'ops1@example.test:sent:1', 'ops2@example.test:sent:1']);
    expect(rows[0]).toMatchObject({ agent_name: 'Back\noffice', event_type: 'alert.heartbeat_failing' });
    expect(rows[0]!.last_error).toContain('No such mailbox');
    expect(mailsOf(event).map((m) => m.to.join(',')).sort()).toEqual(['ops1@example.test', 'ops2@example.test']);
    expect(mailsOf(event)[0]!.body).toContain('Phone: not linked');
    // The tenant's line break stays out of the header and the mail's lines.
    expect(mailsOf(event)[0]!.subject).toBe('[wa-gateway] alert.heartbeat_failing: Back office (not linked)');
    expect(mailsOf(event)[0]!.body).toContain(`Agent: Back office (${theirs})`);
  });

  it('two connectors share the queue and send no mail twice', async () => {
    connectors.push(await startTestConnector(mailEnv()));
    const events: string[] = [];
    for (let i = 0; i < 20; i++) events.push(await emit(owner, agent, 'alert.disconnected_long', { minutes: 5 + i }));
    await waitFor(async () => (await unsent(events)) === 0, 30_000, 'sixty alert mails');
    const sent = events.flatMap((e) => mailsOf(e).map((m) => `${e}:${m.to.join(',')}`));
    expect(sent).toHaveLength(60);
    expect(new Set(sent).size).toBe(60);
  });
});
