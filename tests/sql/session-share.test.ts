// gateway.session_share (supabase/migrations/20261202135000_session_share.sql): the even share of
// the fleet one connector claims up to, who counts as live, and the sessions waiting with nobody
// serving them that a connector may take beyond its share (failover does not wait on balance).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type Sql, type TestDatabase } from '../helpers/db.ts';
import { createRunningAgent, createUser, sqlState } from '../helpers/fixtures.ts';

let db: TestDatabase;
let sql: Sql;
let owner: string;
let agents: string[];

beforeAll(async () => {
  db = await createTestDatabase();
  sql = db.sql;
  owner = await createUser(sql);
  await sql`update public.plans set max_agents = 1000`;
  agents = [];
  for (let i = 0; i < 10; i++) agents.push(await createRunningAgent(sql, owner, `share-${i}`));
});
afterAll(async () => db?.drop());
beforeEach(async () => {
  await sql`delete from private.session_credentials`;
  await sql`update public.whatsapp_sessions set owner_connector_id = null, lease_until = null, last_heartbeat_at = now(), desired_state = 'connected'`;
  await sql`update private.connectors set stopped_at = now()`;
});

async function connector(capacity: number, keyVersions: number[] | null = null): Promise<string> {
  const id = randomUUID();
  await sql`select 1 from gateway.register_connector(${id}, 'host', 1, 'test', ${capacity}, null, ${keyVersions}::integer[])`;
  return id;
}

async function share(id: string, held = 0, liveSeconds = 30, keyVersions: number[] | null = null) {
  const [row] = await sql`select * from gateway.session_share(${id}, ${held}, ${liveSeconds}, ${keyVersions}::integer[])`;
  return row!;
}

/** Creds sealed under `version` for the first `count` agents (the rest have none yet). */
async function sealCreds(count: number, version: number): Promise<void> {
  await sql`insert into private.session_credentials (agent_id, ciphertext, key_version)
    select unnest(${agents.slice(0, count)}::uuid[]), '\\x00'::bytea, ${version}
    on conflict (agent_id) do update set key_version = excluded.key_version`;
}

async function hold(id: string, ids: string[], leaseSeconds = 30): Promise<void> {
  await sql`update public.whatsapp_sessions set owner_connector_id = ${id}, lease_until = now() + make_interval(secs => ${leaseSeconds}),
    last_heartbeat_at = now() where agent_id = any(${ids}::uuid[])`;
}

describe('the share of the fleet', () => {
  it('is the ceiling of the sessions over the live connectors, and a connector claims up to it', async () => {
    const [a, b, c] = [await connector(100), await connector(100), await connector(100)];
    expect(await share(a!)).toMatchObject({ live_connectors: 3, wanting: 10, share: 4, target: 4, claim_limit: 4 });
    expect(await share(b!, 3)).toMatchObject({ target: 4, claim_limit: 1 });
    expect(await share(c!, 6)).toMatchObject({ target: 4, claim_limit: 0 });
  });

  it('fills small connectors first: the larger ones take what a small one cannot', async () => {
    const small = await connector(1);
    const large = await connector(100);
    const other = await connector(100);
    // 10 sessions: the small one holds 1, the other two ceil(9 / 2) = 5.
    expect(await share(large)).toMatchObject({ share: 5, target: 5 });
    expect(await share(small)).toMatchObject({ share: 5, target: 1, claim_limit: 1 });
    expect(await share(other, 5)).toMatchObject({ claim_limit: 0 });
  });

  it('is everything when capacities together fall short: each connector fills up', async () => {
    const a = await connector(3);
    await connector(2);
    expect(await share(a)).toMatchObject({ live_connectors: 2, share: 3, target: 3, claim_limit: 3 });
  });

  it('counts only live connectors: not stopped ones, nor one whose heartbeat is older than the window', async () => {
    const a = await connector(100);
    const stopped = await connector(100);
    const stale = await connector(100);
    await sql`select gateway.release_sessions(${stopped}, null)`;
    await sql`update private.connectors set last_heartbeat_at = now() - interval '31 seconds' where id = ${stale}`;
    expect(await share(a)).toMatchObject({ live_connectors: 1, share: 10 });
    // The caller always counts, even before its first heartbeat of the window.
    expect(await share(stale)).toMatchObject({ live_connectors: 2, share: 5 });
  });

  it('judges a connector\'s heartbeat by its own registered lease, not the caller\'s', async () => {
    const a = await connector(100);
    const shortLease = randomUUID();
    await sql`select 1 from gateway.register_connector(${shortLease}, 'host', 1, 'test', 100, 4)`;
    await sql`update private.connectors set last_heartbeat_at = now() - interval '5 seconds' where id = ${shortLease}`;
    expect(await share(a, 0, 60)).toMatchObject({ live_connectors: 1 });
    await sql`update private.connectors set last_heartbeat_at = now() - interval '3 seconds' where id = ${shortLease}`;
    expect(await share(a, 0, 60)).toMatchObject({ live_connectors: 2 });
    expect(await sqlState(sql`select gateway.register_connector(${shortLease}, 'host', 1, 'test', 100, 0)`)).toBe('WG005');
  });

  it('sessions in transit (just released, by a stopping or rebalancing connector) are not waiting; a dead connector\'s are', async () => {
    const a = await connector(100);
    const b = await connector(100);
    expect((await share(a)).waiting).toBe(0);
    // b held 8 and died: its leases ran out. They are waiting, and a may take its part of them
    // beyond its share (two live connectors by heartbeat still: b's has not aged out yet).
    await hold(b, agents.slice(0, 8));
    await sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where owner_connector_id = ${b}`;
    expect(await share(a, 5)).toMatchObject({ live_connectors: 2, target: 5, waiting: 8, claim_limit: 4 });
    // Up to its capacity at most.
    await sql`select 1 from gateway.register_connector(${a}, 'host', 1, 'test', 6)`;
    expect(await share(a, 5)).toMatchObject({ claim_limit: 1 });
  });

  it('free sessions are in transit, not waiting, however long ago they were last renewed', async () => {
    const a = await connector(100);
    await sql`update public.whatsapp_sessions set last_heartbeat_at = null where agent_id = ${agents[0]!}`;
    await sql`update public.whatsapp_sessions set last_heartbeat_at = now() - interval '31 seconds' where agent_id = ${agents[1]!}`;
    expect(await share(a, 10)).toMatchObject({ waiting: 0, claim_limit: 0 });
  });

  it('counts only sessions that want a socket, of enabled agents', async () => {
    const a = await connector(100);
    await sql`update public.whatsapp_sessions set desired_state = 'disconnected' where agent_id = ${agents[0]!}`;
    await sql`update public.agents set disabled_at = now() where id = ${agents[1]!}`;
    try {
      expect((await share(a)).wanting).toBe(8);
    } finally {
      await sql`update public.agents set disabled_at = null where id = ${agents[1]!}`;
    }
  });

  it('counts, for a connector, only the sessions it can open and the peers that can open them too (a key rollout)', async () => {
    // 6 sessions sealed under version 2, 4 without creds yet. `old` holds only version 1.
    await sealCreds(6, 2);
    const rolled = await connector(100, [1, 2]);
    const old = await connector(100, [1]);
    // Before, `old` counted as a peer and `rolled` took half (5) of what only it can open.
    expect(await share(rolled, 0, 30, [1, 2])).toMatchObject({ live_connectors: 1, wanting: 10, share: 10, claim_limit: 10 });
    // `old` can open the 4 without creds; `rolled` can open those too, so both count for them.
    expect(await share(old, 0, 30, [1])).toMatchObject({ live_connectors: 2, wanting: 4, share: 2 });
    // Once `old` has the new version too, the fleet is even again.
    await sql`select 1 from gateway.register_connector(${old}, 'host', 1, 'test', 100, null, '{1,2}'::integer[])`;
    expect(await share(rolled, 0, 30, [1, 2])).toMatchObject({ live_connectors: 2, share: 5 });
  });

  it('counts a peer registered without key versions for every session (as before they were recorded)', async () => {
    await sealCreds(10, 3);
    const a = await connector(100, [3]);
    await connector(100);
    expect(await share(a, 0, 30, [3])).toMatchObject({ live_connectors: 2, share: 5 });
    // A caller that passes no versions counts every session.
    expect(await share(a)).toMatchObject({ wanting: 10 });
  });

  it('stops counting a connector for the key version it failed to open (a wrong key under the right number)', async () => {
    await sealCreds(10, 4);
    const wrongKey = await connector(100, [4]);
    const rightKey = await connector(100, [4]);
    expect(await share(rightKey, 0, 30, [4])).toMatchObject({ live_connectors: 2, share: 5 });
    await sql`select gateway.connector_cannot_open(${wrongKey}, ${agents[0]})`;
    const [row] = await sql`select key_versions from private.connectors where id = ${wrongKey}`;
    expect(row!.key_versions).toEqual([]);
    // The one that can open them now takes all of them, not half.
    expect(await share(rightKey, 0, 30, [4])).toMatchObject({ live_connectors: 1, share: 10, claim_limit: 10 });
  });

  it('refuses an unknown connector and bad arguments', async () => {
    expect(await sqlState(sql`select * from gateway.session_share(${randomUUID()}, 0, 30)`)).toBe('WG005');
    const a = await connector(10);
    expect(await sqlState(sql`select * from gateway.session_share(${a}, -1, 30)`)).toBe('WG005');
    expect(await sqlState(sql`select * from gateway.session_share(${a}, 0, 0)`)).toBe('WG005');
    expect(await sqlState(sql`select gateway.register_connector(${a}, 'host', 1, 'test', 10, null, '{1,null}'::integer[])`)).toBe('WG005');
  });
});
