/**
 * The headless race's handle on one machine: a worker thread running src/runtime/machine.worker.ts
 * (through thread.ts), driven with the same comlink API and console port as the page's
 * MachineSession, keeping what a results row needs and the console's last lines.
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';
import {
  applyContainerUpdate,
  applyMachineEvent,
  applyWorkerCrash,
  containerResult,
  machineResult,
  requestContainerStart,
  stripAnsi,
  type ConsolePortLike,
  type ContainerProgress,
  type ContainerUpdate,
  type DownloadProgress,
  type MachineView,
  type MachineConfig,
  type MachineError,
  type MachineEvent,
  type MachineResult,
  type MachineState,
  type MachineStats,
  type MachineUrls,
  type MachineApi,
  type PagePortMessage,
  type PanicInfo,
  type PhaseMark,
  type RaceMode,
  type RacerSpec,
  type WorkerPortMessage,
} from '../core/machine/index.ts';

const THREAD = new URL('./thread.mjs', import.meta.url);

/** The last bytes of a console, decoded to lines for a report. */
class ConsoleTail {
  private text = '';
  constructor(private readonly keep = 8192) {}
  push(bytes: Uint8Array): void {
    this.text = (this.text + Buffer.from(bytes).toString('latin1')).slice(-this.keep);
  }
  get all(): string {
    return stripAnsi(this.text).replace(/\r/g, '');
  }
  lines(n: number): string[] {
    return this.all
      .split('\n')
      .map((l) => l.trimEnd())
      .filter(Boolean)
      .slice(-n);
  }
}

/** Settles once: resolves at the finish, rejects with the reason a racer will not finish. */
class FinishLine<T> {
  readonly promise: Promise<T>;
  private settled = false;
  private res!: (v: T) => void;
  private rej!: (e: Error) => void;
  constructor() {
    this.promise = new Promise<T>((res, rej) => ((this.res = res), (this.rej = rej)));
    this.promise.catch(() => {});
  }
  resolve(v: T) {
    if (this.settled) return;
    this.settled = true;
    this.res(v);
  }
  reject(message: string) {
    if (this.settled) return;
    this.settled = true;
    this.rej(new Error(message));
  }
}

export class HeadlessContainer implements ContainerProgress {
  readonly kind = 'container' as const;
  channel: number | undefined;
  marks: PhaseMark[] = [];
  finish: PhaseMark | undefined;
  instructions: number | undefined;
  pid: number | undefined;
  error: string | undefined;
  readonly console = new ConsoleTail();
  readonly finished = new FinishLine<PhaseMark>();
  /** Filled by the identity check after the race (identity.ts). */
  hostname: string | undefined;
  kernel: string | undefined;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly mode: RaceMode,
  ) {}

  update(u: ContainerUpdate): void {
    if (u.state === 'error') this.fail(u.message ?? 'the container did not start');
    if (u.state === 'exited' && !this.finish) this.fail(`the container ${u.message ?? 'exited'} before its prompt`);
    if (applyContainerUpdate(this, u)) this.finished.resolve(this.finish!);
  }

  fail(message: string): void {
    if (this.finish || this.error) return;
    this.error = message;
    this.finished.reject(message);
  }

  result(): MachineResult {
    return { ...containerResult(this, this.error), hostname: this.hostname, kernel: this.kernel };
  }
}

export class HeadlessMachine implements MachineView {
  state: MachineState | 'crashed' = 'idle';
  throttled = false;
  marks: PhaseMark[] = [];
  finish: PhaseMark | undefined;
  powerOnEpoch: number | undefined;
  progress: Record<string, DownloadProgress> = {};
  panic: PanicInfo | undefined;
  error: MachineError | undefined;
  /** Not fatal: the host runs without its image store (see the `warning` event). */
  warning: MachineError | undefined;
  loadMs: number | undefined;
  /** The worker's last stats report (every 250 ms while powered on). */
  stats: MachineStats | undefined;
  boxd: string | undefined;
  /** Filled by the identity check after the race (identity.ts). */
  hostname: string | undefined;
  kernel: string | undefined;
  readonly containers: HeadlessContainer[] = [];
  readonly console = new ConsoleTail();
  readonly finished = new FinishLine<PhaseMark>();
  private worker: Worker | undefined;
  private api: Comlink.Remote<MachineApi> | undefined;
  private port: import('node:worker_threads').MessagePort | undefined;
  private disposed = false;

  constructor(
    readonly spec: RacerSpec,
    private readonly urls: MachineUrls,
    private readonly wasmModule: WebAssembly.Module,
    /** Guest RAM and NIC, when not the profile's (the experiments' driver sets them). */
    private readonly options: Pick<MachineConfig, 'memoryMb' | 'network'> = {},
  ) {}

  /** The worker's MachineApi once spawned (the experiments' driver, src/node/driver.ts). */
  get control(): Comlink.Remote<MachineApi> | undefined {
    return this.api;
  }

  /** Spawn the thread without powering on. */
  async prepare(): Promise<void> {
    if (!this.api) await this.spawn();
  }

  /** Resolves at the finish marker; rejects with the reason it will not come. */
  whenFinished(): Promise<PhaseMark> {
    return this.finished.promise;
  }

  get id() {
    return this.spec.id;
  }
  get name() {
    return this.spec.name;
  }
  get kind() {
    return this.spec.kind;
  }

  /** Where it stood, for a machine that did not finish: state, time and instructions since power-on. */
  whereabouts(): string {
    const s = this.stats;
    if (!s) return `state ${this.state}, never reported from a running guest`;
    return `state ${this.state}, ${(s.wallMs / 1000).toFixed(1)} s and ${s.instructions} guest instructions since power-on`;
  }

  /** Start the thread and hand it the console port, as MachineSession.spawn does with a Worker. */
  async spawn(): Promise<void> {
    const worker = new Worker(THREAD, { name: this.id });
    worker.on('error', (err) => this.crashed(`the machine's worker crashed: ${err.message}`));
    worker.on('exit', (code) => this.crashed(`the machine's worker exited (code ${code})`));
    const channel = new MessageChannel();
    channel.port1.on('message', (msg: WorkerPortMessage) => this.onPort(msg));
    this.worker = worker;
    this.port = channel.port1;
    this.api = Comlink.wrap<MachineApi>(nodeEndpoint(worker));
    // v86's own yield in Node is setImmediate, which is what the page's 'channel' scheme emulates in a
    // browser. The channel scheme itself stalls under Node 20: a port that posts to itself is served
    // 1000 messages per turn, and once a disk read was pending the 1001st never arrived (VM stuck
    // after SYSLINUX's first read; seen in src/node with the page's worker, reproduced outside it).
    const config: MachineConfig = { id: this.id, kind: this.kind, urls: this.urls, wasmModule: this.wasmModule, scheduler: 'v86', ...this.options };
    const port = channel.port2 as unknown as ConsolePortLike & Transferable;
    await this.api.init(config, Comlink.transfer(port, [port]));
  }

  async powerOn(): Promise<void> {
    if (!this.api) await this.spawn();
    await this.api!.powerOn();
  }

  /** End the thread outright, as a crash would (the fault test uses it): no goodbye message. */
  killThread(): void {
    void this.worker?.terminate();
  }

  async powerOff(): Promise<void> {
    await this.api?.powerOff();
  }

  /** Container start, as MachineSession.startContainer: cold times count from the host's power-on. */
  startContainer(id: string, name: string, mode: RaceMode): HeadlessContainer {
    const c = this.trackContainer(id, name, mode);
    requestContainerStart(this.api, c, name);
    return c;
  }

  /** A record for a container someone else starts on this host (the experiments' driver). */
  trackContainer(id: string, name: string, mode: RaceMode): HeadlessContainer {
    const c = new HeadlessContainer(id, name, mode);
    this.containers.push(c);
    return c;
  }

  /** Type into a console: the serial one (channel 0) or a container's terminal. */
  type(text: string, channel = 0): void {
    const bytes = new TextEncoder().encode(text);
    this.post({ type: 'input', bytes, channel: channel || undefined }, [bytes.buffer]);
  }

  result(): MachineResult {
    return { ...machineResult(this), hostname: this.hostname, kernel: this.kernel };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.api?.[Comlink.releaseProxy]();
    this.port?.close();
    await this.worker?.terminate();
    this.worker = this.api = this.port = undefined;
  }

  private crashed(message: string) {
    if (this.disposed) return;
    this.disposed = true;
    applyWorkerCrash(this, message, { unfinished: (why) => this.finished.reject(why) });
  }

  private post(msg: PagePortMessage, transfer: ArrayBuffer[] = []) {
    this.port?.postMessage(msg, transfer);
  }

  private onPort(msg: WorkerPortMessage) {
    if (msg.type === 'output') {
      // Nothing renders here: take the bytes and hand the credit straight back.
      if (msg.channel) this.containers.find((c) => c.channel === msg.channel)?.console.push(msg.bytes);
      else this.console.push(msg.bytes);
      this.post({ type: 'credit', bytes: msg.bytes.byteLength, channel: msg.channel || undefined });
    } else this.onEvent(msg.event);
  }

  private onEvent(ev: MachineEvent) {
    applyMachineEvent(this, ev, {
      finished: (mark) => this.finished.resolve(mark),
      // A power-off is no verdict for a race: the machine may be powered on again and finish then.
      unfinished: (why, cause) => cause !== 'stopped' && this.finished.reject(why),
    });
  }
}
