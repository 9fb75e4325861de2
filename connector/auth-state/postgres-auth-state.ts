// A Baileys auth state kept in Postgres (docs/invariants.md, invariant 2): creds in
// private.session_credentials and every Signal key type in private.signal_keys, encrypted by the
// connector, each call fenced by the session's lease epoch in SQL.
//
// - keys.set is one call of gateway.write_signal_keys: Baileys' transaction capability (added by
//   makeWASocket) batches a transaction's writes into one set, so a Baileys key transaction is one
//   database statement, applied whole or refused whole. Null values delete.
// - A stale_lease error (WG004) is reported through onStale and rethrown; the session manager then
//   ends the socket. Undecryptable or malformed rows are reported through onCorrupt
//   (CorruptAuthState.undecryptable tells the two apart).
// - Key writes made while Baileys decrypts an inbound message are held in memory until the message
//   is stored (held-key-writes.ts); `holdKeyWrites` starts the hold of a new socket, and reads see
//   held values first.
import type { AuthenticationCreds, SignalDataSet, SignalDataTypeMap, SignalKeyStore } from '@whiskeysockets/baileys';
import { initAuthCreds } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';
import type { Sql } from 'postgres';
import { DecryptionError, type Keyring } from '../../kernel/secret-box.ts';
import type { Metrics } from '../metrics.ts';
import { retryConnectionErrors } from '../db-retry.ts';
import { isStaleLease, STALE_LEASE } from '../sessions/context.ts';
import { getSignalKeys, loadCreds, saveCreds, wipeAuthState, writeSignalKeys } from '../sql/auth-state.ts';
import { credsAd, decodeValue, encodeValue, keyAd, reviveKey } from './codec.ts';
import { decryptionScope, KeyWriteHold } from './held-key-writes.ts';
import { CorruptAuthState, validateCreds } from './validate-creds.ts';

export interface AuthStateDeps {
  sql: Sql;
  keyring: Keyring;
  agentId: string;
  connectorId: string;
  epoch(): bigint;
  metrics?: Metrics;
  logger?: Logger;
  /** False once the lease has run out by the session's own clock: no statement is sent then. */
  leaseFresh?(): boolean;
  onStale?(error: unknown): void;
  onCorrupt?(error: CorruptAuthState): void;
}

export interface PostgresAuthState {
  /** Stored creds (validated), or fresh ones when the session was never linked or was wiped. */
  loadCreds(): Promise<{ creds: AuthenticationCreds; stored: boolean }>;
  saveCreds(creds: AuthenticationCreds): Promise<void>;
  keys: SignalKeyStore;
  wipe(): Promise<void>;
  /**
   * Stop writing: later saveCreds/keys.set calls are dropped, and the returned promise settles
   * when writes already in flight have. A wipe after this cannot be followed by a late write that
   * resurrects part of the state.
   */
  closeWrites(): Promise<void>;
  /** A new socket's hold on the key writes of the messages it decrypts; the previous one is dropped. */
  holdKeyWrites(): KeyWriteHold;
}

function staleLeaseError(): Error {
  return Object.assign(new Error('stale_lease: the lease ran out by this connector\'s clock'), { code: STALE_LEASE });
}

export function createPostgresAuthState(deps: AuthStateDeps): PostgresAuthState {
  const { sql, keyring, agentId, connectorId } = deps;

  let writesClosed = false;
  const inflight = new Set<Promise<unknown>>();
  const owner = {};
  let hold: KeyWriteHold | undefined;

  function write(op: string, work: () => Promise<void>): Promise<void> {
    if (writesClosed) return Promise.resolve();
    const promise = run(op, work);
    inflight.add(promise);
    const forget = () => inflight.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  async function run<T>(op: string, work: () => Promise<T>): Promise<T> {
    try {
      // A stale connector asks the database nothing for a session it may no longer own.
      if (deps.leaseFresh && !deps.leaseFresh()) throw staleLeaseError();
      const result = await work();
      deps.metrics?.keyStoreOps.inc({ op, outcome: 'ok' });
      return result;
    } catch (error) {
      const stale = isStaleLease(error);
      deps.metrics?.keyStoreOps.inc({ op, outcome: stale ? 'stale_lease' : error instanceof CorruptAuthState ? 'corrupt' : 'error' });
      if (stale) deps.onStale?.(error);
      if (error instanceof CorruptAuthState) deps.onCorrupt?.(error);
      throw error;
    }
  }

  /** One gateway.write_signal_keys call (fenced; an empty ciphertext deletes). */
  async function writeKeys(q: Sql, data: SignalDataSet): Promise<void> {
    const types: string[] = [];
    const ids: string[] = [];
    const ciphertexts: Buffer[] = [];
    const versions: number[] = [];
    for (const [type, entries] of Object.entries(data)) {
      for (const [id, value] of Object.entries(entries ?? {})) {
        types.push(type);
        ids.push(id);
        if (value === null || value === undefined) {
          ciphertexts.push(Buffer.alloc(0)); // empty means delete
          versions.push(keyring.currentVersion);
        } else {
          const sealed = await encodeValue(keyring, value, keyAd(agentId, type, id));
          ciphertexts.push(sealed.ciphertext);
          versions.push(sealed.keyVersion);
        }
      }
    }
    if (types.length === 0) return;
    await writeSignalKeys(q, { agent: agentId, connector: connectorId, epoch: deps.epoch(), keyTypes: types, keyIds: ids, ciphertexts, keyVersions: versions });
  }

  const corrupt = (what: string, error: unknown) =>
    new CorruptAuthState(`${what} cannot be opened: ${error instanceof DecryptionError ? error.message : String((error as Error)?.message ?? error)}`, {
      undecryptable: error instanceof DecryptionError,
    });

  return {
    loadCreds: () =>
      run('load_creds', async () => {
        const row = await loadCreds(sql, { agent: agentId, connector: connectorId, epoch: deps.epoch() });
        if (!row) return { creds: initAuthCreds(), stored: false };
        let value: unknown;
        try {
          value = await decodeValue(keyring, row.ciphertext, row.key_version, credsAd(agentId));
        } catch (error) {
          throw corrupt('stored creds', error);
        }
        return { creds: validateCreds(value), stored: true };
      }),

    closeWrites: async () => {
      writesClosed = true;
      hold?.drop();
      await Promise.allSettled([...inflight]);
    },

    holdKeyWrites: () => {
      hold?.drop();
      hold = new KeyWriteHold(owner, {
        sql,
        // Inside the message's transaction a failure fails the transaction; on its own it is
        // dropped after writesClosed like any other write.
        write: (q, data, standalone) => (standalone ? write('set', () => writeKeys(q, data)) : run('set', () => writeKeys(q, data))),
        onError: (error, what) => deps.logger?.warn({ err: error, agentId }, what),
      });
      return hold;
    },

    saveCreds: (creds) =>
      write('save_creds', async () => {
        const { ciphertext, keyVersion } = await encodeValue(keyring, creds, credsAd(agentId));
        await saveCreds(sql, { agent: agentId, connector: connectorId, epoch: deps.epoch(), ciphertext, keyVersion });
      }),

    wipe: () =>
      run('wipe', async () => {
        await wipeAuthState(sql, { agent: agentId, connector: connectorId, epoch: deps.epoch() });
      }),

    keys: {
      get: <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) =>
        run('get', async () => {
          const out: { [id: string]: SignalDataTypeMap[T] } = {};
          const unheld: string[] = [];
          for (const id of ids) {
            const held = hold?.lookup(type, id);
            if (!held) unheld.push(id);
            else if (held.value !== null) out[id] = held.value as SignalDataTypeMap[T];
          }
          if (unheld.length === 0) return out;
          const rows = await retryConnectionErrors(() => getSignalKeys(sql, { agent: agentId, connector: connectorId, epoch: deps.epoch(), keyType: type, keyIds: unheld }));
          for (const row of rows) {
            const id = row.key_id;
            try {
              const value = await decodeValue(keyring, row.ciphertext, row.key_version, keyAd(agentId, type, id));
              out[id] = reviveKey(type, value) as SignalDataTypeMap[T];
            } catch (error) {
              throw corrupt(`signal key ${type}`, error);
            }
          }
          return out;
        }),

      set: (data: SignalDataSet) => {
        const scoped = decryptionScope();
        if (scoped?.owner === owner) {
          scoped.take(data);
          return Promise.resolve();
        }
        if (hold?.queueBehind(data)) return Promise.resolve();
        return write('set', () => writeKeys(sql, data));
      },
    },
  };
}
