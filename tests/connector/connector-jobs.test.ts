// Scheduled jobs against real PostgreSQL: one connector at a time (advisory lock), key hygiene per
// the auth-safety seed, expired-lease sweep and its alerts, inactive sessions, retention.
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../connector/config.ts';
import { runExclusive, runJob } from '../../connector/jobs/jobs.ts';
import { createMetrics } from '../../connector/metrics.ts';
import { testEnv } from '../../scripts/harness/connector.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { claim, createAgent, createRunningAgent, createUser, registerConnector, setPlan } from '../helpers/fixtures.ts';

let db: TestDatabase;
let owner: string;
let deps: Parameters<typeof runJob>[1];

beforeAll(async () => {
  db = await createTestDatabase();
  owner = await createUser(db.sql);
  await setPlan(db.sql, owner, 'max');
  deps = { sql: db.sql, config: await loadConfig(testEnv(db.url)), logger: pino({ level: 'silent' }), metrics: createMetrics() };
});
afterAll(() => db.drop());

async function addKeys(agentId: string, type: string, n: number, ageDays: number) {
  await db.sql`insert into private.signal_keys (agent_id, key_type, key_id, ciphertext, key_version, updated_at)
    select ${agentId}, ${type}, ${type} || '-' || g || '-' || ${ageDays}, '\\x00'::bytea, 1, now() - make_interval(days => ${ageDays})
    from generate_series(1, ${n}) g`;
}
const count = async (agentId: string, type?: string) =>
  (await db.sql`select count(*)::int as n from private.signal_keys where agent_id = ${agentId} and (${type ?? null}::text is null or key_type = ${type ?? null})`)[0]!.n as number;
const events = async (agentId: string, type: string) =>
  (await db.sql`select count(*)::int as n from public.events where agent_id = ${agentId} and type = ${type}`)[0]!.n as number;

describe('connector jobs', () => {
  it('runs a job on one connector at a time', async () => {
    let inside = 0;
    let maxInside = 0;
    const work = async () => {
      inside++;
      maxInside = Math.max(maxInside, inside);
      await new Promise((r) => setTimeout(r, 200));
      inside--;
    };
    const results = await Promise.all([runExclusive(db.connect(), 'x', work), runExclusive(db.connect(), 'x', work)]);
    expect(results.map((r) => r.ran).sort()).toEqual([false, true]);
    expect(maxInside).toBe(1);
  });

  it('key hygiene: prunes only old accumulating keys of idle sessions, never pre-keys or app-state keys; warns progressively', async () => {
    const idle = await createAgent(db.sql, owner, 'idle');
    await addKeys(idle, 'session', 100, 20);
    await addKeys(idle, 'session', 60, 2); // young: kept
    await addKeys(idle, 'pre-key', 50, 20);
    await addKeys(idle, 'app-state-sync-key', 10, 60);
    const busy = await createRunningAgent(db.sql, owner, 'busy');
    await claim(db.sql, await registerConnector(db.sql), busy);
    await addKeys(busy, 'sender-key', 190, 30);
    const calm = await createAgent(db.sql, owner, 'calm');
    await addKeys(calm, 'session', 50, 30);

    const run = await runJob('key-hygiene', deps);
    expect(run.ran).toBe(true);
    expect(await count(idle, 'session')).toBe(60);
    // Unconsumed pre-keys are what WhatsApp's server hands to new contacts (Baileys deletes the
    // consumed ones itself): pruning any of them breaks first messages from new contacts.
    expect(await count(idle, 'pre-key')).toBe(50);
    expect(await count(idle, 'app-state-sync-key')).toBe(10);
    expect(await count(busy)).toBe(190); // owned: never touched
    expect(await count(calm)).toBe(50); // below the warning level: not pruned
    expect(await events(idle, 'alert.signal_keys_high')).toBe(1);
    expect(await events(busy, 'alert.signal_keys_critical')).toBe(1);
    expect(await events(calm, 'alert.signal_keys_high')).toBe(0);
    await runJob('key-hygiene', deps);
    expect(await events(busy, 'alert.signal_keys_critical')).toBe(1); // once a day
  });

  it('lease sweep: clears dead leases nobody will claim and raises heartbeat and long-disconnect alerts once', async () => {
    const dead = await createRunningAgent(db.sql, owner, 'dead');
    const connector = await registerConnector(db.sql, randomUUID());
    await claim(db.sql, connector, dead);
    await db.sql`update public.whatsapp_sessions set desired_state = 'disconnected', status = 'connected', lease_until = now() - interval '1 minute' where agent_id = ${dead}`;
    const stale = await createRunningAgent(db.sql, owner, 'stale');
    await db.sql`update public.whatsapp_sessions set last_heartbeat_at = now() - interval '6 minutes', status = 'reconnecting',
      status_changed_at = now() - interval '6 minutes', last_connected_at = now() - interval '1 hour' where agent_id = ${stale}`;
    const run = await runJob('lease-sweep', deps);
    expect(run.ran).toBe(true);
    const [row] = await db.sql`select owner_connector_id, status from public.whatsapp_sessions where agent_id = ${dead}`;
    expect(row).toMatchObject({ owner_connector_id: null, status: 'disconnected' });
    expect(await events(stale, 'alert.heartbeat_failing')).toBe(1);
    expect(await events(stale, 'alert.disconnected_long')).toBe(1);
    await runJob('lease-sweep', deps);
    expect(await events(stale, 'alert.heartbeat_failing')).toBe(1);
    expect(await events(stale, 'alert.disconnected_long')).toBe(1);
  });

  it('inactive sessions: a linked session idle for 7 days is flagged once', async () => {
    const idle = await createAgent(db.sql, owner, 'inactive');
    await db.sql`update public.whatsapp_sessions set linked_jid = '1@s.whatsapp.net', last_connected_at = now() - interval '8 days' where agent_id = ${idle}`;
    const active = await createAgent(db.sql, owner, 'active');
    await db.sql`update public.whatsapp_sessions set linked_jid = '2@s.whatsapp.net', last_connected_at = now() - interval '1 day' where agent_id = ${active}`;
    await runJob('inactive', deps);
    await runJob('inactive', deps);
    expect(await events(idle, 'alert.session_inactive')).toBe(1);
    expect(await events(active, 'alert.session_inactive')).toBe(0);
  });

  it('retention: deletes old settled events and old delivered messages, keeps recent and pending ones', async () => {
    const agent = await createAgent(db.sql, owner, 'retention');
    await db.sql`insert into public.events (owner_id, agent_id, type, created_at) values
      (${owner}, ${agent}, 'session.old', now() - interval '40 days'), (${owner}, ${agent}, 'session.new', now())`;
    await db.sql`insert into public.messages (agent_id, owner_id, wa_message_id, recipient, type, content, status, updated_at) values
      (${agent}, ${owner}, 'old-delivered', '15550001111', 'text', '{}', 'delivered', now() - interval '40 days'),
      (${agent}, ${owner}, 'old-queued', '15550001111', 'text', '{}', 'queued', now() - interval '40 days'),
      (${agent}, ${owner}, 'new-read', '15550001111', 'text', '{}', 'read', now())`;
    await runJob('retention', deps);
    const types = await db.sql`select type from public.events where agent_id = ${agent} and type like 'session.%' order by type`;
    expect(types.map((t) => t.type)).toEqual(['session.new']);
    const ids = await db.sql`select wa_message_id from public.messages where agent_id = ${agent} order by wa_message_id`;
    expect(ids.map((m) => m.wa_message_id)).toEqual(['new-read', 'old-queued']);
  });

  it('retention: clears the bodies of old failed and sent-but-never-delivered messages, prunes number checks and idle rate-limit buckets', async () => {
    const agent = await createAgent(db.sql, owner, 'retention-bodies');
    const body = { text: 'private words to +15550009999' };
    await db.sql`insert into public.messages (agent_id, owner_id, wa_message_id, recipient, type, content, status, failed_at, sent_at) values
      (${agent}, ${owner}, 'old-failed', '15550001111', 'text', ${db.sql.json(body)}, 'failed', now() - interval '40 days', null),
      (${agent}, ${owner}, 'old-sent', '15550001111', 'text', ${db.sql.json(body)}, 'sent', null, now() - interval '40 days'),
      (${agent}, ${owner}, 'new-failed', '15550001111', 'text', ${db.sql.json(body)}, 'failed', now(), null),
      (${agent}, ${owner}, 'new-sent', '15550001111', 'text', ${db.sql.json(body)}, 'sent', null, now())`;
    await db.sql`insert into public.number_checks (agent_id, owner_id, numbers, status, result, created_at, completed_at) values
      (${agent}, ${owner}, ${['15550002222']}, 'done', '{"15550002222": true}', now() - interval '40 days', now() - interval '40 days'),
      (${agent}, ${owner}, ${['15550003333']}, 'pending', null, now() - interval '40 days', null),
      (${agent}, ${owner}, ${['15550004444']}, 'done', '{"15550004444": false}', now(), now())`;
    await db.sql`insert into private.rate_limit_buckets (key, tokens, capacity, refill_per_second, updated_at) values
      (${`test-old:${agent}`}, 1, 1, 1, now() - interval '3 days'), (${`test-new:${agent}`}, 1, 1, 1, now())`;
    await runJob('retention', deps);
    const rows = await db.sql`select wa_message_id, status, content from public.messages where agent_id = ${agent} order by wa_message_id`;
    expect(rows.map((r) => [r.wa_message_id, r.status, r.content])).toEqual([
      ['new-failed', 'failed', body],
      ['new-sent', 'sent', body],
      ['old-failed', 'failed', { content_removed: true }],
      ['old-sent', 'sent', { content_removed: true }],
    ]);
    const checks = await db.sql`select numbers from public.number_checks where agent_id = ${agent}`;
    expect(checks.map((c) => c.numbers)).toEqual([['15550004444']]);
    const buckets = await db.sql`select key from private.rate_limit_buckets where key like ${`test-%:${agent}`}`;
    expect(buckets.map((b) => b.key)).toEqual([`test-new:${agent}`]);
  });

  it('retention: prunes audit log entries past RETENTION_AUDIT_LOG_DAYS, and the pruning is itself an entry', async () => {
    expect(deps.config.jobs.retentionAuditLogDays).toBe(365);
    const agent = await createAgent(db.sql, owner, 'retention-audit');
    await db.sql`insert into public.audit_log (created_at, owner_id, agent_id, action, actor_type, actor) values
      (now() - interval '400 days', ${owner}, ${agent}, 'agent.renamed', 'operator', 'postgres'),
      (now() - interval '300 days', ${owner}, ${agent}, 'agent.renamed', 'operator', 'postgres')`;
    await runJob('retention', deps);
    const left = await db.sql`select action from public.audit_log where agent_id = ${agent} order by created_at`;
    expect(left.map((r) => r.action)).toEqual(['agent.renamed', 'agent.created']);
    const [pruned] = await db.sql`select changes from public.audit_log where action = 'audit_log.pruned' order by created_at desc limit 1`;
    expect(pruned!.changes).toMatchObject({ retention_days: 365, deleted: 1 });
  });
});
