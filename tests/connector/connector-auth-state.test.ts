// The Postgres auth state against real PostgreSQL: encryption round trip, tamper, row swap, wrong
// key, key rotation reads, deletes, one statement per keys.set, fencing of every call.
import { initAuthCreds, proto } from '@whiskeysockets/baileys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresAuthState } from '../../connector/auth-state/postgres-auth-state.ts';
import { CorruptAuthState } from '../../connector/auth-state/validate-creds.ts';
import { createKeyring, type Keyring } from '../../kernel/secret-box.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { claim, createRunningAgent, createUser, registerConnector, setPlan, sqlState } from '../helpers/fixtures.ts';

let db: TestDatabase;
let keyring: Keyring;
let connector: string;
let owner: string;

const key = (fill: number) => new Uint8Array(32).fill(fill);

beforeAll(async () => {
  db = await createTestDatabase();
  keyring = await createKeyring({ version: 1, key: key(1) });
  connector = await registerConnector(db.sql);
  owner = await createUser(db.sql);
  await setPlan(db.sql, owner, 'max');
});
afterAll(() => db.drop());

async function ownedSession() {
  const agentId = await createRunningAgent(db.sql, owner);
  const epoch = (await claim(db.sql, connector, agentId))!;
  return { agentId, epoch };
}

function store(agentId: string, epoch: bigint, ring = keyring, extra: Partial<Parameters<typeof createPostgresAuthState>[0]> = {}) {
  return createPostgresAuthState({ sql: db.sql, keyring: ring, agentId, connectorId: connector, epoch: () => epoch, ...extra });
}

describe('Postgres auth state', () => {
  it('round-trips creds encrypted, with a fresh nonce per write and the key version stored', async () => {
    const { agentId, epoch } = await ownedSession();
    const s = store(agentId, epoch);
    expect((await s.loadCreds()).stored).toBe(false);
    const creds = initAuthCreds();
    creds.me = { id: '15550001111:3@s.whatsapp.net', name: 'x' };
    await s.saveCreds(creds);
    const [first] = await db.sql`select ciphertext, key_version from private.session_credentials where agent_id = ${agentId}`;
    await s.saveCreds(creds);
    const [second] = await db.sql`select ciphertext, key_version from private.session_credentials where agent_id = ${agentId}`;
    expect(first!.key_version).toBe(1);
    expect(Buffer.compare(first!.ciphertext, second!.ciphertext)).not.toBe(0);
    expect(first!.ciphertext.subarray(0, 12)).not.toEqual(second!.ciphertext.subarray(0, 12));
    // No plaintext in the row.
    expect(first!.ciphertext.toString('latin1')).not.toContain('15550001111');
    const loaded = await s.loadCreds();
    expect(loaded.stored).toBe(true);
    expect(loaded.creds.me?.id).toBe('15550001111:3@s.whatsapp.net');
    expect(Buffer.from(loaded.creds.noiseKey.private)).toEqual(Buffer.from(creds.noiseKey.private));
  });

  it('stores every v7 key type, reads back only present ids, honours deletes, one statement per set', async () => {
    const { agentId, epoch } = await ownedSession();
    const s = store(agentId, epoch);
    const pair = { public: Buffer.alloc(32, 2), private: Buffer.alloc(32, 3) };
    await s.keys.set({
      'pre-key': { '1': pair, '2': pair },
      session: { 'a.0': Buffer.from('session-record') as never },
      'sender-key': { 'g::a::0': Buffer.from('sk') },
      'sender-key-memory': { g: { a: true } },
      'app-state-sync-key': { k1: proto.Message.AppStateSyncKeyData.fromObject({ keyData: Buffer.alloc(32, 4), timestamp: 5 }) },
      'app-state-sync-version': { regular: { version: 3, hash: Buffer.alloc(128), indexValueMap: {} } },
      'lid-mapping': { '15550001111': '123@lid' },
      'device-list': { '15550001111': ['0', '2'] },
      tctoken: { '123@lid': { token: Buffer.from('t'), timestamp: '1' } },
      'identity-key': { 'a.0': Buffer.alloc(33, 9) },
    });
    const counts = await db.sql`select key_type, key_count::int as n from gateway.signal_key_counts(${agentId}) order by key_type`;
    expect(counts.length).toBe(10);
    const pre = await s.keys.get('pre-key', ['1', '2', '3']);
    expect(Object.keys(pre).sort()).toEqual(['1', '2']);
    expect(Buffer.from(pre['1']!.private)).toEqual(pair.private);
    const app = await s.keys.get('app-state-sync-key', ['k1']);
    expect(app.k1).toBeInstanceOf(proto.Message.AppStateSyncKeyData);
    expect((await s.keys.get('sender-key-memory', ['g'])).g).toEqual({ a: true });
    expect((await s.keys.get('device-list', ['15550001111']))['15550001111']).toEqual(['0', '2']);

    await s.keys.set({ 'pre-key': { '1': null }, session: { 'a.0': null } });
    expect(Object.keys(await s.keys.get('pre-key', ['1', '2']))).toEqual(['2']);
    expect(await s.keys.get('session', ['a.0'])).toEqual({});
  });

  it('a keys.set is applied whole or not at all', async () => {
    const { agentId, epoch } = await ownedSession();
    const s = store(agentId, epoch);
    await s.keys.set({ 'pre-key': { '1': { public: Buffer.alloc(32), private: Buffer.alloc(32) } } });
    // A bad key id in the same set makes the whole statement fail: the delete of '1' is not applied.
    await expect(s.keys.set({ 'pre-key': { '1': null, ['x'.repeat(600)]: { public: Buffer.alloc(32), private: Buffer.alloc(32) } } })).rejects.toThrow();
    expect(Object.keys(await s.keys.get('pre-key', ['1']))).toEqual(['1']);
  });

  it('refuses a tampered ciphertext, a row swapped to another id, and a wrong key — as corrupt state', async () => {
    const { agentId, epoch } = await ownedSession();
    const corrupt: CorruptAuthState[] = [];
    const s = store(agentId, epoch, keyring, { onCorrupt: (e) => corrupt.push(e) });
    const pair = { public: Buffer.alloc(32, 2), private: Buffer.alloc(32, 3) };
    await s.keys.set({ 'pre-key': { '1': pair, '2': pair } });
    await s.saveCreds(initAuthCreds());

    // Swap: row 1's ciphertext copied onto row 2 must not open (associated data binds the id).
    await db.sql`update private.signal_keys set ciphertext = (select ciphertext from private.signal_keys where agent_id = ${agentId} and key_id = '1')
      where agent_id = ${agentId} and key_id = '2'`;
    await expect(s.keys.get('pre-key', ['2'])).rejects.toBeInstanceOf(CorruptAuthState);
    expect(Object.keys(await s.keys.get('pre-key', ['1']))).toEqual(['1']);

    // Tamper: flip one byte of the creds.
    await db.sql`update private.session_credentials set ciphertext = set_byte(ciphertext, 20, get_byte(ciphertext, 20) # 1) where agent_id = ${agentId}`;
    await expect(s.loadCreds()).rejects.toThrow(/stored creds cannot be opened: ciphertext failed authentication/);

    // Wrong key.
    await s.saveCreds(initAuthCreds());
    const other = await createKeyring({ version: 1, key: key(9) });
    await expect(store(agentId, epoch, other).loadCreds()).rejects.toBeInstanceOf(CorruptAuthState);
    expect(corrupt.length).toBe(2);
  });

  it('rejects structurally invalid creds that decrypt fine', async () => {
    const { agentId, epoch } = await ownedSession();
    const s = store(agentId, epoch);
    const creds = initAuthCreds() as unknown as Record<string, unknown>;
    delete creds.noiseKey;
    await s.saveCreds(creds as never);
    await expect(s.loadCreds()).rejects.toThrow(/stored creds are invalid at noiseKey/);
  });

  it('reads values sealed with an older key version; writes use the current one', async () => {
    const { agentId, epoch } = await ownedSession();
    const old = await createKeyring({ version: 1, key: key(1) });
    await store(agentId, epoch, old).saveCreds(initAuthCreds());
    const rotated = await createKeyring({ version: 2, key: key(2) }, [{ version: 1, key: key(1) }]);
    const s = store(agentId, epoch, rotated);
    expect((await s.loadCreds()).stored).toBe(true);
    await s.saveCreds((await s.loadCreds()).creds);
    const [row] = await db.sql`select key_version from private.session_credentials where agent_id = ${agentId}`;
    expect(row!.key_version).toBe(2);
  });

  it('every call is fenced: after a takeover the old epoch can neither read nor write', async () => {
    const { agentId, epoch } = await ownedSession();
    const stale: unknown[] = [];
    const s = store(agentId, epoch, keyring, { onStale: (e) => stale.push(e) });
    await s.saveCreds(initAuthCreds());
    await db.sql`update public.whatsapp_sessions set lease_until = now() - interval '1 second' where agent_id = ${agentId}`;
    const other = await registerConnector(db.sql);
    expect(await claim(db.sql, other, agentId)).toBe(epoch + 1n);
    expect(await sqlState(s.saveCreds(initAuthCreds()))).toBe('WG004');
    expect(await sqlState(s.loadCreds())).toBe('WG004');
    expect(await sqlState(Promise.resolve(s.keys.set({ 'pre-key': { '9': { public: Buffer.alloc(32), private: Buffer.alloc(32) } } })))).toBe('WG004');
    expect(await sqlState(Promise.resolve(s.keys.get('pre-key', ['9'])))).toBe('WG004');
    expect(await sqlState(s.wipe())).toBe('WG004');
    expect(stale.length).toBe(5);
    const [row] = await db.sql`select count(*)::int as n from private.signal_keys where agent_id = ${agentId}`;
    expect(row!.n).toBe(0);
  });
});

describe('Postgres auth state: closing writes', () => {
  it('waits for writes in flight and drops later ones, so a wipe stays a wipe', async () => {
    const agentId = await createRunningAgent(db.sql, owner);
    const epoch = (await claim(db.sql, connector, agentId))!;
    const s = store(agentId, epoch);
    const pair = { public: Buffer.alloc(32, 2), private: Buffer.alloc(32, 3) };
    const inFlight = s.keys.set({ 'pre-key': { '1': pair } });
    await s.closeWrites();
    await inFlight;
    await s.wipe();
    await s.keys.set({ 'pre-key': { '2': pair } });
    await s.saveCreds(initAuthCreds());
    const [row] = await db.sql`select (select count(*) from private.signal_keys where agent_id = ${agentId})::int
      + (select count(*) from private.session_credentials where agent_id = ${agentId})::int as n`;
    expect(row!.n).toBe(0);
  });
});

describe('Postgres auth state: key writes held while a message is decrypted (issue 16)', () => {
  const rec = (fill: number) => Buffer.from(`session-${fill}`) as never;
  const durable = async (agentId: string, type: string, id: string) =>
    (await db.sql`select 1 from private.signal_keys where agent_id = ${agentId} and key_type = ${type} and key_id = ${id}`).length === 1;

  it('reads see held writes and deletes; a commit writes message and keys in one transaction; a failed one writes neither', async () => {
    const { agentId, epoch } = await ownedSession();
    const s = store(agentId, epoch);
    const pair = { public: Buffer.alloc(32, 2), private: Buffer.alloc(32, 3) };
    await s.keys.set({ 'pre-key': { '7': pair } });
    const hold = s.holdKeyWrites();
    hold.enable();
    await hold.decrypting(async () => s.keys.set({ session: { 'c.0': rec(1) }, 'pre-key': { '7': null } }));
    expect(hold.held()).toBe(1);
    expect(await durable(agentId, 'session', 'c.0')).toBe(false);
    expect(await durable(agentId, 'pre-key', '7')).toBe(true);
    expect(Buffer.from((await s.keys.get('session', ['c.0']))['c.0'] as never)).toEqual(Buffer.from('session-1'));
    expect(await s.keys.get('pre-key', ['7'])).toEqual({});
    hold.claim(['M1']);
    await expect(hold.commit(['M1'], async (q) => { await q`select 1/0`; })).rejects.toThrow();
    expect(await durable(agentId, 'session', 'c.0')).toBe(false);
    expect(hold.held()).toBe(1);
    await hold.commit(['M1'], async (q) => q`select 1`);
    expect(hold.held()).toBe(0);
    expect(await durable(agentId, 'session', 'c.0')).toBe(true);
    expect(await durable(agentId, 'pre-key', '7')).toBe(false);
  });

  it('writes in order: a later message stored first waits for the earlier one; a drop makes nothing durable', async () => {
    const { agentId, epoch } = await ownedSession();
    const s = store(agentId, epoch);
    const hold = s.holdKeyWrites();
    hold.enable();
    await hold.decrypting(async () => s.keys.set({ session: { 'c.0': rec(1) } }));
    hold.claim(['A']);
    await hold.decrypting(async () => s.keys.set({ session: { 'c.0': rec(2) }, 'sender-key': { g: Buffer.from('sk') } }));
    hold.claim(['B']);
    // A send outside any decryption touching a held key queues behind it; an unrelated one goes through.
    await s.keys.set({ session: { 'c.0': rec(3) }, 'identity-key': { 'x.0': Buffer.alloc(33, 1) } });
    await s.keys.set({ 'pre-key': { '9': { public: Buffer.alloc(32, 1), private: Buffer.alloc(32, 1) } } });
    expect(await durable(agentId, 'pre-key', '9')).toBe(true);
    expect(await durable(agentId, 'identity-key', 'x.0')).toBe(false);
    expect(Buffer.from((await s.keys.get('session', ['c.0']))['c.0'] as never)).toEqual(Buffer.from('session-3'));
    await hold.commit(['B'], async (q) => q`select 1`);
    expect(await durable(agentId, 'session', 'c.0')).toBe(false); // B's state includes A's step
    await hold.settle(['A']); // A needed no storing
    expect(hold.held()).toBe(0);
    const [row] = await db.sql`select 1 from private.signal_keys where agent_id = ${agentId} and key_type = 'sender-key'`;
    expect(row).toBeDefined();
    expect(Buffer.from((await store(agentId, epoch).keys.get('session', ['c.0']))['c.0'] as never)).toEqual(Buffer.from('session-3'));

    const next = s.holdKeyWrites();
    next.enable();
    await next.decrypting(async () => s.keys.set({ session: { 'd.0': rec(4) } }));
    next.claim(['C']);
    next.drop();
    await next.decrypting(async () => s.keys.set({ session: { 'd.1': rec(5) } }));
    await next.settle(['C']);
    expect(await durable(agentId, 'session', 'd.0')).toBe(false);
    expect(await durable(agentId, 'session', 'd.1')).toBe(false);
    expect(await s.keys.get('session', ['d.0', 'd.1'])).toEqual({});
  });
});
