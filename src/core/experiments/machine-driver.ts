/**
 * The experiments' one Driver: every machine is a machine worker (src/runtime/machine-runtime.ts)
 * driven through its MachineApi, the same in the page (a Web Worker per machine, with its card and
 * terminal) and in Node (`npm run bench`: a worker thread per machine), so the bench measures the
 * code the page runs. Console commands use the shared sentinel (shell.ts), containers run over the
 * box mux, figures come from the worker's clocks (wall ms since power-on, v86's instruction counter)
 * and from boxd's own stamps. What differs between page and Node is a DriverPlatform: how a machine's
 * handle is made (and shown), its LAN, where artifacts are read, what the machine is.
 */
import { parseSentinel, sentinelLine } from './shell.ts';
import { sleep } from './common.ts';
import { ROOT_PROMPT_END } from '../terminal/shell-marks.ts';
import { PROFILES, type MachineApi, type MachineError, type MachineKind, type PhaseMark, type PanicInfo as WorkerPanic } from '../machine/index.ts';
import { setTimer, clearTimer, type TimerId } from '../mux/platform.ts';
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
  type LoadedImage,
  type MachineHandle,
  type MachineStats,
  type PanicInfo,
  type RunOptions,
  type RunResult,
  type SavedImage,
  type SavedState,
  type Stamp,
  type VmHandle,
} from './driver.ts';

/** Defaults of every driver, page and Node alike (a caller's BootOptions/RunOptions override them). */
export const DRIVER_DEFAULTS = {
  /** Power-on → usable shell; generous because a loaded 2-core machine boots slowly. */
  bootTimeoutMs: 180_000,
  /** One command's answer. */
  runTimeoutMs: 30_000,
  /** A container's start: STARTED and its first output. */
  containerTimeoutMs: 60_000,
} as const;

/** A root shell's prompt: "# ", its prompt-end mark, and maybe ash's cursor query (see ROOT_PROMPT_END). */
const ROOT_PROMPT = ROOT_PROMPT_END;

/** The sentinel's own output line (its typed echo still has the quotes, so it never matches). */
const endPattern = (n: number) => `@@end-${n}:\\d+\\r?\\n`;

/**
 * A handle on one machine worker, as the page's MachineSession and Node's HeadlessMachine are: the
 * worker's MachineApi once spawned, and what its events told (src/core/machine/machine-view.ts).
 */
export interface DriverSession {
  readonly control: MachineApi | undefined;
  readonly panic: WorkerPanic | undefined;
  readonly error: MachineError | undefined;
  readonly loadMs: number | undefined;
  readonly marks: readonly PhaseMark[];
  /** Container host: boxd's version once it answered on the mux. */
  readonly boxd: string | undefined;
  /** Spawn the worker without powering on. */
  prepare(): Promise<void>;
  powerOn(): Promise<void>;
  powerOff(): Promise<void>;
  /** Resolves at the finish marker (login:, host ready); rejects if the machine fails first. */
  whenFinished(): Promise<PhaseMark>;
}

/** A new machine for an experiment, as the platform is asked for it. */
export interface DrivenMachineSpec {
  id: string;
  /** "VM 1", "Host 2": what the page's card shows. */
  name: string;
  kind: MachineKind;
  memoryMb: number;
  network?: { type: 'ne2k' | 'virtio' };
}

/** What differs between the page and Node. */
export interface DriverPlatform<S extends DriverSession = DriverSession> {
  readonly runtime: 'node' | 'browser';
  /** A handle on a new machine worker (shown as a card on the page), its NIC on the platform's LAN. */
  open(spec: DrivenMachineSpec): Promise<S>;
  /** The machine was stopped: take it off the LAN (the page keeps its card; Node ends its thread). */
  close(session: S): Promise<void>;
  /** A record of a container the driver starts on `session` (the page's card and terminal); told if it fails. */
  trackContainer(session: S, name: string): { fail(message: string): void };
  readArtifact(path: string): Promise<Uint8Array>;
  artifactSize(path: string): Promise<number>;
  now(): number;
  facts(): Promise<DriverFacts>;
}

/** Errors cross the worker boundary as plain Errors: give timeouts their class back. */
function rethrow(err: unknown, what: string): never {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof Error && (err.name === 'TimeoutError' || /no answer within|within \d+ s/.test(message))) throw new TimeoutError(`${what}: ${message}`);
  throw new Error(`${what}: ${message}`);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: TimerId | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimer(() => reject(new TimeoutError(`${what}: nothing after ${Math.round(ms / 1000)} s`)), ms))),
  ]).finally(() => timer !== undefined && clearTimer(timer));
}

/** A snapshot file of a machine (its configuration is checked when it is restored) and v86's state size. */
class WorkerSavedState implements SavedState {
  constructor(
    readonly kind: 'vm' | 'host',
    readonly file: Uint8Array,
    readonly bytes: number,
    readonly memoryMb: number,
  ) {}
}

abstract class DrivenMachine implements MachineHandle {
  abstract readonly kind: 'vm' | 'host';
  boot!: BootRecord;
  private seq = 0;
  protected stopped = false;

  constructor(
    readonly session: DriverSession,
    readonly label: string,
    readonly memoryMb: number,
    private readonly release: () => Promise<void>,
  ) {}

  protected get control(): MachineApi {
    const c = this.session.control;
    if (!c) throw new Error(`${this.label}: its worker is gone`);
    return c;
  }

  get panic(): PanicInfo | undefined {
    const p = this.session.panic;
    return p ? { line: p.line, wallMs: p.wallMs, instructions: p.instructions } : undefined;
  }

  protected failure(): string | undefined {
    return this.session.panic?.line ?? this.session.error?.message;
  }

  /** Run a command on a console (0: serial) and read its output and exit code (shell.ts sentinel). */
  protected async runOn(channel: number, what: string, cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    const n = ++this.seq;
    const reply = await this.control
      .expect(channel, sentinelLine(cmd, n), endPattern(n), opts.timeoutMs ?? DRIVER_DEFAULTS.runTimeoutMs)
      .catch((e) => rethrow(e, `${what}: ${cmd}`));
    const parsed = parseSentinel(reply.printed, n);
    if (!parsed) throw new Error(`${what}: ${cmd}: the answer could not be read`);
    return parsed;
  }

  run(cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    return this.runOn(0, this.label, cmd, opts);
  }

  type(text: string): void {
    void this.session.control?.type(0, text);
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<Stamp> {
    const r = await this.control
      .expect(0, '', re.source, timeoutMs, re.flags.replace(/[gy]/g, ''))
      .catch((e) => rethrow(e, `${this.label}: waiting for ${re}`));
    return { wallMs: r.wallMs, instructions: r.instructions };
  }

  async alive(timeoutMs = 5000): Promise<boolean> {
    if (this.stopped || this.session.panic || !this.session.control) return false;
    const token = `alive-${Math.random().toString(36).slice(2, 8)}`;
    try {
      return (await this.run(`echo ${token}`, { timeoutMs })).output.includes(token);
    } catch {
      return false;
    }
  }

  async stats(): Promise<MachineStats> {
    return { ...(await this.control.stamp()), memoryMb: this.memoryMb };
  }

  async saveState(): Promise<SavedState> {
    const { file, rawBytes } = await this.control.saveState();
    return new WorkerSavedState(this.kind, file, rawBytes, this.memoryMb);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.session.powerOff().catch(() => {});
    await this.release();
  }

  /** Power on (or resume) and wait until the guest is usable; stops the machine on failure. */
  async start(restore: WorkerSavedState | undefined, timeoutMs: number): Promise<void> {
    try {
      await this.session.prepare();
      await this.control.restoreOnPowerOn(restore?.file);
      // Stopped while its worker was starting (the user pressed Stop early): never power on.
      if (this.stopped) throw new Error(`${this.label}: stopped before it powered on`);
      await this.session.powerOn();
      if (this.session.error) throw new Error(this.session.error.message);
      let ready: Stamp;
      if (restore) {
        // The saved state sits at a root prompt: usable once it answers.
        await this.run('true', { timeoutMs });
        ready = await this.control.stamp();
      } else {
        const finish = await withTimeout(this.session.whenFinished(), timeoutMs, `${this.label}: booting`);
        ready = { wallMs: finish.wallMs, instructions: finish.instructions };
        await this.login(timeoutMs);
      }
      await this.quiet(timeoutMs);
      if (restore) await this.afterRestore(timeoutMs);
      this.boot = { loadMs: this.session.loadMs ?? 0, marks: this.bootMarks(), ready, restored: !!restore };
    } catch (err) {
      const why = this.failure();
      await this.stop();
      if (why && !(err instanceof Error && err.message.includes(why))) throw new Error(`${this.label}: ${why}`, { cause: err });
      throw err;
    }
  }

  /** From the finish marker to a root shell (VM: log in; host: its shell, and boxd on the mux). */
  protected abstract login(timeoutMs: number): Promise<void>;

  /** A restored machine is at its shell already; a host still waits for boxd. */
  protected async afterRestore(_timeoutMs: number): Promise<void> {}

  /** Echo off, so ash reads plain lines and stops its line editor (shell.ts). */
  private async quiet(timeoutMs: number) {
    await this.control.type(0, 'stty -echo\n');
    await this.run('true', { timeoutMs });
  }

  private bootMarks(): BootMark[] {
    return this.session.marks.map((m) => ({ phase: m.phase, wallMs: m.wallMs, instructions: m.instructions }));
  }
}

class DrivenVm extends DrivenMachine implements VmHandle {
  readonly kind = 'vm' as const;

  protected async login(timeoutMs: number) {
    await this.control.expect(0, 'root\n', ROOT_PROMPT, timeoutMs, 'm').catch((e) => rethrow(e, `${this.label}: logging in`));
  }

  async disk(): Promise<DiskStats> {
    const d = await this.control.diskStats();
    if (!d) throw new Error(`${this.label}: no disk opened`);
    return { size: d.size, bytesFetched: d.bytesFetched, bytesWritten: d.bytesWritten };
  }

  readDisk(start: number, length: number): Promise<Uint8Array> {
    return this.control.readDisk(start, length);
  }
}

class DrivenContainer implements ContainerHandle {
  exit: ContainerExit | undefined;
  private removed = false;

  constructor(
    private readonly host: DrivenHost,
    readonly name: string,
    readonly channel: number,
    readonly pid: number,
    readonly start: ContainerStart,
  ) {}

  /** Everything its terminal printed (the worker keeps the last 256 KiB). */
  output(): Promise<string> {
    return this.host.containerControl(this.name).consoleText(this.channel);
  }

  run(cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    return this.host.runInContainer(this, cmd, opts);
  }

  type(text: string): void {
    if (!this.exit && !this.removed) void this.host.session.control?.type(this.channel, text);
  }

  async waitExit(timeoutMs: number): Promise<ContainerExit> {
    if (this.exit) return this.exit;
    const e = await this.host
      .containerControl(this.name)
      .waitContainerExit(this.channel, timeoutMs)
      .catch((err) => rethrow(err, `container ${this.name}`));
    this.exit = e;
    return e;
  }

  async alive(timeoutMs = 5000): Promise<boolean> {
    if (this.exit || this.removed || this.host.panic || !this.host.session.control) return false;
    try {
      return (await this.run('echo alive-$((20+22))', { timeoutMs })).output.includes('alive-42');
    } catch {
      return false;
    }
  }

  async stats(): Promise<ContainerStats> {
    return this.host
      .containerControl(this.name)
      .containerStats(this.channel, 10_000)
      .catch((err) => rethrow(err, `container ${this.name}: stats`));
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    if (this.host.panic || !this.host.session.control || this.host.isStopped) return;
    await this.host.session.control.dropContainer(this.channel).catch(() => {});
  }
}

class DrivenHost extends DrivenMachine implements HostHandle {
  readonly kind = 'host' as const;
  private names = 0;

  constructor(
    session: DriverSession,
    label: string,
    memoryMb: number,
    release: () => Promise<void>,
    private readonly track: (name: string) => { fail(message: string): void },
  ) {
    super(session, label, memoryMb, release);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  containerControl(what: string): MachineApi {
    const c = this.session.control;
    if (!c) throw new Error(`container ${what}: the container host is gone`);
    return c;
  }

  runInContainer(c: DrivenContainer, cmd: string, opts: RunOptions): Promise<RunResult> {
    return this.runOn(c.channel, `container ${c.name}`, cmd, opts);
  }

  protected async login(timeoutMs: number) {
    // init gives a root shell on ttyS0 after "host ready"; Enter brings its prompt back.
    await this.control.expect(0, '\n', ROOT_PROMPT, timeoutMs, 'm').catch((e) => rethrow(e, `${this.label}: host shell`));
    await this.boxdReady(timeoutMs);
  }

  protected override afterRestore(timeoutMs: number): Promise<void> {
    return this.login(timeoutMs);
  }

  private async boxdReady(timeoutMs: number) {
    for (let waited = 0; !this.session.boxd; waited += 50) {
      if (this.failure()) throw new Error(this.failure());
      if (waited > timeoutMs) throw new TimeoutError(`${this.label}: boxd never answered on the mux`);
      await sleep(50);
    }
  }

  async startContainer(image: string, opts: ContainerOptions = {}): Promise<ContainerHandle> {
    const name = opts.name ?? `${this.label}-c${++this.names}`;
    const timeoutMs = opts.timeoutMs ?? DRIVER_DEFAULTS.containerTimeoutMs;
    const record = this.track(name);
    let run;
    try {
      run = await this.containerControl(name).runContainer({ name, image, flags: opts.flags, command: opts.command }, timeoutMs);
    } catch (err) {
      record.fail(err instanceof Error ? err.message.replace(/^Error: /, '') : String(err));
      throw err instanceof Error ? err : new Error(String(err));
    }
    const handle = new DrivenContainer(this, name, run.channel, run.pid, {
      phases: run.phases,
      firstOutputMs: run.firstOutputMs,
      wallMs: run.wallMs,
      instructions: run.instructions,
    });
    if (run.exit) handle.exit = run.exit;
    else if (!opts.command) await handle.run('stty -echo', { timeoutMs });
    return handle;
  }

  async box(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.containerControl(`box ${argv.join(' ')}`)
      .boxCmd(argv, opts.timeoutMs ?? DRIVER_DEFAULTS.runTimeoutMs)
      .catch((e) => rethrow(e, `box ${argv.join(' ')}`));
    return { output: r.text, exitCode: r.code };
  }

  async saveImage(image: string, opts: RunOptions = {}): Promise<SavedImage> {
    const r = await this.containerControl(`box save ${image}`)
      .boxCmdBytes(['save', image], opts.timeoutMs ?? DRIVER_DEFAULTS.runTimeoutMs)
      .catch((e) => rethrow(e, `${this.label}: box save ${image}`));
    if (r.code !== 0) throw new Error(`${this.label}: ${r.stderr.trim() || `box save ${image} exited with ${r.code}`}`);
    const ms = r.ms ?? 0;
    const first = r.firstByteMs ?? ms;
    return { bytes: r.bytes, saveMs: first, transferMs: ms - first };
  }

  async loadImage(archive: Uint8Array, name: string, opts: RunOptions = {}): Promise<LoadedImage> {
    const r = await this.containerControl(`box load ${name}`)
      .boxLoad(archive, name, opts.timeoutMs ?? DRIVER_DEFAULTS.runTimeoutMs)
      .catch((e) => rethrow(e, this.label));
    return { output: r.text, exitCode: r.code, transferMs: r.takenMs, loadMs: r.ms - r.takenMs };
  }
}

export class MachineDriver<S extends DriverSession = DriverSession> implements Driver {
  private count: Record<MachineKind, number> = { vm: 0, host: 0 };
  /** Every machine this driver started, so a failed experiment's stragglers can be stopped. */
  readonly live = new Set<DrivenMachine>();

  constructor(private readonly platform: DriverPlatform<S>) {}

  get runtime() {
    return this.platform.runtime;
  }

  readArtifact(path: string): Promise<Uint8Array> {
    return this.platform.readArtifact(path);
  }

  artifactSize(path: string): Promise<number> {
    return this.platform.artifactSize(path);
  }

  now(): number {
    return this.platform.now();
  }

  facts(): Promise<DriverFacts> {
    return this.platform.facts();
  }

  private async bootOne<T extends DrivenMachine>(
    kind: MachineKind,
    opts: BootOptions,
    make: (s: S, label: string, memoryMb: number, release: () => Promise<void>) => T,
  ): Promise<T> {
    const restore = opts.restore as WorkerSavedState | undefined;
    if (restore && !(restore instanceof WorkerSavedState)) throw new Error('the saved state is not from this driver');
    if (restore && restore.kind !== kind) throw new Error(`the saved state is not a ${PROFILES[kind].title.toLowerCase()}`);
    const n = ++this.count[kind];
    const label = opts.label ?? `${kind}-${n}`;
    const memoryMb = restore?.memoryMb ?? opts.memoryMb ?? PROFILES[kind].memoryMb;
    const session = await this.platform.open({
      id: `x-${label}`,
      name: kind === 'vm' ? `VM ${label.replace(/^vm-?/, '')}` : `Host ${label.replace(/^host-?/, '')}`,
      kind,
      memoryMb,
      network: opts.network,
    });
    const machine: T = make(session, label, memoryMb, async () => {
      this.live.delete(machine);
      await this.platform.close(session);
    });
    this.live.add(machine);
    await machine.start(restore, opts.timeoutMs ?? DRIVER_DEFAULTS.bootTimeoutMs);
    return machine;
  }

  bootVm(opts: BootOptions = {}): Promise<VmHandle> {
    return this.bootOne('vm', opts, (s, label, mb, release) => new DrivenVm(s, label, mb, release));
  }

  bootHost(opts: BootOptions = {}): Promise<HostHandle> {
    return this.bootOne('host', opts, (s, label, mb, release) => new DrivenHost(s, label, mb, release, (name) => this.platform.trackContainer(s, name)));
  }

  /** Stop whatever an experiment left running (after a failure or an abort). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.live].map((m) => m.stop()));
  }
}
