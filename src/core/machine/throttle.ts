/**
 * How often a machine worker hands its console bytes to the page. Every message is a task on the
 * page's main thread, and under load each task waits for a CPU: flushing after every ~1 ms
 * emulator slice sent hundreds of messages a second per machine during a boot. At most one flush
 * per interval, with a leading edge: the first bytes after a quiet spell leave at once (a typed
 * key's echo is not delayed), and what arrives within the interval follows in one message.
 */

/** Where the throttle gets its time and its callbacks (the worker passes the real ones; tests a fake). */
export interface ThrottleClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Run `fn` after the current job (a microtask in the worker: right after the emulator's slice). */
  soon(fn: () => void): void;
  /** Run `fn` in `ms` milliseconds. */
  later(fn: () => void, ms: number): void;
}

/** One animation frame at 60 Hz: the page cannot show bytes sooner than its next frame anyway. */
export const OUTPUT_FLUSH_MS = 16;

export class FlushThrottle {
  private pending = false;
  private last = -Infinity;

  constructor(
    private readonly flush: () => void,
    private readonly clock: ThrottleClock,
    /** Shortest time between two flushes, ms. */
    readonly intervalMs: number = OUTPUT_FLUSH_MS,
  ) {}

  /** There is something to send: flush now-ish, or once the interval since the last flush is up. */
  request(): void {
    if (this.pending) return;
    this.pending = true;
    const wait = this.last + this.intervalMs - this.clock.now();
    const run = () => {
      this.pending = false;
      this.last = this.clock.now();
      this.flush();
    };
    if (wait <= 0) this.clock.soon(run);
    else this.clock.later(run, wait);
  }
}
