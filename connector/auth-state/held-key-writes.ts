// Signal key writes made while decrypting an inbound message are held until the message is stored.
//
// Baileys writes the Signal session change of an inbound message (ratchet step, consumed one-time
// pre-key) to the key store as it decrypts it, before the message reaches us. Were that change
// durable when the connector dies before gateway.record_inbound commits the message, the copy
// WhatsApp redelivers (its receipt was never sent, messages/inbound-acks.ts) could no longer be
// decrypted ("Key used already or never filled"): Baileys nacks it and it is lost. So, per socket:
//   - key writes made inside a decryption are kept in memory, in order; reads see them first (a
//     null is a delete);
//   - they are written in the same transaction as the message they belong to (`commit`), or on
//     their own once their message needs no storing (`settle`: protocol messages, nacks);
//   - an entry is written only with or after every earlier one, so a session is never stored ahead
//     of a message that is still unstored;
//   - when the socket ends they are dropped, like the held receipts: WhatsApp redelivers those
//     messages and they decrypt again from the durable state.
// Writes outside a decryption (sends, pre-key uploads) go straight through, unless they touch a
// held key: then they queue behind it, or the older held value would later overwrite them.
// Which message a write belongs to: Baileys decrypts one message at a time per socket and sends
// that message's receipt or ack right after decrypting it, so the writes made since the last
// receipt are claimed by the next one (`claim`, called from inbound-acks.ts).
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SignalDataSet } from '@whiskeysockets/baileys';
import type { Sql } from 'postgres';

/** Writes nobody claimed within this time (Baileys changed its receipt path) are written anyway. */
const UNCLAIMED_MS = 10_000;

const decryption = new AsyncLocalStorage<KeyWriteHold>();

/** The hold whose decryption is running in this async context, if any. */
export function decryptionScope(): KeyWriteHold | undefined {
  return decryption.getStore();
}

interface Entry {
  /** Messages it belongs to; undefined until claimed; [] when it waits for no message. */
  ids: string[] | undefined;
  data: SignalDataSet;
  at: number;
}

export interface KeyWriteHoldDeps {
  sql: Sql;
  /** One fenced write of `data` through `q` (the pool, or the message's transaction). */
  write(q: Sql, data: SignalDataSet, standalone: boolean): Promise<void>;
  onError(error: unknown, what: string): void;
}

export class KeyWriteHold {
  private entries: Entry[] = [];
  private settled = new Set<string>();
  private enabled = false;
  private dropped = false;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly owner: object,
    private readonly deps: KeyWriteHoldDeps,
  ) {}

  /** Holding starts once something releases held writes (the inbound ack gate is installed). */
  enable(): void {
    this.enabled = true;
  }

  /** Runs one of Baileys' decryption calls; the key writes it makes are held. */
  decrypting<T>(fn: () => Promise<T>): Promise<T> {
    return this.enabled ? decryption.run(this, fn) : fn();
  }

  /** A write made inside this hold's decryption: kept (or discarded once the socket ended). */
  take(data: SignalDataSet): void {
    if (this.dropped) return;
    this.entries.push({ ids: undefined, data, at: Date.now() });
    this.armUnclaimed();
  }

  /** A write from outside a decryption: true when it touches a held key and was queued behind it. */
  queueBehind(data: SignalDataSet): boolean {
    if (this.dropped || this.entries.length === 0) return false;
    const touches = Object.entries(data).some(([type, values]) => Object.keys(values ?? {}).some((id) => this.lookup(type, id) !== undefined));
    if (!touches) return false;
    this.entries.push({ ids: [], data, at: Date.now() });
    void this.settle([]);
    return true;
  }

  /** The latest held value of a key: { value: null } for a held delete, undefined when not held. */
  lookup(type: string, id: string): { value: unknown } | undefined {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const values = this.entries[i]!.data[type as keyof SignalDataSet] as Record<string, unknown> | undefined;
      if (values && Object.hasOwn(values, id)) return { value: values[id] ?? null };
    }
    return undefined;
  }

  /** The receipt (or ack) of these messages is being written: the unclaimed writes are theirs. */
  claim(ids: string[]): void {
    for (const entry of this.entries) if (entry.ids === undefined) entry.ids = [...ids];
  }

  /** These messages need no storing (or are stored): write what may be written now. */
  settle(ids: string[]): Promise<void> {
    if (!this.enabled) return Promise.resolve();
    return this.serial(async () => {
      for (const id of ids) this.settled.add(id);
      const n = this.writable(this.settled);
      if (n === 0 || this.dropped) return;
      const entries = this.entries;
      try {
        await this.deps.write(this.deps.sql, this.merge(n), true);
      } catch (error) {
        // Kept: they go out with the next message's commit, or are dropped with the socket.
        this.deps.onError(error, 'writing held signal keys failed');
        return;
      }
      this.consume(entries, n);
    });
  }

  /** Stores messages with `work` and, in the same transaction, the key writes that may go with them. */
  commit<T>(ids: string[], work: (q: Sql) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      const n = this.dropped ? 0 : this.writable(new Set([...this.settled, ...ids]));
      if (n === 0) {
        const result = await work(this.deps.sql);
        for (const id of ids) this.settled.add(id);
        return result;
      }
      const entries = this.entries;
      const data = this.merge(n);
      const result = await this.deps.sql.begin(async (tx) => {
        const out = await work(tx as unknown as Sql);
        await this.deps.write(tx as unknown as Sql, data, false);
        return out;
      });
      for (const id of ids) this.settled.add(id);
      this.consume(entries, n);
      return result as T;
    });
  }

  /** The socket ended: nothing held becomes durable. */
  drop(): void {
    this.dropped = true;
    this.entries = [];
    this.settled.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Writes held right now (tests, the ack gate). */
  held(): number {
    return this.entries.length;
  }

  /** How many leading entries belong only to settled messages. */
  private writable(settled: Set<string>): number {
    let n = 0;
    for (const entry of this.entries) {
      if (!entry.ids?.every((id) => settled.has(id))) break;
      n++;
    }
    return n;
  }

  private merge(n: number): SignalDataSet {
    const out: Record<string, Record<string, unknown>> = {};
    for (const entry of this.entries.slice(0, n)) {
      for (const [type, values] of Object.entries(entry.data)) out[type] = { ...out[type], ...values };
    }
    return out as SignalDataSet;
  }

  private consume(entries: Entry[], n: number): void {
    if (this.entries !== entries) return; // dropped meanwhile
    entries.splice(0, n);
    const referenced = new Set(entries.flatMap((e) => e.ids ?? []));
    for (const id of this.settled) if (!referenced.has(id)) this.settled.delete(id);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private armUnclaimed(): void {
    if (this.timer || this.dropped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const old = this.entries.filter((e) => e.ids === undefined && Date.now() - e.at >= UNCLAIMED_MS);
      if (old.length > 0) {
        this.deps.onError(new Error(`${old.length} signal key writes were claimed by no receipt`), 'writing unclaimed signal keys');
        for (const entry of old) entry.ids = [];
        void this.settle([]);
      }
      if (this.entries.some((e) => e.ids === undefined)) this.armUnclaimed();
    }, UNCLAIMED_MS);
    this.timer.unref();
  }
}
