/**
 * The experiments' Driver in the page: every machine is a MachineSession (its own worker, card and
 * terminal, as on the lab page), driven through the worker's MachineDriverApi (workers/driver-ops.ts):
 * console commands with the shared sentinel (src/core/experiments/shell.ts), containers over the
 * box mux, disk counters and saved states. Figures come from the worker's clocks (wall ms since
 * power-on, v86's instruction counter) and from boxd's own stamps.
 */
import v86Package from 'v86/package.json';
import { parseSentinel, sentinelLine } from '../../core/experiments/shell.ts';
import { ROOT_PROMPT_END } from '../../core/terminal/shell-marks.ts';
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
  type MachineHandle,
  type MachineStats,
  type PanicInfo,
  type RunOptions,
  type RunResult,
  type SavedState,
  type Stamp,
  type VmHandle,
} from '../../core/experiments/driver.ts';
import { PROFILES, type MachineKind } from '../../core/machine/index.ts';
import { MachineSession, machineUrls, type ContainerSession } from '../machines/index.ts';
import { pageLan } from '../lan/index.ts';
import type { TerminalSession } from '../terminal/index.ts';
import { errorText } from '../../core/errors.ts';

/** How the page learns about the machines an experiment uses (to show their cards and terminals). */
export interface DriverObserver {
  machine(session: MachineSession): void;
}

const DEFAULT_BOOT_TIMEOUT_MS = 90_000;
const DEFAULT_RUN_TIMEOUT_MS = 30_000;
/** A root shell's prompt: "# ", its prompt-end mark, and maybe ash's cursor query (see ROOT_PROMPT_END). */
const ROOT_PROMPT = ROOT_PROMPT_END;

/** The sentinel's own output line (its typed echo still has the quotes, so it never matches). */
const endPattern = (n: number) => `@@end-${n}:\\d+\\r?\\n`;

/** Errors cross the worker boundary as plain Errors: give timeouts their class back. */
function rethrow(err: unknown, what: string): never {
  const message = errorText(err);
  if (err instanceof Error && (err.name === 'TimeoutError' || /no answer within|within \d+ s/.test(message))) throw new TimeoutError(`${what}: ${message}`);
  throw new Error(`${what}: ${message}`);
}

/**
 * Driven consoles do not answer cursor-position queries (ESC [6n). busybox ash's line editor asks
 * after each prompt; xterm's reply arrives asynchronously and lands inside the next typed command,
 * mangling it. Without a reply ash edits lines all the same, as it does on the Node driver's consoles.
 */
function noCursorReports(terminal: TerminalSession) {
  terminal.term.parser.registerCsiHandler({ final: 'n' }, (params) => params[0] === 6);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new TimeoutError(`${what}: nothing after ${Math.round(ms / 1000)} s`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

class BrowserSavedState implements SavedState {
  constructor(
    readonly kind: 'vm' | 'host',
    readonly state: ArrayBuffer,
    readonly memoryMb: number,
  ) {}
  get bytes() {
    return this.state.byteLength;
  }
}

abstract class BrowserMachine implements MachineHandle {
  abstract readonly kind: 'vm' | 'host';
  boot!: BootRecord;
  private seq = 0;
  private stopped = false;

  constructor(
    readonly session: MachineSession,
    readonly label: string,
    readonly memoryMb: number,
  ) {}

  protected get control() {
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

  async run(cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    const n = ++this.seq;
    const reply = await this.control.expect(0, sentinelLine(cmd, n), endPattern(n), opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS).catch((e) => rethrow(e, `${this.label}: ${cmd}`));
    const parsed = parseSentinel(reply.printed, n);
    if (!parsed) throw new Error(`${this.label}: ${cmd}: the answer could not be read`);
    return parsed;
  }

  type(text: string): void {
    void this.session.control?.type(0, text);
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<Stamp> {
    const r = await this.control.expect(0, '', re.source, timeoutMs, re.flags.replace(/[gy]/g, '')).catch((e) => rethrow(e, `${this.label}: waiting for ${re}`));
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
    return new BrowserSavedState(this.kind, await this.control.saveState(), this.memoryMb);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.session.powerOff().catch(() => {});
  }

  /** Power on (or resume) and wait until the guest is usable; stops the machine on failure. */
  async start(restore: BrowserSavedState | undefined, timeoutMs: number): Promise<void> {
    try {
      await this.session.prepare();
      await this.control.restoreOnPowerOn(restore?.state);
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
      this.boot = { loadMs: this.session.loadMs ?? 0, marks: this.marks(), ready, restored: !!restore };
    } catch (err) {
      const why = this.failure();
      await this.stop();
      if (why && !(err instanceof Error && err.message.includes(why))) throw new Error(`${this.label}: ${why}`, { cause: err });
      throw err;
    }
  }

  protected abstract login(timeoutMs: number): Promise<void>;

  /** Echo off, so ash reads plain lines and stops its line editor (src/core/experiments/shell.ts). */
  private async quiet(timeoutMs: number) {
    await this.control.type(0, 'stty -echo\n');
    await this.run('true', { timeoutMs });
  }

  private marks(): BootMark[] {
    return this.session.marks.map((m) => ({ phase: m.phase, wallMs: m.wallMs, instructions: m.instructions }));
  }
}

class BrowserVm extends BrowserMachine implements VmHandle {
  readonly kind = 'vm' as const;

  protected async login(timeoutMs: number) {
    await this.control.expect(0, 'root\n', ROOT_PROMPT, timeoutMs, 'm').catch((e) => rethrow(e, `${this.label}: logging in`));
  }

  async disk(): Promise<DiskStats> {
    const d = await this.control.diskStats();
    if (!d) throw new Error(`${this.label}: no disk opened`);
    return d;
  }

  readDisk(start: number, length: number): Promise<Uint8Array> {
    return this.control.readDisk(start, length);
  }
}

class BrowserContainer implements ContainerHandle {
  exit: ContainerExit | undefined;
  private seq = 0;
  private removed = false;
  private log = '';
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly host: BrowserHost,
    readonly name: string,
    readonly card: ContainerSession,
    readonly channel: number,
    readonly pid: number,
    readonly start: ContainerStart,
  ) {}

  /** Bytes the page's terminal for this container received (tapped in BrowserHost). */
  received(bytes: Uint8Array) {
    this.log += this.decoder.decode(bytes, { stream: true });
  }

  output(): string {
    return this.log;
  }

  async run(cmd: string, opts: RunOptions = {}): Promise<RunResult> {
    const n = ++this.seq;
    const reply = await this.host.controlFor(this.name).expect(this.channel, sentinelLine(cmd, n), endPattern(n), opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS).catch((e) => rethrow(e, `container ${this.name}: ${cmd}`));
    const parsed = parseSentinel(reply.printed, n);
    if (!parsed) throw new Error(`container ${this.name}: ${cmd}: the answer could not be read`);
    return parsed;
  }

  type(text: string): void {
    if (!this.exit && !this.removed) void this.host.session.control?.type(this.channel, text);
  }

  async waitExit(timeoutMs: number): Promise<ContainerExit> {
    if (this.exit) return this.exit;
    const e = await this.host.controlFor(this.name).waitContainerExit(this.channel, timeoutMs).catch((err) => rethrow(err, `container ${this.name}`));
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
    return this.host.controlFor(this.name).containerStats(this.channel, 10_000).catch((err) => rethrow(err, `container ${this.name}: stats`));
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    if (this.host.panic || !this.host.session.control || this.host.session.state === 'stopped') return;
    await this.host.session.control.dropContainer(this.channel).catch(() => {});
  }
}

class BrowserHost extends BrowserMachine implements HostHandle {
  readonly kind = 'host' as const;
  private names = 0;

  controlFor(what: string) {
    const c = this.session.control;
    if (!c) throw new Error(`container ${what}: the container host is gone`);
    return c;
  }

  protected async login(timeoutMs: number) {
    // init gives a root shell on ttyS0 after "host ready"; Enter brings its prompt back.
    await this.control.expect(0, '\n', ROOT_PROMPT, timeoutMs, 'm').catch((e) => rethrow(e, `${this.label}: host shell`));
    const t0 = performance.now();
    while (!this.session.boxd) {
      if (this.failure()) throw new Error(this.failure());
      if (performance.now() - t0 > timeoutMs) throw new TimeoutError(`${this.label}: boxd never answered on the mux`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  override async start(restore: BrowserSavedState | undefined, timeoutMs: number): Promise<void> {
    await super.start(restore, timeoutMs);
    if (restore) await this.login(timeoutMs);
  }

  async startContainer(image: string, opts: ContainerOptions = {}): Promise<ContainerHandle> {
    const name = opts.name ?? `${this.label}-c${++this.names}`;
    const command = opts.command ?? ['sh'];
    const argv = ['-it', '--name', name, '--hostname', name, ...(opts.flags ?? []), image, ...command];
    const card = this.session.trackContainer(`${this.session.id}-${name}`, name, 'warm');
    noCursorReports(card.terminal);
    // Keep a text copy of what its terminal receives, for ContainerHandle.output().
    let handle: BrowserContainer | undefined;
    const early: Uint8Array[] = [];
    const write = card.terminal.write.bind(card.terminal);
    card.terminal.write = (bytes: Uint8Array) => {
      if (handle) handle.received(bytes);
      else early.push(bytes.slice());
      write(bytes);
    };
    let run;
    try {
      run = await this.controlFor(name).runContainer(argv, opts.timeoutMs ?? 60_000);
    } catch (err) {
      card.fail(errorText(err));
      throw err instanceof Error ? err : new Error(String(err));
    }
    handle = new BrowserContainer(this, name, card, run.channel, run.pid, {
      phases: run.phases,
      firstOutputMs: run.firstOutputMs,
      wallMs: run.wallMs,
      instructions: run.instructions,
    });
    for (const b of early) handle.received(b);
    if (run.exit) handle.exit = run.exit;
    else if (!opts.command) await handle.run('stty -echo', { timeoutMs: opts.timeoutMs ?? 60_000 });
    return handle;
  }

  async box(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.controlFor(`box ${argv.join(' ')}`).boxCmd(argv, opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS).catch((e) => rethrow(e, `box ${argv.join(' ')}`));
    return { output: r.text, exitCode: r.code };
  }
}

export class BrowserDriver implements Driver {
  readonly runtime = 'browser' as const;
  private count: Record<MachineKind, number> = { vm: 0, host: 0 };
  /** Every machine this driver started, so a failed experiment's stragglers can be stopped. */
  readonly live = new Set<BrowserMachine>();

  constructor(private readonly observer: DriverObserver) {}

  private artifactUrl(path: string) {
    return new URL(`images/${path}`, document.baseURI).href;
  }

  async readArtifact(path: string): Promise<Uint8Array> {
    const res = await fetch(this.artifactUrl(path));
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  async artifactSize(path: string): Promise<number> {
    const head = await fetch(this.artifactUrl(path), { method: 'HEAD' }).catch(() => undefined);
    const length = Number(head?.headers.get('content-length'));
    if (head?.ok && Number.isFinite(length) && length > 0) return length;
    return (await this.readArtifact(path)).byteLength;
  }

  now(): number {
    return performance.now();
  }

  private async bootOne<T extends BrowserMachine>(kind: MachineKind, opts: BootOptions, make: (s: MachineSession, label: string, memoryMb: number) => T): Promise<T> {
    const restore = opts.restore as BrowserSavedState | undefined;
    if (restore && restore.kind !== kind) throw new Error(`the saved state is not a ${PROFILES[kind].title.toLowerCase()}`);
    const n = ++this.count[kind];
    const label = opts.label ?? `${kind}-${n}`;
    const memoryMb = restore?.memoryMb ?? opts.memoryMb ?? PROFILES[kind].memoryMb;
    const id = `x-${label}`;
    const session = new MachineSession({
      id,
      name: kind === 'vm' ? `VM ${label.replace(/^vm-?/, '')}` : `Host ${label.replace(/^host-?/, '')}`,
      kind,
      urls: machineUrls(),
      // A NIC on this page's LAN (src/ui/lan), plugged in before power-on.
      options: { memoryMb, network: opts.network ? pageLan.nic(id, opts.network.type) : undefined },
    });
    noCursorReports(session.terminal);
    this.observer.machine(session);
    const machine = make(session, label, memoryMb);
    this.live.add(machine);
    const stop = machine.stop.bind(machine);
    machine.stop = async () => {
      this.live.delete(machine);
      pageLan.unplug(session);
      await stop();
    };
    if (opts.network) await pageLan.plug(session);
    await machine.start(restore, opts.timeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
    return machine;
  }

  bootVm(opts: BootOptions = {}): Promise<VmHandle> {
    return this.bootOne('vm', opts, (s, label, mb) => new BrowserVm(s, label, mb));
  }

  bootHost(opts: BootOptions = {}): Promise<HostHandle> {
    return this.bootOne('host', opts, (s, label, mb) => new BrowserHost(s, label, mb));
  }

  /** Stop whatever an experiment left running (after a failure or an abort). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.live].map((m) => m.stop()));
  }

  async facts(): Promise<DriverFacts> {
    return {
      runtime: 'browser',
      runtimeVersion: navigator.userAgent,
      cpuModel: 'not visible to a web page',
      cores: navigator.hardwareConcurrency ?? 0,
      v86Version: v86Package.version,
    };
  }
}
