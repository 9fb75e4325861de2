// Inbound messages are stored before WhatsApp is told they arrived (issue 16): a connector with
// the message path, in process, against the simulator (which keeps a message the client has not
// acknowledged and offers it again at the next login, as WhatsApp does). A fault is injected in the test's own database: a
// trigger on public.inbound_messages that refuses inserts (serialization_failure, a transient
// error) while a flag is set, counting attempts in a sequence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessagingExtension } from '../../connector/messages/messaging.ts';
import { waitFor } from '../../scripts/harness/connector.ts';
import { scanPublishedQr, waitForStatus } from '../helpers/connector-sim.ts';
import { createRunningAgent, createUser } from '../helpers/fixtures.ts';
import { useSimulatorStack } from '../helpers/simulator-stack.ts';

const ACCOUNT = '15550007001';
const CONTACT = '447700900777';
const NEW_CONTACT = '447700900778';

let agent: string;

const stack = useSimulatorStack({ database: true, scrubConsole: true });
afterAll(() => stack.stopConnectors('crash'));
const start = () =>
  stack.connector(
    { LOG_LEVEL: 'info', WEBHOOKS_ENABLED: 'false', CONNECTOR_SHUTDOWN_GRACE_MS: '20000', MESSAGES_POLL_INTERVAL_MS: '200' },
    { extensions: () => [createMessagingExtension()] },
  );

const stored = async (waId: string) => (await stack.db.sql`select content, type from public.inbound_messages where agent_id = ${agent} and wa_message_id = ${waId}`) as Array<{ content: { text?: string }; type: string }>;
const attempts = async () => {
  const [row] = await stack.db.sql`select last_value, is_called from public.test_inbound_attempts`;
  return row!.is_called ? Number(row!.last_value) : 0;
};
const refuseInserts = (on: boolean) => stack.db.sql`update public.test_inbound_fault set refuse = ${on}`;

beforeAll(async () => {
  stack.sim.addContact(CONTACT);
  stack.sim.addContact(NEW_CONTACT);
  await stack.db.sql.unsafe(`
    create sequence public.test_inbound_attempts;
    create table public.test_inbound_fault (refuse boolean not null);
    insert into public.test_inbound_fault values (false);
    create function public.test_refuse_inbound() returns trigger language plpgsql as $$
    begin
      if (select refuse from public.test_inbound_fault) then
        perform nextval('public.test_inbound_attempts');
        raise exception 'injected transient fault' using errcode = 'serialization_failure';
      end if;
      return new;
    end $$;
    create trigger test_refuse_inbound before insert on public.inbound_messages for each row execute function public.test_refuse_inbound();`);
  const owner = await createUser(stack.db.sql);
  agent = await createRunningAgent(stack.db.sql, owner, ACCOUNT);
  const linker = await start();
  await scanPublishedQr(stack.db.sql, stack.sim, agent, ACCOUNT);
  await waitForStatus(stack.db.sql, agent, 'connected');
  await linker.stop();
}, 60_000);

describe('inbound messages are durable before they are acknowledged', () => {
  it('a text with U+0000 is stored (NUL replaced by U+FFFD) and so are its neighbours in the same batch', async () => {
    // Injected while no connector is connected: WhatsApp hands them over together at login.
    const before = await stack.sim.inject(ACCOUNT, { from: CONTACT, text: 'before' });
    const poison = await stack.sim.inject(ACCOUNT, { from: CONTACT, text: 'nul\u0000here' });
    const after = await stack.sim.inject(ACCOUNT, { from: CONTACT, text: 'after' });
    const tc = await start();
    await waitForStatus(stack.db.sql, agent, 'connected');
    await waitFor(async () => (await stored(after.id)).length + (await stored(before.id)).length + (await stored(poison.id)).length === 3, 15_000, 'all three stored');
    expect((await stored(poison.id))[0]?.content.text).toBe('nul\uFFFDhere');
    await waitFor(() => stack.sim.inboundState(poison.id)?.acked, 10_000, 'the poison message acknowledged');
    await tc.stop();
  });

  it('a message whose store keeps failing is not acknowledged; it is stored once the fault clears, then acknowledged', async () => {
    const tc = await start();
    await waitForStatus(stack.db.sql, agent, 'connected');
    const base = await attempts();
    await refuseInserts(true);
    const msg = await stack.sim.inject(ACCOUNT, { from: CONTACT, text: 'store me' });
    await waitFor(async () => (await attempts()) >= base + 4, 15_000, 'four refused attempts (the old code gave up after three)');
    // Its receipt is held while the write keeps failing: a crash now leaves it with WhatsApp.
    expect(stack.sim.inboundState(msg.id)?.acked).toBe(false);
    await refuseInserts(false);
    await waitFor(async () => (await stored(msg.id)).length === 1, 20_000, 'the message stored');
    await waitFor(() => stack.sim.inboundState(msg.id)?.acked, 10_000, 'acknowledged once stored');
    expect(await stored(msg.id)).toEqual([{ type: 'text', content: { text: 'store me' } }]);
    expect(await tc.stop()).toBe(1);
  });

  it('a crash after Baileys decrypted a message but before it was stored: the copy WhatsApp redelivers decrypts and is stored once', async () => {
    // Decrypting moves the Signal session (and consumes a one-time pre-key for a first message).
    // Were that change durable before the message, the redelivered copy could not be decrypted
    // ("Key used already or never filled"), Baileys would nack it, and it would be lost.
    const tc = await start();
    await waitForStatus(stack.db.sql, agent, 'connected');
    const base = await attempts();
    await refuseInserts(true);
    const first = await stack.sim.inject(ACCOUNT, { from: NEW_CONTACT, text: 'first words' });
    await waitFor(async () => (await attempts()) >= base + 1, 15_000, 'a refused attempt (the message was decrypted)');
    await tc.crash();
    await refuseInserts(false);
    const after = await start();
    await waitFor(async () => (await stored(first.id)).length === 1, 20_000, 'the redelivered message stored');
    await waitFor(() => stack.sim.inboundState(first.id)?.acked, 10_000, 'acknowledged once stored');
    expect(await stored(first.id)).toEqual([{ type: 'text', content: { text: 'first words' } }]);
    // The session survives: the contact's next message decrypts too.
    const next = await stack.sim.inject(ACCOUNT, { from: NEW_CONTACT, text: 'second words' });
    await waitFor(async () => (await stored(next.id)).length === 1, 15_000, 'the next message stored');
    await after.stop();
  });

  it('a graceful stop with an inbound write in flight waits for it before releasing the lease', async () => {
    const tc = await start();
    await waitForStatus(stack.db.sql, agent, 'connected');
    const base = await attempts();
    await refuseInserts(true);
    const msg = await stack.sim.inject(ACCOUNT, { from: CONTACT, text: 'in flight at stop' });
    await waitFor(async () => (await attempts()) >= base + 1, 15_000, 'a refused attempt');
    const stopping = tc.stop();
    await waitFor(() => tc.logs.text().includes('waiting for inbound writes before releasing leases'), 10_000, 'the stop waiting for the write');
    // Still held: the write retries under the lease the stop has not released yet.
    const [lease] = await stack.db.sql`select owner_connector_id from public.whatsapp_sessions where agent_id = ${agent}`;
    expect(lease!.owner_connector_id).toBe(tc.config.connectorId);
    await refuseInserts(false);
    expect(await stopping).toBe(1);
    expect(await stored(msg.id)).toEqual([{ type: 'text', content: { text: 'in flight at stop' } }]);
  });
});
