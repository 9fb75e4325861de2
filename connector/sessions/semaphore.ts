// A counting semaphore: bounds how many sockets handshake at once, so a claim of hundreds of
// sessions (start-up, failover) does not stall the event loop with hundreds of noise handshakes.
export class Semaphore {
  private waiting: Array<() => void> = [];
  constructor(private free: number) {}

  /**
   * Resolves with a release function. `maxHoldMs` returns the slot by itself after that long, so a
   * socket that never reports (no QR, open or close) cannot starve every other session.
   */
  async acquire(maxHoldMs?: number): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    const timer = maxHoldMs ? setTimeout(() => release(), maxHoldMs) : undefined;
    timer?.unref();
    const release = () => {
      if (released) return;
      released = true;
      if (timer) clearTimeout(timer);
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
    return release;
  }
}
