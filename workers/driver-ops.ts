/**
 * The worker side of the experiments' browser driver (MachineDriverApi): consoles as text with
 * deadlines, containers with any `box run` argv over the box mux, box verbs, disk counters and
 * saved states. The machine worker feeds it every console byte and hands it the emulator, the mux
 * and the clocks; it owns nothing the cards use, so the lab and race pages are unaffected.
 */
import type { V86 } from 'v86';
import type { MuxHost } from '../src/core/mux/index.ts';
import type { LazyDisk } from '../src/core/lazy-disk.ts';
import type { ContainerRun, ContainerUpdate, MachineDriverApi, Stamp } from '../src/core/machine/index.ts';
import { containerMarks } from '../src/core/machine/index.ts';

/** A container terminal keeps at most this much text for consoleText(). */
const LOG_LIMIT = 256 * 1024;

interface Waiter {
  channel: number;
  text: string;
  re: RegExp;
  resolve(text: string): void;
  reject(err: Error): void;
}

export interface DriverOpsHooks {
  emulator(): V86 | undefined;
  mux(): MuxHost | undefined;
  disk(): LazyDisk | undefined;
  stamp(): Stamp;
  /** The serial console's kernel panic line, once there is one. */
  panic(): string | undefined;
  /** Bytes on a container terminal, for the page's terminal. */
  output(channel: number, bytes: Uint8Array): void;
  /** News about a driver-started container, for the page's container card. */
  update(u: ContainerUpdate): void;
  typeSerial(text: string): void;
}

type Exit = { code: number | null; signal: number | null };

interface DriverContainer {
  name: string;
  log: string;
  decoder: TextDecoder;
  exit?: Exit;
  exitWaiters: ((e: Exit) => void)[];
  statsWaiters: ((s: { memoryBytes: number; cpuUsec: number; pids: number; pid1: number }) => void)[];
}

export class DriverOps {
  private waiters: Waiter[] = [];
  private checkScheduled = false;
  private readonly containers = new Map<number, DriverContainer>();
  /** State to resume on the next power-on (consumed by initialStateOption). */
  private pendingState: ArrayBuffer | undefined;

  constructor(private readonly hooks: DriverOpsHooks) {}

  /** One serial byte, as the guest printed it. */
  serialByte(byte: number): void {
    if (!this.waiters.length) return;
    const ch = String.fromCharCode(byte);
    for (const w of this.waiters) if (w.channel === 0) w.text += ch;
    this.scheduleCheck();
  }

  /** Bytes of a container terminal (any container on the host, driver-started or not). */
  containerBytes(channel: number, bytes: Uint8Array): void {
    const c = this.containers.get(channel);
    const text = c ? c.decoder.decode(bytes, { stream: true }) : new TextDecoder().decode(bytes);
    if (c) c.log = (c.log + text).slice(-LOG_LIMIT);
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

  private panicLine: string | undefined;

  /** The machine went away (power-off, reset): fail everything still waiting. */
  reset(why: string): void {
    this.panicLine = undefined;
    for (const w of [...this.waiters]) this.settle(w, new Error(why));
    for (const c of this.containers.values()) for (const f of c.exitWaiters.splice(0)) f({ code: null, signal: null });
    this.containers.clear();
  }

  /** v86 options for the next power-on: `initial_state` when a warm start was asked for. */
  initialStateOption(): Record<string, unknown> {
    const state = this.pendingState;
    this.pendingState = undefined;
    return state ? { initial_state: { buffer: state } } : {};
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

  private type(channel: number, text: string) {
    if (!text) return;
    if (channel === 0) this.hooks.typeSerial(text);
    else this.hooks.mux()?.input(channel, text);
  }

  readonly api: MachineDriverApi = {
    type: async (channel, text) => this.type(channel, text),

    expect: (channel, text, pattern, timeoutMs, flags) => {
      const panic = channel === 0 ? this.hooks.panic() : undefined;
      if (panic !== undefined) {
        // Already dead. Someone may be waiting for the panic itself (typed the crash, then waited).
        if (!text && new RegExp(pattern, flags).test(panic)) return Promise.resolve({ printed: panic, ...this.hooks.stamp() });
        return Promise.reject(new Error(`kernel panic: ${panic}`));
      }
      if (channel === 0 && !this.hooks.emulator()) return Promise.reject(new Error('the machine is not running'));
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
        this.type(channel, text);
        if (!text) this.scheduleCheck();
      });
    },

    consoleText: async (channel) => this.containers.get(channel)?.log ?? '',

    runContainer: (argv, timeoutMs) => {
      const mux = this.hooks.mux();
      if (!mux) return Promise.reject(new Error('containers need a powered-on container host'));
      const nameAt = argv.indexOf('--name');
      const name = nameAt >= 0 ? argv[nameAt + 1] : argv.join(' ');
      const t0 = performance.now();
      const i0 = this.hooks.stamp().instructions;
      const requestedAtMs = this.hooks.stamp().wallMs;
      const c: DriverContainer = { name, log: '', decoder: new TextDecoder(), exitWaiters: [], statsWaiters: [] };
      let firstNs: bigint | undefined;
      let atFirst: { wallMs: number; instructions: number } | undefined;
      let sawFirst: () => void = () => {};
      const first = new Promise<void>((r) => (sawFirst = r));
      const mark = () => {
        atFirst ??= { wallMs: performance.now() - t0, instructions: this.hooks.stamp().instructions - i0 };
        sawFirst();
      };
      const handle = mux.run(
        argv,
        {
          output: (bytes) => {
            // Acknowledged here, not by the page's terminal: a driver must not stall on a hidden one.
            mux.ack(handle.channel, bytes.length);
            this.containerBytes(handle.channel, bytes);
            // A copy: the page's copy is transferred, and the mux may still own the buffer.
            this.hooks.output(handle.channel, bytes.slice());
            mark();
          },
          firstOutput: (ns) => {
            firstNs = ns;
            mark();
          },
          exit: (s) => {
            c.exit = { code: s.code, signal: s.signal };
            for (const f of c.exitWaiters.splice(0)) f(c.exit);
            const how = s.code !== null ? `exited with code ${s.code}` : s.signal !== null ? `killed by signal ${s.signal}` : 'stopped';
            this.hooks.update({ channel: handle.channel, name, requestedAtMs, state: 'exited', message: how });
            mark();
          },
          stats: (s) => {
            const v = { memoryBytes: Number(s.memoryBytes), cpuUsec: Number(s.cpuUsec), pids: s.pids, pid1: s.pid1 };
            for (const f of c.statsWaiters.splice(0)) f(v);
          },
        },
        timeoutMs,
      );
      this.containers.set(handle.channel, c);
      this.hooks.update({ channel: handle.channel, name, requestedAtMs, state: 'starting' });
      return (async (): Promise<ContainerRun> => {
        let started;
        try {
          started = await handle.started;
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.hooks.update({ channel: handle.channel, name, requestedAtMs, state: 'error', message });
          this.containers.delete(handle.channel);
          mux.release(handle.channel);
          throw new Error(message, { cause: err });
        }
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          first,
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`container ${name}: no output within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs))),
        ]).finally(() => clearTimeout(timer));
        const t = started.phases[0]?.ns ?? 0n;
        if (firstNs !== undefined && !c.exit) {
          try {
            const marks = containerMarks({ requestWallMs: atFirst!.wallMs, started, firstOutputNs: firstNs });
            this.hooks.update({ channel: handle.channel, name, requestedAtMs, state: 'running', pid: started.pid, marks });
          } catch {
            // The page's card just shows no phase split; the driver's figures come from the stamps.
          }
        }
        return {
          channel: handle.channel,
          pid: started.pid,
          phases: started.phases.map((p) => ({ name: p.name, ms: Number(p.ns - t) / 1e6 })),
          firstOutputMs: firstNs === undefined ? undefined : Number(firstNs - t) / 1e6,
          wallMs: atFirst!.wallMs,
          instructions: atFirst!.instructions,
          exit: c.exit,
        };
      })();
    },

    waitContainerExit: (channel, timeoutMs) => {
      const c = this.containers.get(channel);
      if (!c) return Promise.reject(new Error(`no container on terminal ${channel}`));
      if (c.exit) return Promise.resolve(c.exit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`container ${c.name}: still running after ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
        c.exitWaiters.push((e) => (clearTimeout(timer), resolve(e)));
      });
    },

    containerStats: (channel, timeoutMs) => {
      const c = this.containers.get(channel);
      const mux = this.hooks.mux();
      if (!c || !mux) return Promise.reject(new Error(`no container on terminal ${channel}`));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`container ${c.name}: no STATS within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
        c.statsWaiters.push((s) => (clearTimeout(timer), resolve(s)));
        mux.requestStats(channel);
      });
    },

    dropContainer: async (channel) => {
      const c = this.containers.get(channel);
      const mux = this.hooks.mux();
      if (!c || !mux) return;
      if (!c.exit) {
        mux.remove(channel);
        await this.api.waitContainerExit(channel, 20_000).catch(() => {});
      }
      this.containers.delete(channel);
      mux.release(channel);
    },

    boxCmd: async (argv, timeoutMs) => {
      const mux = this.hooks.mux();
      if (!mux) throw new Error('box verbs need a powered-on container host');
      return mux.cmd(argv, timeoutMs);
    },

    diskStats: async () => {
      const d = this.hooks.disk();
      if (!d) return undefined;
      const s = d.stats();
      return { size: d.byteLength, bytesFetched: s.bytesFetched, bytesWritten: s.bytesWritten };
    },

    readDisk: async (start, length) => {
      const d = this.hooks.disk();
      if (!d) throw new Error('this machine has no disk');
      return d.read_range(start, length);
    },

    saveState: async () => {
      const emu = this.hooks.emulator();
      if (!emu) throw new Error('the machine is not running');
      return emu.save_state();
    },

    restoreOnPowerOn: async (state) => {
      this.pendingState = state;
    },

    stamp: async () => this.hooks.stamp(),
  };
}
