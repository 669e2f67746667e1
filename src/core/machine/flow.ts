/**
 * Flow control for console bytes between a machine worker and a terminal.
 *
 * The terminal grants credit (bytes it is ready to render); the worker sends at most that much
 * and queues the rest. The serial port has no back-pressure of its own, so when the queue passes
 * the high watermark the worker pauses the emulator (the guest simply stops running, nothing is
 * lost) and resumes it below the low watermark. A 10 MB flood thus costs the page at most one
 * credit window of rendering at a time.
 */

export interface FlowLimits {
  /** Bytes the terminal may have in flight before it acknowledges. */
  window: number;
  /** Queue length at which the producer is paused. */
  high: number;
  /** Queue length at which a paused producer resumes. */
  low: number;
}

export const CONSOLE_FLOW: FlowLimits = { window: 128 * 1024, high: 1024 * 1024, low: 128 * 1024 };

export interface OutputQueueHooks {
  send(bytes: Uint8Array): void;
  pause(): void;
  resume(): void;
}

export class OutputQueue {
  private chunks: Uint8Array[] = [];
  private current = new Uint8Array(4096);
  private used = 0;
  private queued = 0;
  private creditLeft: number;
  private paused = false;
  totalSent = 0;

  constructor(
    private readonly hooks: OutputQueueHooks,
    readonly limits: FlowLimits = CONSOLE_FLOW,
  ) {
    if (!(limits.low < limits.high)) throw new Error('low watermark must be below the high watermark');
    this.creditLeft = limits.window;
  }

  get length(): number {
    return this.queued;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  get credit(): number {
    return this.creditLeft;
  }

  pushByte(byte: number): void {
    if (this.used === this.current.length) this.seal();
    this.current[this.used++] = byte;
    this.queued++;
    this.checkHigh();
  }

  push(bytes: Uint8Array): void {
    if (!bytes.length) return;
    this.seal();
    this.chunks.push(bytes.slice());
    this.queued += bytes.length;
    this.checkHigh();
  }

  /** Send as much as the credit allows, as one message. */
  flush(): void {
    this.seal();
    const n = Math.min(this.creditLeft, this.queued);
    if (n > 0) {
      const out = new Uint8Array(n);
      let off = 0;
      while (off < n) {
        const c = this.chunks[0];
        const take = Math.min(c.length, n - off);
        out.set(take === c.length ? c : c.subarray(0, take), off);
        if (take === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(take);
        off += take;
      }
      this.queued -= n;
      this.creditLeft -= n;
      this.totalSent += n;
      this.hooks.send(out);
    }
    if (this.paused && this.queued <= this.limits.low) {
      this.paused = false;
      this.hooks.resume();
    }
  }

  /** The terminal rendered `bytes` more: send what that allows. */
  grant(bytes: number): void {
    this.creditLeft = Math.min(this.creditLeft + bytes, this.limits.window);
    this.flush();
  }

  clear(): void {
    this.chunks = [];
    this.used = 0;
    this.queued = 0;
  }

  private seal() {
    if (this.used) {
      this.chunks.push(this.current.slice(0, this.used));
      this.used = 0;
    }
  }

  private checkHigh() {
    if (!this.paused && this.queued >= this.limits.high) {
      this.paused = true;
      this.hooks.pause();
    }
  }
}

/**
 * The terminal side: counts bytes handed to the renderer and returns credit in batches once they
 * are rendered (xterm's write callback), so acknowledgements do not cost one message per write.
 */
export class CreditReturner {
  private rendered = 0;
  inFlight = 0;

  constructor(
    private readonly give: (bytes: number) => void,
    private readonly batch = 16 * 1024,
  ) {}

  written(bytes: number): void {
    this.inFlight += bytes;
  }

  done(bytes: number): void {
    this.inFlight -= bytes;
    this.rendered += bytes;
    if (this.rendered >= this.batch || this.inFlight === 0) {
      this.give(this.rendered);
      this.rendered = 0;
    }
  }
}
