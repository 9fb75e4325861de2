// Spreads socket starts in time (CONNECTOR_CONNECT_INTERVAL_MS): every new WhatsApp socket — the
// first after a claim, a reconnect, the restart after pairing — takes the next free start time,
// at least `intervalMs` after the one before. After a restart or a takeover, hundreds of
// sessions want a socket at once; WhatsApp then sees an even stream of logins from this
// connector (25 per second by default) instead of a burst, and this process does the handshakes
// one after another instead of all together. The connect slots (Semaphore) still bound how many
// handshakes are in flight; a session asks the pacer only once it holds a slot, so at most that
// many start times are reserved ahead and a session that ends while waiting wastes little.
import type { Clock } from '../clock.ts';

export class StartPacer {
  /** Monotonic time of the latest start handed out. */
  private last = Number.NEGATIVE_INFINITY;
  /** Sessions waiting for their start time now (a gauge for metrics and tests). */
  waiting = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly clock: Pick<Clock, 'monotonic'>,
  ) {}

  /** Reserves the next start time; returns how long to wait for it (0: start now). */
  reserve(): number {
    const now = this.clock.monotonic();
    const at = Math.max(now, this.last + this.intervalMs);
    this.last = at;
    return at - now;
  }

  /** Waits for the next start time. */
  async wait(): Promise<void> {
    const delay = this.reserve();
    if (delay <= 0) return;
    this.waiting++;
    try {
      // Unref'd: a start still waited for must not keep a stopped connector's process alive (the
      // session, ended meanwhile, does nothing after the wait).
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
    } finally {
      this.waiting--;
    }
  }
}
