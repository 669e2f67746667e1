/**
 * Consoles read as text with a deadline, for the experiments' driver (MachineApi.expect): the serial
 * console (channel 0) and driven container terminals. The runtime feeds it every serial byte and
 * every driven container's text; patterns are tested once per emulator slice, and a kernel panic on
 * the serial console answers its waiters at once.
 */
import type { ExpectReply, Stamp } from '../core/machine/index.ts';

interface Waiter {
  channel: number;
  text: string;
  re: RegExp;
  resolve(text: string): void;
  reject(err: Error): void;
}

export interface ConsoleWatchHooks {
  /** Type on a console (0: serial). */
  type(channel: number, text: string): void;
  stamp(): Stamp;
  /** The serial console's kernel panic line, once there is one. */
  panic(): string | undefined;
  /** Whether an emulator runs (a serial console without one never answers). */
  running(): boolean;
}

export class ConsoleWatch {
  private waiters: Waiter[] = [];
  private checkScheduled = false;
  private panicLine: string | undefined;

  constructor(private readonly hooks: ConsoleWatchHooks) {}

  /** One serial byte, as the guest printed it. */
  serialByte(byte: number): void {
    if (!this.waiters.length) return;
    const ch = String.fromCharCode(byte);
    for (const w of this.waiters) if (w.channel === 0) w.text += ch;
    this.scheduleCheck();
  }

  /** Text of a container terminal. */
  containerText(channel: number, text: string): void {
    if (!this.waiters.length) return;
    for (const w of this.waiters) if (w.channel === channel) w.text += text;
    this.scheduleCheck();
  }

  /**
   * The serial console showed a kernel panic: nothing typed there will be answered. Waiters whose
   * pattern the console already printed (someone waiting for the panic itself) are answered first:
   * the detector reports the panic before this module has seen the line's last byte.
   */
  panicked(line: string): void {
    this.panicLine = line;
    this.scheduleCheck();
  }

  /** The machine went away (power-off, reset): fail everything still waiting. */
  reset(why: string): void {
    this.panicLine = undefined;
    for (const w of [...this.waiters]) this.settle(w, new Error(why));
  }

  /** Type `text` on a console and resolve with what it printed after, up to the first match of `pattern`. */
  expect(channel: number, text: string, pattern: string, timeoutMs: number, flags?: string): Promise<ExpectReply> {
    const panic = channel === 0 ? this.hooks.panic() : undefined;
    if (panic !== undefined) {
      // Already dead. Someone may be waiting for the panic itself (typed the crash, then waited).
      if (!text && new RegExp(pattern, flags).test(panic)) return Promise.resolve({ printed: panic, ...this.hooks.stamp() });
      return Promise.reject(new Error(`kernel panic: ${panic}`));
    }
    if (channel === 0 && !this.hooks.running()) return Promise.reject(new Error('the machine is not running'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(w, new Error(`no answer within ${Math.round(timeoutMs / 1000)} s; the console last showed: ${JSON.stringify(w.text.slice(-300))}`));
      }, timeoutMs);
      const w: Waiter = {
        channel,
        text: '',
        re: new RegExp(pattern, flags),
        resolve: (printed) => {
          clearTimeout(timer);
          resolve({ printed, ...this.hooks.stamp() });
        },
        reject: (err) => {
          clearTimeout(timer);
          err.name = /no answer within/.test(err.message) ? 'TimeoutError' : err.name;
          reject(err);
        },
      };
      this.waiters.push(w);
      if (text) this.hooks.type(channel, text);
      else this.scheduleCheck();
    });
  }

  private scheduleCheck() {
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    // Serial bytes arrive one at a time inside an emulator slice: test the patterns once per slice.
    queueMicrotask(() => {
      this.checkScheduled = false;
      for (const w of [...this.waiters]) {
        const m = w.re.exec(w.text);
        if (m) this.settle(w, w.text.slice(0, m.index + m[0].length));
        else if (w.channel === 0 && this.panicLine) this.settle(w, new Error(`kernel panic: ${this.panicLine}`));
      }
    });
  }

  private settle(w: Waiter, outcome: string | Error) {
    const i = this.waiters.indexOf(w);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    if (outcome instanceof Error) w.reject(outcome);
    else w.resolve(outcome);
  }
}
