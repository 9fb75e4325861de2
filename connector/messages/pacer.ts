// Pacing of one session's sends, so a number is not flagged for bursts: at least minIntervalMs
// (plus up to jitterMs, random) between two sends of the session, and at least recipientIntervalMs
// between two sends to the same recipient. After a 463 the session is slowed down: intervals are
// multiplied by `slowdownFactor` until `slowdownMs` has passed since the last 463.

export interface PacingConfig {
  minIntervalMs: number;
  jitterMs: number;
  recipientIntervalMs: number;
  slowdownFactor: number;
  slowdownMs: number;
}

export class Pacer {
  private lastSendAt = Number.NEGATIVE_INFINITY;
  private nextGap = 0;
  private readonly lastByRecipient = new Map<string, number>();
  private slowUntil = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly config: PacingConfig,
    private readonly random: () => number = Math.random,
  ) {}

  private factor(now: number): number {
    return now < this.slowUntil ? this.config.slowdownFactor : 1;
  }

  /** Milliseconds to wait before sending to `recipient` (0 = now). */
  delay(recipient: string, now: number): number {
    const f = this.factor(now);
    const session = this.lastSendAt + this.nextGap * f - now;
    const last = this.lastByRecipient.get(recipient);
    const perRecipient = last === undefined ? 0 : last + this.config.recipientIntervalMs * f - now;
    return Math.max(0, session, perRecipient);
  }

  sent(recipient: string, now: number): void {
    this.lastSendAt = now;
    this.nextGap = this.config.minIntervalMs + this.random() * this.config.jitterMs;
    this.lastByRecipient.set(recipient, now);
    // Keep the map bounded: entries older than the interval no longer constrain anything.
    if (this.lastByRecipient.size > 5_000) {
      for (const [r, at] of this.lastByRecipient) if (now - at > this.config.recipientIntervalMs * this.config.slowdownFactor) this.lastByRecipient.delete(r);
    }
  }

  restricted(now: number): void {
    this.slowUntil = now + this.config.slowdownMs;
  }

  slowed(now: number): boolean {
    return now < this.slowUntil;
  }
}
