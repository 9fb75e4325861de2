// An in-memory Signal key store with the shape Baileys expects (`get` omits missing ids, a null
// value in `set` deletes), wrapped with Baileys' own transaction capability. Used by the
// simulator's Signal devices and by test-side Baileys sockets.
import {
  addTransactionCapability,
  type SignalDataSet,
  type SignalDataTypeMap,
  type SignalKeyStore,
  type SignalKeyStoreWithTransaction,
} from '@whiskeysockets/baileys';
import { pino } from 'pino';

const silentLogger = pino({ level: 'silent' });

export type KeyStoreDump = Record<string, Record<string, unknown>>;

/** @param initial a previous `dump()`, to carry a linked session into another process. */
export function makeMemoryKeyStore(initial: KeyStoreDump = {}): SignalKeyStoreWithTransaction & { dump(): KeyStoreDump } {
  const data = new Map<string, Map<string, unknown>>(
    Object.entries(initial).map(([type, values]) => [type, new Map(Object.entries(values))]),
  );
  const store: SignalKeyStore = {
    get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]) {
      const bucket = data.get(type);
      const result: { [id: string]: SignalDataTypeMap[T] } = {};
      for (const id of ids) {
        const value = bucket?.get(id);
        if (value !== undefined) result[id] = value as SignalDataTypeMap[T];
      }
      return result;
    },
    set(update: SignalDataSet) {
      for (const [type, values] of Object.entries(update)) {
        let bucket = data.get(type);
        if (!bucket) {
          bucket = new Map();
          data.set(type, bucket);
        }
        for (const [id, value] of Object.entries(values ?? {})) {
          if (value === null || value === undefined) bucket.delete(id);
          else bucket.set(id, value);
        }
      }
    },
    clear() {
      data.clear();
    },
  };
  const withTransactions = addTransactionCapability(store, silentLogger, { maxCommitRetries: 3, delayBetweenTriesMs: 10 });
  const dump = (): KeyStoreDump =>
    Object.fromEntries([...data].map(([type, values]) => [type, Object.fromEntries(values)]));
  return Object.assign(withTransactions, { dump });
}
