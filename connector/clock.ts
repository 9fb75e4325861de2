// Time sources. `monotonic` is what self-fencing trusts: it keeps counting while the process is
// stopped (SIGSTOP) or the wall clock jumps, so a woken process knows how long it was away.
import { performance } from 'node:perf_hooks';

export interface Clock {
  /** Milliseconds on a monotonic clock. */
  monotonic(): number;
  /** Wall-clock milliseconds (only for timestamps shown to people). */
  wall(): number;
}

export const systemClock: Clock = {
  monotonic: () => performance.now(),
  wall: () => Date.now(),
};
