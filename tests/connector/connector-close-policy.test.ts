import { describe, expect, it } from 'vitest';
import { attemptAfterClose, backoffDelay, classifyClose, closeCodeOf } from '../../connector/sessions/close-policy.ts';

describe('close-code policy', () => {
  it.each([
    [515, false, 'restart'],
    [408, false, 'backoff'],
    [428, false, 'backoff'],
    [500, false, 'backoff'],
    [503, false, 'backoff'],
    [undefined, false, 'backoff'],
    [499, false, 'backoff'],
    [440, false, 'conflict'],
    [401, false, 'logout'],
    [403, false, 'stop'],
    [411, false, 'stop'],
    [428, true, 'backoff'],
    [401, true, 'logout'],
  ] as const)('code %s (linking %s) → %s', (code, linking, action) => {
    expect(classifyClose({ code, linking })).toBe(action);
  });

  it('ends a link attempt on 408 only when the QR codes ran out, not when the connection was lost', () => {
    // Baileys closes with 408 for all three; only the first means nobody scanned in time.
    expect(classifyClose({ code: 408, message: 'QR refs attempts ended', linking: true })).toBe('qr_timeout');
    expect(classifyClose({ code: 408, message: 'Connection was lost', linking: true })).toBe('backoff');
    expect(classifyClose({ code: 408, message: 'Timed Out', linking: true })).toBe('backoff');
    expect(classifyClose({ code: 408, message: 'QR refs attempts ended', linking: false })).toBe('backoff');
  });

  it('device_removed in the stream error is a logout whatever the code', () => {
    expect(classifyClose({ code: 500, message: 'Stream Errored (conflict)', data: { tag: 'conflict', attrs: { type: 'device_removed' } }, linking: false })).toBe('logout');
    expect(classifyClose({ code: undefined, message: 'device_removed', linking: false })).toBe('logout');
  });

  it('reads the status code of a Boom-like error', () => {
    expect(closeCodeOf({ output: { statusCode: 440 } })).toBe(440);
    expect(closeCodeOf(new Error('x'))).toBeUndefined();
    expect(closeCodeOf(undefined)).toBeUndefined();
  });
});

describe('backoff with full jitter', () => {
  const policy = { baseMs: 1000, maxMs: 30_000 };
  it('doubles the ceiling from 1 s up to the 30 s cap', () => {
    const ceilings = [0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(policy, a, () => 0.999999));
    expect(ceilings).toEqual([999, 1999, 3999, 7999, 15_999, 29_999, 29_999, 29_999]);
  });
  it('is uniform from zero (full jitter, not equal jitter)', () => {
    expect(backoffDelay(policy, 4, () => 0)).toBe(0);
    const samples = Array.from({ length: 2000 }, () => backoffDelay(policy, 3));
    expect(Math.min(...samples)).toBeLessThan(800);
    expect(Math.max(...samples)).toBeGreaterThan(7200);
    expect(Math.max(...samples)).toBeLessThan(8000);
  });
  it('resets the attempt after a stable period only', () => {
    expect(attemptAfterClose(5, 60_000, 60_000)).toBe(0);
    expect(attemptAfterClose(5, 59_999, 60_000)).toBe(5);
    expect(attemptAfterClose(5, undefined, 60_000)).toBe(5);
  });
});

describe('connect slots', () => {
  it('bounds concurrency and returns a slot held too long by itself', async () => {
    const { Semaphore } = await import('../../connector/sessions/semaphore.ts');
    const slots = new Semaphore(1);
    const first = await slots.acquire(50);
    let second = false;
    const pending = slots.acquire().then((release) => {
      second = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(second).toBe(false);
    await new Promise((r) => setTimeout(r, 80));
    expect(second).toBe(true);
    first(); // releasing again is harmless
    (await pending)();
    const third = await slots.acquire();
    third();
  });
});
