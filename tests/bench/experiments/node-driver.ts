// The experiments' Driver in Node: real v86 machines on this thread (tests/boot/harness.ts), files
// from images/dist, the box mux through the same MuxHost the page's worker uses.
import { readFileSync, statSync } from 'node:fs';
import { cpus } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Machine, DIST, REPO, type BootOptions as HarnessOptions } from '../../boot/harness.ts';
import { EthernetSwitch, lanMac } from '../../../src/core/lan/index.ts';
import { MARKERS } from '../../../src/core/markers.ts';
import { PhaseDetector, PHASES } from '../../../src/core/machine/phases.ts';
import { v86VirtioPort, type V86VirtioPort } from '../../../src/core/mux/v86-port.ts';
import type { MuxHost } from '../../../src/core/mux/host.ts';
import { parseSentinel, sentinelLine } from '../../../src/core/experiments/shell.ts';
import { ROOT_PROMPT_END } from '../../../src/core/terminal/shell-marks.ts';
import {
  TimeoutError,
  type BootMark,
  type BootOptions,
  type BootRecord,
  type ContainerExit,
  type ContainerHandle,
  type ContainerOptions,
  type ContainerStart,
  type ContainerStats,
  type DiskStats,
  type Driver,
  type DriverFacts,
  type HostHandle,
  type MachineStats,
  type PanicInfo,
  type RunOptions,
  type RunResult,
  type SavedState,
  type Stamp,
  type VmHandle,
} from '../../../src/core/experiments/driver.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class NodeSavedState implements SavedState {
  constructor(
    readonly kind: 'vm' | 'host',
    readonly state: ArrayBuffer,
    readonly memoryMb: number,
  ) {}
  get bytes() {
    return this.state.byteLength;
  }
}

/** Waits for a pattern in a growing text, polled on every append. */
class TextWatch {
  text = '';
  private waiters: { from: number; test: (s: string) => boolean; wake: () => void }[] = [];

  append(s: string) {
    this.text += s;
    for (const w of [...this.waiters]) if (w.test(this.text.slice(w.from))) w.wake();
  }

  until<T>(from: number, parse: (s: string) => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      let result: T | undefined;
      const w = {
        from,
        test: (s: string) => (result = parse(s)) !== undefined,
        wake: () => {
          clearTimeout(timer);
          this.waiters.splice(this.waiters.indexOf(w), 1);
          resolve(result as T);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new TimeoutError(`timed out after ${timeoutMs} ms: ${what}\n--- last output ---\n${this.text.slice(-1500)}`));
      }, timeoutMs);
      this.waiters.push(w);
      if (w.test(this.text.slice(from))) w.wake();
    });
  }
}

abstract class NodeMachine {
  readonly m: Machine;
  readonly console = new TextWatch();
  readonly detector: PhaseDetector;
  panic: PanicInfo | undefined;
  private seq = 0;
  /** Powered off by stop() (a panicked machine is not stopped until then). */
  stopped = false;
  boot!: BootRecord;

  constructor(
    readonly kind: 'vm' | 'host',
    readonly label: string,
    readonly memoryMb: number,
    restore: NodeSavedState | undefined,
    extra: Record<string, unknown>,
    lan?: HarnessOptions['lan'],
  ) {
    this.m = new Machine(kind, {
      memoryMb,
      lan,
      extra: { ...extra, ...(restore ? { initial_state: { buffer: restore.state } } : {}) },
    });
    const clock = (): Stamp => ({ wallMs: this.m.elapsedMs(), instructions: this.m.instructions() });
    this.detector = new PhaseDetector(PHASES[kind], clock, { panic: (p) => (this.panic = { wallMs: p.wallMs, instructions: p.instructions, line: p.line }) });
    this.m.emulator.add_listener('serial0-output-byte', (byte: number) => {
      this.detector.pushByte(byte);
      this.console.append(String.fromCharCode(byte));
    });
  }

  now(): Stamp {
    return { wallMs: this.m.elapsedMs(), instructions: this.m.instructions() };
  }

  /** Wait for `re` in console output after `from`, failing early on a panic. */
  protected async expect(re: RegExp, timeoutMs: number, what: string, from = this.console.text.length): Promise<Stamp> {
    await this.console.until(from, (s) => (re.test(s) || this.panic ? true : undefined), timeoutMs, `${this.label}: ${what}`);
    if (this.panic) throw new Error(`${this.label}: kernel panic while waiting for ${what}: ${this.panic.line}`);
    return this.now();
  }

  async run(cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    const n = ++this.seq;
    const from = this.console.text.length;
    this.m.type(sentinelLine(cmd, n));
    return this.console.until(from, (s) => parseSentinel(s, n), opts.timeoutMs ?? 30_000, `${this.label}: ${cmd}`);
  }

  type(text: string) {
    this.m.type(text);
  }

  /**
   * From power-on to a quiet root shell: the finish marker (its time is the boot's "ready"), the
   * keys that give a shell there, echo off. A restored state already sits at a root prompt: it is
   * ready once it answers.
   */
  protected async reachShell(restored: boolean, timeoutMs: number, at: { marker: RegExp; what: string; keys: string; shell: string }): Promise<Stamp> {
    await this.m.started;
    if (restored) {
      await this.run('true', { timeoutMs });
      return this.now();
    }
    const ready = await this.expect(at.marker, timeoutMs, at.what, 0);
    const from = this.console.text.length;
    this.m.type(at.keys);
    // The prompt ends with its OSC 133 mark (and maybe ash's cursor query), not with "# ".
    await this.expect(new RegExp(ROOT_PROMPT_END, 'm'), timeoutMs, at.shell, from);
    await this.quiet(timeoutMs);
    return ready;
  }

  /** Echo off, so ash reads plain lines (see src/core/experiments/shell.ts). */
  protected async quiet(timeoutMs: number) {
    this.m.type('stty -echo\n');
    await this.run('true', { timeoutMs });
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<Stamp> {
    const from = this.console.text.length;
    await this.console.until(from, (s) => (re.test(s) ? true : undefined), timeoutMs, `${this.label}: ${re}`);
    return this.now();
  }

  async alive(timeoutMs = 5000): Promise<boolean> {
    if (this.panic || this.stopped) return false;
    try {
      const token = `alive-${Math.random().toString(36).slice(2, 8)}`;
      return (await this.run(`echo ${token}`, { timeoutMs })).output.includes(token);
    } catch {
      return false;
    }
  }

  async stats(): Promise<MachineStats> {
    return { ...this.now(), memoryMb: this.memoryMb };
  }

  async saveState(): Promise<SavedState> {
    return new NodeSavedState(this.kind, await this.m.emulator.save_state(), this.memoryMb);
  }

  protected marks(): BootMark[] {
    return this.detector.marks.map((m) => ({ phase: m.phase, wallMs: m.wallMs, instructions: m.instructions }));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.m.stop().catch(() => {});
  }
}

class NodeVm extends NodeMachine implements VmHandle {
  declare readonly kind: 'vm';

  async start(restored: boolean, timeoutMs: number) {
    const ready = await this.reachShell(restored, timeoutMs, { marker: MARKERS.login, what: 'login prompt', keys: 'root\n', shell: 'root shell' });
    this.boot = { loadMs: this.m.loadMs, marks: this.marks(), ready, restored };
  }

  async disk(): Promise<DiskStats> {
    const d = this.m.disk!;
    return { size: d.byteLength, ...d.stats() };
  }

  readDisk(start: number, length: number): Promise<Uint8Array> {
    return this.m.disk!.read_range(start, length);
  }
}

class NodeContainer implements ContainerHandle {
  readonly watch = new TextWatch();
  exit: ContainerExit | undefined;
  pid = 0;
  start!: ContainerStart;
  private seq = 0;
  private exitWaiters: ((e: ContainerExit) => void)[] = [];
  private statsWaiters: ((s: ContainerStats) => void)[] = [];
  private removed = false;

  constructor(
    private readonly host: NodeHost,
    readonly name: string,
    readonly channel: number,
  ) {}

  onOutput(bytes: Uint8Array) {
    this.watch.append(Buffer.from(bytes).toString('utf8'));
  }

  onExit(e: ContainerExit) {
    this.exit = e;
    for (const w of this.exitWaiters.splice(0)) w(e);
  }

  onStats(s: ContainerStats) {
    for (const w of this.statsWaiters.splice(0)) w(s);
  }

  output() {
    return this.watch.text;
  }

  async run(cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    const n = ++this.seq;
    const from = this.watch.text.length;
    this.type(sentinelLine(cmd, n));
    return this.watch.until(from, (s) => parseSentinel(s, n), opts.timeoutMs ?? 30_000, `container ${this.name}: ${cmd}`);
  }

  type(text: string) {
    if (!this.exit && !this.removed) this.host.mux.input(this.channel, text);
  }

  waitExit(timeoutMs: number): Promise<ContainerExit> {
    if (this.exit) return Promise.resolve(this.exit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`container ${this.name}: still running after ${timeoutMs} ms`)), timeoutMs);
      this.exitWaiters.push((e) => (clearTimeout(timer), resolve(e)));
    });
  }

  async alive(timeoutMs = 5000): Promise<boolean> {
    if (this.exit || this.removed || this.host.panic) return false;
    try {
      return (await this.run('echo alive-$((20+22))', { timeoutMs })).output.includes('alive-42');
    } catch {
      return false;
    }
  }

  stats(timeoutMs = 10_000): Promise<ContainerStats> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError(`container ${this.name}: no STATS in ${timeoutMs} ms`)), timeoutMs);
      this.statsWaiters.push((s) => (clearTimeout(timer), resolve(s)));
      this.host.mux.requestStats(this.channel);
    });
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    if (this.host.panic || this.host.stopped) return;
    if (!this.exit) {
      this.host.mux.remove(this.channel);
      await this.waitExit(20_000).catch(() => {});
    }
    this.host.mux.release(this.channel);
  }
}

class NodeHost extends NodeMachine implements HostHandle {
  declare readonly kind: 'host';
  port!: V86VirtioPort;
  private names = 0;

  get mux(): MuxHost {
    return this.port.host;
  }

  async start(restored: boolean, timeoutMs: number) {
    const ready = await this.reachShell(restored, timeoutMs, { marker: MARKERS.hostReady, what: 'host ready', keys: '\n', shell: 'host shell' });
    // The mux is opened once the host is up, as tests/boot/containers.test.ts does: with the port
    // opened at power-on, boxd never answered in 2 of ~8 boots on a heavily loaded machine (the
    // early HELLOs were taken by the guest, and nothing ever came back).
    this.port = v86VirtioPort(this.m.emulator, 1);
    await Promise.race([this.mux.ready, sleep(timeoutMs).then(() => Promise.reject(new TimeoutError(`${this.label}: boxd never answered HELLO (mux counters ${JSON.stringify(this.mux.counters)})\n--- console ---\n${this.console.text.slice(-1500)}`)))]);
    this.boot = { loadMs: this.m.loadMs, marks: this.marks(), ready, restored };
  }

  async startContainer(image: string, opts: ContainerOptions = {}): Promise<ContainerHandle> {
    const name = opts.name ?? `${this.label}-c${++this.names}`;
    const command = opts.command ?? ['sh'];
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const argv = ['-it', '--name', name, '--hostname', name, ...(opts.flags ?? []), image, ...command];
    const t0 = performance.now();
    const i0 = this.m.instructions();
    let container: NodeContainer | undefined;
    let firstNs: bigint | undefined;
    let firstSeen: () => void = () => {};
    const first = new Promise<void>((r) => (firstSeen = r));
    let atFirst: Stamp | undefined;
    const mark = () => {
      atFirst ??= { wallMs: performance.now() - t0, instructions: this.m.instructions() - i0 };
      firstSeen();
    };
    const pendingOutput: Uint8Array[] = [];
    let pendingExit: ContainerExit | undefined;
    const handle = this.mux.run(
      argv,
      {
        output: (bytes) => {
          this.mux.ack(handle.channel, bytes.length);
          if (container) container.onOutput(bytes);
          else pendingOutput.push(bytes.slice());
          mark();
        },
        firstOutput: (ns) => {
          firstNs = ns;
          mark();
        },
        exit: (s) => {
          const e = { code: s.code, signal: s.signal };
          if (container) container.onExit(e);
          else pendingExit = e;
          mark();
        },
        stats: (s) => container?.onStats({ memoryBytes: Number(s.memoryBytes), cpuUsec: Number(s.cpuUsec), pids: s.pids, pid1: s.pid1 }),
      },
      timeoutMs,
    );
    const started = await handle.started; // rejects with boxd's ERROR message
    container = new NodeContainer(this, name, handle.channel);
    container.pid = started.pid;
    for (const b of pendingOutput) container.onOutput(b);
    if (pendingExit) container.onExit(pendingExit);
    await Promise.race([
      first,
      sleep(timeoutMs).then(() => Promise.reject(new TimeoutError(`container ${name}: no output within ${timeoutMs} ms`))),
    ]);
    if (!opts.command && !container.exit) await container.run('stty -echo', { timeoutMs });
    const t = started.phases[0]?.ns ?? 0n;
    container.start = {
      phases: started.phases.map((p) => ({ name: p.name, ms: Number(p.ns - t) / 1e6 })),
      firstOutputMs: firstNs === undefined ? undefined : Number(firstNs - t) / 1e6,
      wallMs: atFirst!.wallMs,
      instructions: atFirst!.instructions,
    };
    return container;
  }

  async box(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.mux.cmd(argv, opts.timeoutMs ?? 30_000);
    return { output: r.text, exitCode: r.code };
  }

  override async stop(): Promise<void> {
    this.port?.close();
    await super.stop();
  }
}

function gitCommit(): string | undefined {
  try {
    const sha = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim();
    return dirty ? `${sha}+dirty` : sha;
  } catch {
    return undefined;
  }
}

export class NodeDriver implements Driver {
  readonly runtime = 'node' as const;
  private count = 0;
  /** Every machine this driver booted, so a runner can stop stragglers after a failed experiment. */
  readonly live = new Set<NodeMachine>();

  async readArtifact(path: string): Promise<Uint8Array> {
    return new Uint8Array(readFileSync(join(DIST, path)));
  }

  async artifactSize(path: string): Promise<number> {
    return statSync(join(DIST, path)).size;
  }

  now(): number {
    return performance.now();
  }

  private async bootOne<T extends NodeVm | NodeHost>(make: () => T, restored: boolean, timeoutMs: number): Promise<T> {
    const machine = make();
    this.live.add(machine);
    const stop = machine.stop.bind(machine);
    machine.stop = async () => {
      this.live.delete(machine);
      await stop();
    };
    try {
      await machine.start(restored, timeoutMs);
      return machine;
    } catch (e) {
      await machine.stop();
      throw e;
    }
  }

  bootVm(opts: BootOptions = {}): Promise<VmHandle> {
    const restore = opts.restore as NodeSavedState | undefined;
    if (restore && restore.kind !== 'vm') throw new Error('bootVm: the saved state is not a VM');
    const memoryMb = restore?.memoryMb ?? opts.memoryMb ?? 64;
    const label = opts.label ?? `vm-${++this.count}`;
    return this.bootOne(() => new NodeVm('vm', label, memoryMb, restore, {}, this.nic(opts)), !!restore, opts.timeoutMs ?? 180_000);
  }

  bootHost(opts: BootOptions = {}): Promise<HostHandle> {
    const restore = opts.restore as NodeSavedState | undefined;
    if (restore && restore.kind !== 'host') throw new Error('bootHost: the saved state is not a container host');
    const memoryMb = restore?.memoryMb ?? opts.memoryMb ?? 128;
    const label = opts.label ?? `host-${++this.count}`;
    return this.bootOne(() => new NodeHost('host', label, memoryMb, restore, {}, this.nic(opts)), !!restore, opts.timeoutMs ?? 180_000);
  }

  /** This driver's LAN (src/core/lan): one in-process switch; every NIC gets its own machine number. */
  readonly lan = new EthernetSwitch();
  private lanNumber = 0;

  private nic(opts: BootOptions): HarnessOptions['lan'] {
    if (!opts.network) return undefined;
    return { switch: this.lan, mac: lanMac(0, (this.lanNumber++ % 199) + 1), nic: opts.network.type };
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.live].map((m) => m.stop()));
  }

  async facts(): Promise<DriverFacts> {
    const v86 = JSON.parse(readFileSync(join(REPO, 'node_modules/v86/package.json'), 'utf8'));
    return {
      runtime: 'node',
      runtimeVersion: process.version,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      v86Version: v86.version,
      commit: gitCommit(),
    };
  }
}
