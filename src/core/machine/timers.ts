/**
 * Clocks for a machine: wall milliseconds since power-on and guest instructions since power-on.
 * v86's instruction counter is a u32 that wraps every few tens of seconds at full speed, so it is
 * widened here by accumulating deltas; sample it at least once per wrap (the worker does, every second).
 */
import type { Stamp } from './phases.ts';

const U32 = 2 ** 32;

export class InstructionCounter {
  private last: number;
  private total = 0;

  constructor(private readonly read: () => number) {
    this.last = read() >>> 0;
  }

  /** Instructions since construction (or the last reset), widened past 2^32. */
  sample(): number {
    const now = this.read() >>> 0;
    this.total += (now - this.last + U32) % U32;
    this.last = now;
    return this.total;
  }

  reset(): void {
    this.last = this.read() >>> 0;
    this.total = 0;
  }
}

export class Stopwatch {
  private startedAt: number | undefined;
  private stoppedAt: number | undefined;

  constructor(private readonly now: () => number) {}

  start(): void {
    this.startedAt = this.now();
    this.stoppedAt = undefined;
  }

  stop(): void {
    if (this.startedAt !== undefined && this.stoppedAt === undefined) this.stoppedAt = this.now();
  }

  get running(): boolean {
    return this.startedAt !== undefined && this.stoppedAt === undefined;
  }

  /** Elapsed ms: 0 before start, frozen after stop. */
  elapsedMs(): number {
    if (this.startedAt === undefined) return 0;
    return (this.stoppedAt ?? this.now()) - this.startedAt;
  }
}

/** The clock a PhaseDetector reads: both figures since power-on. */
export function machineClock(watch: Stopwatch, counter: InstructionCounter): () => Stamp {
  return () => ({ wallMs: watch.elapsedMs(), instructions: counter.sample() });
}

/**
 * "1,234 ms" / "12.3 s" style (en-US digit grouping), for cards and tables. Grouped by hand:
 * `toLocaleString('en-US')` builds an ICU formatter per call, and the board calls this for every
 * live segment at every clock tick; in a profile of the race page's start-up it was 33 ms of
 * script (issue 10 item 6).
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 10_000) return `${groupThousands(Math.round(ms))} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

/** An integer with a comma every three digits, as en-US writes it: -1234567 → "-1,234,567". */
export function groupThousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

/** "51.1 M" style instruction counts. */
export function formatInstructions(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} k`;
  return String(n);
}

/**
 * The shared time scale of a race board for its longest timeline, ms: rounded up to the next whole
 * 2 s (5 s past 20 s). Between steps the scale stays put, so a finished lane's bars are not laid
 * out and painted again at every clock tick; only live segments grow.
 */
export function boardScaleMs(longestMs: number): number {
  const step = longestMs > 20_000 ? 5000 : 2000;
  return Math.max(step, Math.ceil(longestMs / step) * step);
}
