import { describe, expect, it } from 'vitest';
import { FlushThrottle, type ThrottleClock } from './throttle.ts';

/** A clock the test advances by hand; callbacks run when their time comes. */
function fakeClock() {
  let t = 0;
  const queue: { at: number; fn: () => void }[] = [];
  const clock: ThrottleClock = {
    now: () => t,
    soon: (fn) => queue.push({ at: t, fn }),
    later: (fn, ms) => queue.push({ at: t + ms, fn }),
  };
  const advance = (ms: number) => {
    const end = t + ms;
    for (;;) {
      queue.sort((a, b) => a.at - b.at);
      const next = queue[0];
      if (!next || next.at > end) break;
      queue.shift();
      t = next.at;
      next.fn();
    }
    t = end;
  };
  return { clock, advance };
}

describe('FlushThrottle', () => {
  it('sends the first bytes after a quiet spell at once, then at most one flush per interval', () => {
    const { clock, advance } = fakeClock();
    const flushes: number[] = [];
    const th = new FlushThrottle(() => flushes.push(clock.now()), clock, 16);
    th.request();
    advance(0);
    expect(flushes).toEqual([0]); // leading edge: right after the current slice
    // A burst within the interval: one trailing flush when the interval is up.
    for (let i = 0; i < 5; i++) {
      advance(2);
      th.request();
    }
    advance(20);
    expect(flushes).toEqual([0, 16]);
    // Quiet for a while: the next request goes at once again.
    advance(100);
    th.request();
    advance(0);
    expect(flushes).toEqual([0, 16, 130]);
  });

  it('a steady stream of requests makes one flush per interval, never more', () => {
    const { clock, advance } = fakeClock();
    let n = 0;
    const th = new FlushThrottle(() => n++, clock, 16);
    for (let ms = 0; ms < 1000; ms++) {
      th.request();
      advance(1);
    }
    // 1000 ms of 1 ms slices: 1000 requests become 63 flushes (every 16 ms, the first at 0).
    expect(n).toBe(63);
  });
});
