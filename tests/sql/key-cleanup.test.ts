// Signal key cleanup per the auth-safety seed (002) against real PostgreSQL: every cleanup backs up
// exactly what it deletes before deleting it, the operator's force overrides the connected guard
// only when given, a backup can be restored, and only operators can do any of it.
import { INITIAL_PREKEY_COUNT } from '@whiskeysockets/baileys';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../connector/config.ts';
import { runJob } from '../../connector/jobs/jobs.ts';
import { createMetrics } from '../../connector/metrics.ts';
import { testEnv } from '../../scripts/harness/connector.ts';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { asRole, claim, createAgent, createRunningAgent, createUser, registerConnector, sqlState } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sql: Sql;
let owner: string;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  owner = await createUser(sql);
  await sql`update public.accounts set plan_id = 'max' where user_id = ${owner}`;
});
afterAll(async () => db?.drop());

async function addKeys(sqlx: Sql, agentId: string, type: string, n: number, ageDays: number): Promise<void> {
  await sqlx`insert into private.signal_keys (agent_id, key_type, key_id, ciphertext, key_version, created_at, updated_at)
    select ${agentId}, ${type}, ${type} || '-' || g || '-' || ${ageDays}, decode(md5(random()::text || g), 'hex'), 1,
           now() - make_interval(days => ${ageDays + 1}), now() - make_interval(days => ${ageDays})
    from generate_series(1, ${n}) g`;
}

const keyRows = (agentId: string) =>
  sql`select key_type, key_id, encode(ciphertext, 'hex') as ciphertext, key_version, created_at, updated_at
      from private.signal_keys where agent_id = ${agentId} order by key_type, key_id`;

describe('Signal key cleanup keeps a backup', () => {
  it('writes the backup before deleting, and it holds exactly the deleted rows as they were', async () => {
    const agent = await createAgent(sql, owner, 'backup');
    await addKeys(sql, agent, 'session', 30, 20);
    await addKeys(sql, agent, 'sender-key', 10, 40);
    await addKeys(sql, agent, 'session', 5, 2); // young: kept
    await addKeys(sql, agent, 'pre-key', 20, 60); // never pruned
    const before = await keyRows(agent);

    // A delete of a key row with no backup of that very row fails the whole cleanup.
    await sql.unsafe(`
      create function private.test_require_backup() returns trigger language plpgsql as $$
      begin
        if not exists (select 1 from private.signal_key_backups b where b.agent_id = old.agent_id and b.key_type = old.key_type
                       and b.key_id = old.key_id and b.ciphertext = old.ciphertext) then
          raise exception 'deleted % % without a backup', old.key_type, old.key_id;
        end if;
        return old;
      end $$;
      create trigger test_require_backup before delete on private.signal_keys for each row execute function private.test_require_backup();`);
    try {
      const [pruned] = await sql`select gateway.prune_signal_keys(${agent}) as n`;
      expect(pruned!.n).toBe(40);
    } finally {
      await sql.unsafe('drop trigger test_require_backup on private.signal_keys; drop function private.test_require_backup()');
    }

    const after = await keyRows(agent);
    const kept = new Set(after.map((r) => `${r.key_type}/${r.key_id}`));
    const deleted = before.filter((r) => !kept.has(`${r.key_type}/${r.key_id}`));
    expect(deleted).toHaveLength(40);
    const backups = await sql`
      select key_type, key_id, encode(ciphertext, 'hex') as ciphertext, key_version, key_created_at as created_at, key_updated_at as updated_at
      from private.signal_key_backups where agent_id = ${agent} order by key_type, key_id`;
    expect(backups).toEqual(deleted);
    const [meta] = await sql`select count(distinct cleanup_id)::int as cleanups, array_agg(distinct reason) as reasons
      from private.signal_key_backups where agent_id = ${agent}`;
    expect(meta).toEqual({ cleanups: 1, reasons: ['hygiene'] });
  });

  it('an operator cleanup is refused on a connected or owned session unless forced', async () => {
    const agent = await createRunningAgent(sql, owner, 'live');
    const connector = await registerConnector(sql);
    const epoch = (await claim(sql, connector, agent))!.toString();
    await sql`select gateway.update_session(${agent}, ${connector}, ${epoch}, ${sql.json({ status: 'connected' })})`;
    await addKeys(sql, agent, 'session', 25, 20);

    expect(await sqlState(sql`select * from ops.prune_signal_keys(${agent})`)).toBe('WG008');
    expect(await sqlState(sql`select * from ops.prune_signal_keys(${agent}, false)`)).toBe('WG008');
    expect(await sqlState(sql`select gateway.prune_signal_keys(${agent})`)).toBe('WG008');
    expect(await keyRows(agent)).toHaveLength(25);
    expect((await sql`select count(*)::int as n from private.signal_key_backups where agent_id = ${agent}`)[0]!.n).toBe(0);

    const [forced] = await sql`select * from ops.prune_signal_keys(${agent}, p_force => true)`;
    expect(forced).toMatchObject({ deleted: 25, forced: true });
    expect(await keyRows(agent)).toHaveLength(0);
    const [backup] = await sql`select count(*)::int as n, min(reason) as reason from private.signal_key_backups where cleanup_id = ${forced!.cleanup_id}`;
    expect(backup).toEqual({ n: 25, reason: 'forced' });
    // Force never overrides the age rule.
    expect(await sqlState(sql`select * from ops.prune_signal_keys(${agent}, true, interval '1 day')`)).toBe('WG005');
  });

  it('restores a cleanup while the session is down, keeping keys written since', async () => {
    const agent = await createAgent(sql, owner, 'restore');
    await addKeys(sql, agent, 'session', 8, 20);
    const before = await keyRows(agent);
    const [cleanup] = await sql`select * from ops.prune_signal_keys(${agent})`;
    expect(cleanup).toMatchObject({ deleted: 8, forced: false });
    await sql`insert into private.signal_keys (agent_id, key_type, key_id, ciphertext, key_version) values (${agent}, 'session', ${before[0]!.key_id}, '\\x01', 1)`;
    const [restored] = await sql`select ops.restore_signal_keys(${cleanup!.cleanup_id}) as n`;
    expect(restored!.n).toBe(7);
    const after = await keyRows(agent);
    expect(after.slice(1)).toEqual(before.slice(1));
    expect(after[0]!.ciphertext).toBe('01');
  });

  it('the retention job purges backups past KEY_BACKUP_RETENTION_DAYS', async () => {
    const agent = await createAgent(sql, owner, 'purge');
    await addKeys(sql, agent, 'session', 3, 20);
    const [cleanup] = await sql`select * from ops.prune_signal_keys(${agent})`;
    await sql`update private.signal_key_backups set backed_up_at = now() - interval '31 days' where cleanup_id = ${cleanup!.cleanup_id}`;
    await addKeys(sql, agent, 'sender-key', 2, 20);
    await sql`select * from ops.prune_signal_keys(${agent})`;
    const config = await loadConfig({ ...testEnv(db.url), KEY_BACKUP_RETENTION_DAYS: '30' });
    const run = await runJob('retention', { sql, config, logger: pino({ level: 'silent' }), metrics: createMetrics() });
    expect(run.result).toMatchObject({ signal_key_backups: 3 });
    expect((await sql`select count(*)::int as n from private.signal_key_backups where agent_id = ${agent}`)[0]!.n).toBe(2);
  });

  it('only operators (service role, SQL editor) can clean up or restore', async () => {
    const calls = [
      (tx: Sql) => tx`select ops.emergency_key_cleanup(gen_random_uuid(), false)`,
      (tx: Sql) => tx`select ops.cancel_emergency_key_cleanup(gen_random_uuid())`,
      (tx: Sql) => tx`select count(*) from ops.emergency_key_cleanups`,
      (tx: Sql) => tx`select * from ops.prune_signal_keys(gen_random_uuid(), true)`,
      (tx: Sql) => tx`select ops.restore_signal_keys(gen_random_uuid())`,
      (tx: Sql) => tx`select count(*) from private.signal_key_backups`,
    ];
    for (const call of calls) {
      for (const role of ['anon', 'authenticated'] as const) expect(await sqlState(asRole(sql, role, owner, call))).toBe('42501');
      const api = db.connect({ max: 1, username: 'gateway_api' });
      expect(await sqlState(call(api))).toBe('42501');
    }
    expect(await sqlState(asRole(sql, 'service_role', null, calls[0]!))).toBe('WG001');
  });
});

describe("the seed's pre-key bounds against Baileys 7's uploads", () => {
  it("a freshly linked session's first pre-key batch is neither counted against the thresholds nor pruned", async () => {
    // Baileys uploads INITIAL_PREKEY_COUNT (812) pre-keys when the server has none: far above the
    // seed's MAX_PRE_KEYS (50) and its 200 "fatal" files, and all of them unconsumed.
    const agent = await createAgent(sql, owner, 'fresh');
    await addKeys(sql, agent, 'pre-key', INITIAL_PREKEY_COUNT, 30);
    await addKeys(sql, agent, 'session', 10, 30);
    const deps = { sql, config: await loadConfig(testEnv(db.url)), logger: pino({ level: 'silent' }), metrics: createMetrics() };
    await runJob('key-hygiene', deps);
    expect((await sql`select count(*)::int as n from public.events where agent_id = ${agent} and type like 'alert.signal_keys%'`)[0]!.n).toBe(0);
    const [report] = await sql`select ops.emergency_key_cleanup(${agent}) as r`;
    expect(report!.r).toMatchObject({ keys: { 'pre-key': INITIAL_PREKEY_COUNT, session: 10 }, would_delete: { session: 10 } });
    await sql`select * from ops.prune_signal_keys(${agent})`;
    expect((await sql`select count(*)::int as n from private.signal_keys where agent_id = ${agent} and key_type = 'pre-key'`)[0]!.n).toBe(INITIAL_PREKEY_COUNT);
  });
});

describe('the emergency key cleanup (stop, clean up, restart, verify)', () => {
  const jobs = async () => ({ sql, config: await loadConfig(testEnv(db.url)), logger: pino({ level: 'silent' }), metrics: createMetrics() });
  const session = async (agent: string) =>
    (await sql`select status, desired_state, owner_connector_id from public.whatsapp_sessions where agent_id = ${agent}`)[0]!;
  const snapshot = async (agent: string) => ({
    keys: await keyRows(agent),
    session: await sql`select * from public.whatsapp_sessions where agent_id = ${agent}`,
    procedures: await sql`select * from private.emergency_key_cleanups where agent_id = ${agent}`,
    backups: await sql`select * from private.signal_key_backups where agent_id = ${agent}`,
    events: await sql`select * from public.events where agent_id = ${agent}`,
  });

  it('a dry run reports what it would delete and changes nothing', async () => {
    const agent = await createRunningAgent(sql, owner, 'dry');
    const connector = await registerConnector(sql);
    const epoch = (await claim(sql, connector, agent))!.toString();
    await sql`select gateway.update_session(${agent}, ${connector}, ${epoch}, ${sql.json({ status: 'connected' })})`;
    await addKeys(sql, agent, 'session', 150, 20);
    await addKeys(sql, agent, 'sender-key', 40, 3);
    await addKeys(sql, agent, 'pre-key', 30, 30);
    const before = await snapshot(agent);
    const [report] = await sql`select ops.emergency_key_cleanup(${agent}) as r`;
    expect(report!.r).toMatchObject({
      dry_run: true,
      session: { status: 'connected', desired_state: 'connected', owned: true },
      keys: { session: 150, 'sender-key': 40, 'pre-key': 30 },
      would_delete: { session: 150 },
      open_procedure: null,
    });
    expect(await snapshot(agent)).toEqual(before);
  });

  it('goes through stopping, restarting and verified, with the backup of what it deleted', async () => {
    const agent = await createRunningAgent(sql, owner, 'emergency');
    const connector = await registerConnector(sql);
    const epoch = (await claim(sql, connector, agent))!.toString();
    await sql`select gateway.update_session(${agent}, ${connector}, ${epoch}, ${sql.json({ status: 'connected' })})`;
    await addKeys(sql, agent, 'session', 170, 20);
    await addKeys(sql, agent, 'sender-key', 20, 2);
    await addKeys(sql, agent, 'pre-key', 30, 30);

    const [first] = await sql`select ops.emergency_key_cleanup(${agent}, false) as r`;
    expect(first!.r).toMatchObject({ state: 'stopping', restore_desired_state: 'connected', keys_before: { session: 170 } });
    expect(await session(agent)).toMatchObject({ desired_state: 'disconnected', status: 'connected' });
    expect(await keyRows(agent)).toHaveLength(220); // nothing while connected
    // The connector still holds it: another call (or the sweep) keeps waiting.
    await runJob('lease-sweep', await jobs());
    const [waiting] = await sql`select state from private.emergency_key_cleanups where agent_id = ${agent}`;
    expect(waiting!.state).toBe('stopping');

    // The connector ends the socket and releases the lease, as it does for a disconnect request.
    await sql`select gateway.update_session(${agent}, ${connector}, ${epoch}, ${sql.json({ status: 'disconnected' })})`;
    await sql`select gateway.release_sessions(${connector})`;
    const swept = await runJob('lease-sweep', await jobs());
    expect(swept.result).toMatchObject({ emergency_key_cleanups: 1 });
    const [cleaned] = await sql`select * from private.emergency_key_cleanups where agent_id = ${agent}`;
    expect(cleaned).toMatchObject({ state: 'restarting', deleted: 170, keys_after_cleanup: { 'sender-key': 20, 'pre-key': 30 } });
    expect(await session(agent)).toMatchObject({ desired_state: 'connected', status: 'disconnected' });
    const [backup] = await sql`select count(*)::int as n, min(reason) as reason from private.signal_key_backups where cleanup_id = ${cleaned!.cleanup_id}`;
    expect(backup).toEqual({ n: 170, reason: 'emergency' });

    // A connector claims it again and it connects: the next call verifies.
    const again = (await claim(sql, connector, agent))!.toString();
    await sql`select gateway.update_session(${agent}, ${connector}, ${again}, ${sql.json({ status: 'connected' })})`;
    const [done] = await sql`select ops.emergency_key_cleanup(${agent}, false) as r`;
    expect(done!.r).toMatchObject({
      state: 'verified',
      next_step: 'done',
      verification: { restarted: true, status: 'connected', keys: { 'sender-key': 20, 'pre-key': 30 } },
    });
  });

  it('fails with a critical alert when the session does not come back, and can be cancelled only before cleaning', async () => {
    const agent = await createRunningAgent(sql, owner, 'lost');
    await addKeys(sql, agent, 'session', 5, 20);
    const [started] = await sql`select ops.emergency_key_cleanup(${agent}, false) as r`;
    expect(started!.r).toMatchObject({ state: 'restarting', deleted: 5 }); // not running: cleaned at once
    expect(await sqlState(sql`select ops.cancel_emergency_key_cleanup(${agent})`)).toBe('WG008');
    const connector = await registerConnector(sql);
    const epoch = (await claim(sql, connector, agent))!.toString();
    await sql`select gateway.update_session(${agent}, ${connector}, ${epoch}, ${sql.json({ status: 'logged_out' })})`;
    await runJob('lease-sweep', await jobs());
    const [failed] = await sql`select state, verification from private.emergency_key_cleanups where agent_id = ${agent}`;
    expect(failed).toMatchObject({ state: 'failed', verification: { status: 'logged_out' } });
    const [alert] = await sql`select type, severity from public.events where agent_id = ${agent} and type like 'alert.%'`;
    expect(alert).toEqual({ type: 'alert.key_cleanup_failed', severity: 'critical' });

    const idle = await createRunningAgent(sql, owner, 'cancelled');
    const other = await registerConnector(sql);
    await claim(sql, other, idle);
    await sql`select ops.emergency_key_cleanup(${idle}, false)`;
    expect(await session(idle)).toMatchObject({ desired_state: 'disconnected' });
    const [cancelled] = await sql`select ops.cancel_emergency_key_cleanup(${idle}) as r`;
    expect(cancelled!.r).toMatchObject({ state: 'cancelled' });
    expect(await session(idle)).toMatchObject({ desired_state: 'connected' });
  });
});
