// The connector's one poll loop (connector/poll-loop.ts), rule by rule, on vitest's fake clock:
// what is asserted is which fetches happened and in what order, never how fast.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPollLoop, type PollLoop, type PollLoopOptions } from '../../connector/poll-loop.ts';

interface Fetches {
  /** Fetches started so far. */
  count: number;
  /** Ends the fetch in flight: true = a full batch, an Error = it failed. */
  finish(result?: boolean | Error): Promise<void>;
  inFlight(): boolean;
}

function controlledFetch(): Fetches & { fetch: () => Promise<boolean> } {
  let settle: ((result: boolean | Error) => void) | undefined;
  const state = {
    count: 0,
    fetch: () =>
      new Promise<boolean>((resolve, reject) => {
        state.count += 1;
        settle = (result) => {
          settle = undefined;
          if (result instanceof Error) reject(result);
          else resolve(result);
        };
      }),
    async finish(result: boolean | Error = false) {
      if (!settle) throw new Error('no fetch in flight');
      settle(result);
      await vi.advanceTimersByTimeAsync(0);
    },
    inFlight: () => settle !== undefined,
  };
  controls.push(state);
  return state;
}

const logged: Array<Record<string, unknown>> = [];
const logger = pino({ level: 'error' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
const loops: PollLoop[] = [];
const controls: Fetches[] = [];

function loop(fetch: () => Promise<boolean>, options: Partial<PollLoopOptions> = {}): PollLoop {
  const l = createPollLoop({ name: 'claiming things', fetch, intervalMs: 1_000, nudgeDelayMs: 10, maxBackoffMs: 4_000, logger, ...options });
  loops.push(l);
  return l;
}

beforeEach(() => {
  vi.useFakeTimers();
  logged.length = 0;
});
afterEach(async () => {
  // A loop stops only after its fetch in flight ends: end them.
  const stopping = Promise.all(loops.splice(0).map((l) => l.stop()));
  for (const c of controls.splice(0)) if (c.inFlight()) await c.finish();
  await stopping;
  vi.useRealTimers();
});

describe('poll loop', () => {
  it('fetches at start, then once per poll interval', async () => {
    const f = controlledFetch();
    loop(f.fetch).start();
    expect(f.count).toBe(1);
    await f.finish();
    await vi.advanceTimersByTimeAsync(999);
    expect(f.count).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(f.count).toBe(2);
  });

  it('a nudge while a fetch is in flight is remembered: one more fetch follows right after it', async () => {
    const f = controlledFetch();
    const l = loop(f.fetch, { intervalMs: 60_000 });
    l.start();
    l.nudge();
    l.nudge();
    await f.finish();
    await vi.advanceTimersByTimeAsync(10);
    expect(f.count).toBe(2);
    // Remembered once, not forever: the fetch after it waits for the interval again.
    await f.finish();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(f.count).toBe(2);
  });

  it('a nudge while waiting cuts the wait; a burst of nudges makes one fetch', async () => {
    const f = controlledFetch();
    const l = loop(f.fetch, { intervalMs: 60_000 });
    l.start();
    await f.finish();
    l.nudge();
    await vi.advanceTimersByTimeAsync(5);
    l.nudge();
    l.nudge();
    await vi.advanceTimersByTimeAsync(5);
    expect(f.count).toBe(2);
    await f.finish();
    await vi.advanceTimersByTimeAsync(100);
    expect(f.count).toBe(2);
  });

  it('a full batch fetches again at once, until a batch is not full', async () => {
    const f = controlledFetch();
    loop(f.fetch, { intervalMs: 60_000 }).start();
    await f.finish(true);
    expect(f.count).toBe(2);
    await f.finish(true);
    expect(f.count).toBe(3);
    await f.finish(false);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(f.count).toBe(3);
  });

  it('an error is logged and backs off, doubling to the cap; the first success resets it', async () => {
    const f = controlledFetch();
    loop(f.fetch).start();
    const startsAfter = async (result: boolean | Error, ms: number) => {
      const before = f.count;
      await f.finish(result);
      await vi.advanceTimersByTimeAsync(ms - 1);
      expect(f.count).toBe(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(f.count).toBe(before + 1);
    };
    await startsAfter(new Error('database down'), 1_000);
    await startsAfter(new Error('database down'), 2_000);
    await startsAfter(new Error('database down'), 4_000);
    await startsAfter(new Error('database down'), 4_000); // the cap
    await startsAfter(false, 1_000); // recovered: back to the interval
    await startsAfter(new Error('database down'), 1_000); // and the next failure starts over
    expect(logged.map((l) => [l.msg, l.failures, l.retryInMs, (l.err as { message: string }).message])).toEqual([
      ['claiming things failed', 1, 1_000, 'database down'],
      ['claiming things failed', 2, 2_000, 'database down'],
      ['claiming things failed', 3, 4_000, 'database down'],
      ['claiming things failed', 4, 4_000, 'database down'],
      ['claiming things failed', 1, 1_000, 'database down'],
    ]);
  });

  it('a nudge cuts a backoff short, also one that arrived during the failing fetch', async () => {
    const f = controlledFetch();
    const l = loop(f.fetch, { maxBackoffMs: 60_000 });
    l.start();
    await f.finish(new Error('down'));
    await vi.advanceTimersByTimeAsync(1_000);
    await f.finish(new Error('down')); // now backing off for 2 s
    l.nudge();
    await vi.advanceTimersByTimeAsync(10);
    expect(f.count).toBe(3);
    l.nudge();
    await f.finish(new Error('down'));
    await vi.advanceTimersByTimeAsync(10);
    expect(f.count).toBe(4);
  });

  it('stop waits for the fetch in flight, is idempotent, and leaves no timer behind', async () => {
    const f = controlledFetch();
    const l = loop(f.fetch);
    l.start();
    let stopped = false;
    const first = l.stop().then(() => {
      stopped = true;
    });
    const second = l.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(stopped).toBe(false);
    await f.finish(true); // even a full batch does not fetch again once stopping
    await Promise.all([first, second]);
    expect(stopped).toBe(true);
    expect(f.count).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    l.nudge();
    l.start();
    expect(f.count).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('stop while waiting ends the wait at once; stop before start resolves', async () => {
    const f = controlledFetch();
    const l = loop(f.fetch);
    l.start();
    await f.finish();
    expect(vi.getTimerCount()).toBe(1);
    await l.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(f.count).toBe(1);
    const never = controlledFetch();
    await loop(never.fetch).stop();
    expect(never.count).toBe(0);
  });
});
