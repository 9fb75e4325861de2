// The one poll loop of the connector. The outbound claim, the session sweep, the webhook outbox
// and number checks all run on it, so they follow the same rules.
//
// The loop, in plain words:
//   idle      before start() and after stop(): nudges are ignored and no timer is set.
//   fetching  one fetch() at a time. A nudge that arrives now is remembered and one more fetch
//             follows right after (nudgeDelayMs, as for any nudge): the work it announces may
//             have been committed after this fetch's snapshot, so this fetch may not have seen it.
//   full      fetch() said its batch came back full: fetch again at once, there is likely more.
//   failed    fetch() threw: logged, then wait the poll interval doubled per failure in a row, up
//             to maxBackoffMs, so a failing database is not asked every interval. The first
//             success resets it.
//   waiting   otherwise wait the poll interval. A nudge cuts any wait, a backoff included, to
//             nudgeDelayMs (a burst of nudges makes one fetch): a wake-up is the database talking
//             again (LISTEN resubscribes after an outage), and every nudge is followed by a fetch
//             that starts after it.
//   stopping  stop() clears the timer, lets the fetch in flight finish and resolves after it;
//             calling it again returns the same promise. No timer of the loop outlives it.
import type { Logger } from 'pino';

export interface PollLoopOptions {
  /** What a fetch does, for the log: "claiming messages". */
  name: string;
  /** One round of claiming; resolves true when the batch came back full. */
  fetch: () => Promise<boolean>;
  intervalMs: number;
  /** From a nudge to the fetch (default 0): lets a burst of nudges coalesce. */
  nudgeDelayMs?: number;
  /** Longest wait after failures in a row (default 30 s; never below intervalMs). */
  maxBackoffMs?: number;
  logger: Logger;
}

export interface PollLoop {
  start(): void;
  /** Fetch soon rather than at the next interval; remembered when a fetch is in flight. */
  nudge(): void;
  /** Resolves once the fetch in flight (if any) has finished; idempotent. */
  stop(): Promise<void>;
}

export const DEFAULT_MAX_BACKOFF_MS = 30_000;

export function createPollLoop(options: PollLoopOptions): PollLoop {
  const { name, fetch, intervalMs, logger } = options;
  const nudgeDelayMs = options.nudgeDelayMs ?? 0;
  const maxBackoffMs = Math.max(intervalMs, options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS);
  let started = false;
  let stopping = false;
  let running: Promise<void> = Promise.resolve();
  /** A nudge arrived while fetching. */
  let nudged = false;
  let failures = 0;
  /** Set while waiting: ends the wait now, or after `ms`. */
  let timer: NodeJS.Timeout | undefined;
  let endWait: (() => void) | undefined;
  let waitShortened = false;

  function wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      endWait = () => {
        clearTimeout(timer);
        timer = undefined;
        endWait = undefined;
        resolve();
      };
      waitShortened = ms <= nudgeDelayMs;
      timer = setTimeout(endWait, ms);
    });
  }

  async function run(): Promise<void> {
    while (!stopping) {
      nudged = false;
      let next = intervalMs;
      try {
        const full = await fetch();
        failures = 0;
        if (full) next = 0;
      } catch (error) {
        failures += 1;
        next = Math.min(maxBackoffMs, intervalMs * 2 ** (failures - 1));
        logger.error({ err: error, failures, retryInMs: next }, `${name} failed`);
      }
      if (nudged) next = Math.min(next, nudgeDelayMs);
      if (stopping) break;
      // Even "at once" goes through a timer, so a loop of full batches leaves room for I/O.
      await wait(next);
    }
  }

  return {
    start() {
      if (started || stopping) return;
      started = true;
      running = run();
    },
    nudge() {
      if (!started || stopping) return;
      if (!endWait) {
        nudged = true;
        return;
      }
      if (waitShortened) return;
      waitShortened = true;
      clearTimeout(timer);
      timer = setTimeout(endWait, nudgeDelayMs);
    },
    stop() {
      if (!stopping) {
        stopping = true;
        endWait?.();
      }
      return running;
    },
  };
}
