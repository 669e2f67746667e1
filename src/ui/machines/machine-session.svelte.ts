/**
 * The page's handle on one machine: its worker, the comlink control proxy, the console port and
 * terminal, and the reactive state the cards render (phase marks, timers, progress, errors).
 */
import * as Comlink from 'comlink';
import {
  applyMachineEvent,
  applyWorkerCrash,
  phasesOf,
  requestContainerStart,
  PROFILES,
  machineResult,
  type DownloadProgress,
  type MachineConfig,
  type MachineError,
  type MachineEvent,
  type MachineKind,
  type MachineResult,
  type MachineState,
  type MachineStats,
  type MachineUrls,
  type MachineApi,
  type PagePortMessage,
  type PanicInfo,
  type PhaseDef,
  type PhaseMark,
  type MachineView,
  type WorkerPortMessage,
} from '../../core/machine/index.ts';
import { TerminalSession } from '../terminal/terminal-session.ts';
import { epochNow } from '../shared/clock.svelte.ts';
import { emulatorModule } from './emulator-module.ts';
import { ContainerSession, type ContainerStartMode } from './container-session.svelte.ts';

export interface MachineSpec {
  id: string;
  name: string;
  kind: MachineKind;
  urls: MachineUrls;
  /** Guest RAM and NIC, when not the profile's (the compare page's experiments set them). */
  options?: Pick<MachineConfig, 'memoryMb' | 'network' | 'snapshots'>;
}

export type SessionState = MachineState | 'crashed';

/**
 * A running worker reports stats every 250 ms; this much silence means it is gone (terminated by
 * the browser, out of memory, a hung emulator). Generous, because a loaded machine delays timers.
 */
export const WORKER_SILENCE_MS = 6000;
/** After the silence, a ping left unanswered this long declares the worker crashed. */
export const WORKER_PING_GRACE_MS = 4000;

export class MachineSession implements MachineView {
  readonly id: string;
  readonly name: string;
  readonly kind: MachineKind;
  readonly phases: readonly PhaseDef[];
  readonly terminal: TerminalSession;

  state = $state<SessionState>('idle');
  marks = $state<PhaseMark[]>([]);
  finish = $state<PhaseMark | undefined>();
  powerOnEpoch = $state<number | undefined>();
  /** Epoch ms when this session asked for power-on (before downloads). */
  requestedEpoch = $state<number | undefined>();
  stats = $state<MachineStats | undefined>();
  progress = $state<Record<string, DownloadProgress>>({});
  loadMs = $state<number | undefined>();
  error = $state<MachineError | undefined>();
  /** Not fatal: the host runs without its image store (see the `warning` event). */
  warning = $state<MachineError | undefined>();
  panic = $state<PanicInfo | undefined>();
  /** Set while console back-pressure holds the guest. */
  throttled = $state(false);
  /** Container host: boxd's version once it answered on the mux. */
  boxd = $state<string | undefined>();
  containers = $state<ContainerSession[]>([]);
  /** Counts power-on and power-off requests, so the later one wins when they overlap. */
  private powerRequests = 0;

  private finishWaiters: { resolve: (m: PhaseMark) => void; reject: (e: Error) => void }[] = [];
  private worker: Worker | undefined;
  private api: Comlink.Remote<MachineApi> | undefined;
  private port: MessagePort | undefined;
  /** performance.now() of the worker's last message; the watchdog compares against it. */
  private lastSign = 0;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  /** performance.now() of the watchdog's unanswered ping, if one is out. */
  private pingSentAt: number | undefined;

  constructor(readonly spec: MachineSpec) {
    this.id = spec.id;
    this.name = spec.name;
    this.kind = spec.kind;
    this.phases = phasesOf(spec.kind);
    this.terminal = new TerminalSession({
      input: (bytes) => this.post({ type: 'input', bytes }, [bytes.buffer]),
      credit: (bytes) => this.post({ type: 'credit', bytes }),
      serialShell: true,
    });
  }

  get title(): string {
    return PROFILES[this.kind].title;
  }

  /** Wall ms since power-on: live while booting, frozen at the finish marker. */
  elapsedMs(now: number): number | undefined {
    if (this.finish) return this.finish.wallMs;
    if (this.powerOnEpoch === undefined) return undefined;
    if (this.state === 'error' || this.state === 'crashed' || this.state === 'stopped') return this.stats?.wallMs;
    return Math.max(0, now - this.powerOnEpoch);
  }

  get live(): boolean {
    return this.state === 'booting' || this.state === 'loading';
  }

  async powerOn(): Promise<void> {
    const request = ++this.powerRequests;
    this.requestedEpoch = epochNow();
    this.clearRun();
    if (!this.api) await this.spawn();
    // A power-off while the worker was starting wins (the worker itself guards its own loading).
    if (request !== this.powerRequests) return;
    await this.api!.powerOn();
  }

  async powerOff(): Promise<void> {
    this.powerRequests++;
    if (this.api) return this.api.powerOff();
    // No worker yet (still spawning, or never powered on): off is simply where it stays.
    this.state = 'stopped';
    if (!this.finish) this.settleFinish(undefined, 'the machine was powered off');
  }

  /** Power-cycle: off, then on again from the BIOS (downloads are kept in the worker). */
  async powerCycle(): Promise<void> {
    await this.powerOff();
    this.terminal.reset();
    await this.powerOn();
  }

  async reset(): Promise<void> {
    this.clearRun();
    await this.api?.reset();
  }

  /** Resolves at the finish marker (login:, host ready); rejects if the machine fails first. */
  whenFinished(): Promise<PhaseMark> {
    if (this.finish) return Promise.resolve(this.finish);
    return new Promise((resolve, reject) => this.finishWaiters.push({ resolve, reject }));
  }

  private settleFinish(mark: PhaseMark | undefined, error?: string) {
    for (const w of this.finishWaiters.splice(0)) {
      if (mark) w.resolve(mark);
      else w.reject(new Error(error ?? 'the machine stopped'));
    }
  }

  /**
   * Run a lesson's check script on a side channel of this machine (never its console): a VM's
   * lesson agent, or on a container host `host` or a container by name. Rejects when it is not running.
   */
  async lessonScript(machine: string, source: string): Promise<{ code: number; output: string }> {
    if (!this.api || this.state === 'stopped' || this.state === 'idle') throw new Error(`${this.name} is not running`);
    return this.api.lessonScript(machine, source);
  }

  /** Type into the machine's console, as if on its keyboard. */
  type(text: string): void {
    const bytes = new TextEncoder().encode(text);
    this.post({ type: 'input', bytes }, [bytes.buffer]);
  }

  /**
   * Start a container on this host (it must be a container host). Cold: its timer counts from the
   * host's power-on; warm: from now.
   */
  startContainer(id: string, name: string, mode: ContainerStartMode): ContainerSession {
    if (this.kind !== 'host') throw new Error('containers run on the container host');
    const waiting = this.containers.find((c) => c.id === id && c.state === 'waiting');
    const c = waiting ?? this.trackContainer(id, name, mode);
    if (waiting) waiting.requested(this.containerStartEpoch(mode));
    requestContainerStart(this.api, c, name);
    return c;
  }

  /**
   * A container's card and terminal before its start is asked for (state 'waiting', no timer):
   * the race lays out its whole lineup while the page is quiet, not when every machine is busy.
   * startContainer with the same id then starts it.
   */
  prepareContainer(id: string, name: string, mode: ContainerStartMode): ContainerSession {
    const c = this.trackContainer(id, name, mode);
    c.state = 'waiting';
    return c;
  }

  /** Cold starts count from the host's power-on, warm ones from now (the request). */
  private containerStartEpoch(mode: ContainerStartMode): number {
    return mode === 'cold' && this.powerOnEpoch !== undefined ? this.powerOnEpoch : epochNow();
  }

  /** The worker's MachineApi, driver calls included (src/ui/compare/browser-driver.ts); set once spawned. */
  get control(): Comlink.Remote<MachineApi> | undefined {
    return this.api;
  }

  /** Spawn the worker without powering on, so a driver can prepare it (e.g. a state to resume). */
  async prepare(): Promise<void> {
    if (!this.api) await this.spawn();
  }

  /**
   * A card and terminal for a container someone else starts on this host (the compare page's
   * driver): its updates match by name until its channel is known.
   */
  trackContainer(id: string, name: string, mode: ContainerStartMode): ContainerSession {
    const c = new ContainerSession(id, name, mode, this.containerStartEpoch(mode), {
      input: (channel, bytes) => this.post({ type: 'input', bytes, channel }, [bytes.buffer]),
      credit: (channel, bytes) => this.post({ type: 'credit', bytes, channel }),
      resize: (channel, cols, rows) => this.post({ type: 'resize', cols, rows, channel }),
    });
    this.containers = [...this.containers, c];
    return c;
  }

  async removeContainer(c: ContainerSession): Promise<void> {
    if (c.channel !== undefined) await this.api?.removeContainer(c.channel);
    c.dispose();
    this.containers = this.containers.filter((x) => x !== c);
  }

  /**
   * Kill the worker outright, as a browser does to a crashed or runaway worker: no goodbye message.
   * The watchdog then notices the silence (the fault tests use this).
   */
  killWorker(): void {
    this.worker?.terminate();
  }

  dispose(): void {
    this.stopWatchdog();
    for (const c of this.containers) c.dispose();
    this.api?.[Comlink.releaseProxy]();
    this.worker?.terminate();
    this.port?.close();
    this.terminal.dispose();
    this.worker = this.api = this.port = undefined;
  }

  result(): MachineResult {
    return machineResult(this);
  }

  private clearRun() {
    this.marks = [];
    this.finish = undefined;
    this.powerOnEpoch = undefined;
    this.stats = undefined;
    this.error = undefined;
    this.panic = undefined;
    this.progress = {};
  }

  private async spawn() {
    const worker = new Worker(new URL('../../runtime/machine.worker.ts', import.meta.url), { type: 'module', name: this.id });
    // A worker that dies (script error, out of memory) takes only this card down.
    worker.addEventListener('error', (e) => this.crashed(`the machine's worker crashed${e.message ? `: ${e.message}` : ''}`));
    const channel = new MessageChannel();
    channel.port1.onmessage = (e: MessageEvent<WorkerPortMessage>) => this.onPort(e.data);
    this.worker = worker;
    this.port = channel.port1;
    this.api = Comlink.wrap<MachineApi>(worker);
    const config: MachineConfig = { id: this.id, kind: this.kind, urls: this.spec.urls, wasmModule: await emulatorModule(), ...this.spec.options };
    await this.api.init(config, Comlink.transfer(channel.port2, [channel.port2]));
  }

  private crashed(message: string) {
    this.stopWatchdog();
    applyWorkerCrash(this, message, { unfinished: (why) => this.settleFinish(undefined, why) });
  }

  /** While the guest runs, the worker must keep talking; a terminated worker just goes quiet. */
  private startWatchdog() {
    this.stopWatchdog();
    this.lastSign = performance.now();
    this.pingSentAt = undefined;
    this.watchdog = setInterval(() => {
      const running = this.state === 'booting' || this.state === 'finished' || this.state === 'paused';
      const now = performance.now();
      const silent = now - this.lastSign;
      if (!running || silent <= WORKER_SILENCE_MS) return;
      // Silence alone is not proof: a worker starved of CPU (16 emulators on 2 cores, a background
      // tab) can miss its stats ticks. Ask it; only a worker that cannot answer either is gone.
      if (this.pingSentAt === undefined) {
        const sent = (this.pingSentAt = now);
        void this.api?.ping().then(() => {
          if (this.pingSentAt === sent) this.pingSentAt = undefined;
          this.lastSign = performance.now();
        });
      } else if (now - this.pingSentAt > WORKER_PING_GRACE_MS) {
        this.crashed(`the machine's worker crashed: no sign of life for ${(silent / 1000).toFixed(1)} s`);
      }
    }, 1000);
  }

  private stopWatchdog() {
    if (this.watchdog !== undefined) clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  private post(msg: PagePortMessage, transfer: Transferable[] = []) {
    this.port?.postMessage(msg, transfer);
  }

  private onPort(msg: WorkerPortMessage) {
    this.lastSign = performance.now();
    if (msg.type === 'output') {
      if (msg.channel) this.containers.find((c) => c.channel === msg.channel)?.terminal.write(msg.bytes);
      else this.terminal.write(msg.bytes);
    } else this.onEvent(msg.event);
  }

  private onEvent(ev: MachineEvent) {
    applyMachineEvent(this, ev, {
      finished: (mark) => this.settleFinish(mark),
      unfinished: (why) => this.settleFinish(undefined, why),
      poweredOn: () => this.startWatchdog(),
    });
  }
}
