/**
 * One machine: exactly one v86 instance and everything around it, as one object with its state in
 * fields. The worker file (machine.worker.ts) only exposes it; the page (MachineSession) and Node
 * (src/node/machine.ts) call it through MachineApi over comlink. Console bytes and machine events go
 * over the console port given to init(), batched once per emulator slice and flow-controlled by the
 * terminal's credit. Every failure becomes an `error` event there, so the page can show it on this
 * machine's card.
 *
 * Its parts: MediaLoader (downloads, checked), ContainerHost (the box mux and the one container
 * registry), ConsoleWatch (consoles read as text for the experiments' driver), snapshot.ts (the one
 * checked save and restore path), the PhaseDetector and the clocks (started in startClock only).
 */
import { V86 } from 'v86';
import { MachineFailure, MediaLoader } from './media.ts';
import { useChannelYield } from './scheduler.ts';
import { ContainerHost } from './containers.ts';
import { LessonChecks } from './lesson-checks.ts';
import { ConsoleWatch } from './console-watch.ts';
import { captureState, openSnapshot, readSnapshot, snapshotConfigOf, snapshotHeader, writeSnapshot } from './snapshot.ts';
import { concatBytes, v86VirtioPort, type LoadHandle } from '../core/mux/index.ts';
import { connectNicToPort, setNicMac, type LanPortLike, type NicCable } from '../core/lan/index.ts';
import { assertConfigMatches, encodeSnapshot, resumeKey, warmKey, type SnapshotConfig, type SnapshotHeader } from '../core/snapshot/index.ts';
import {
  CONSOLE_FLOW,
  FlushThrottle,
  InstructionCounter,
  OutputQueue,
  PHASES,
  PhaseDetector,
  Stopwatch,
  machineClock,
  setJit,
  v86Options,
  type ConsolePortLike,
  type ContainerRequest,
  type MachineApi,
  type MachineConfig,
  type MachineEventMap,
  type MachineEventName,
  type MachineSnapshot,
  type MachineState,
  type PagePortMessage,
  type ResolvedMedia,
  type SnapshotReport,
  type Stamp,
  type WorkerPortMessage,
} from '../core/machine/index.ts';

const STATS_INTERVAL_MS = 250;
/** boxCmdBytes and boxLoad tell the page their progress at most this often, ms. */
const PROGRESS_INTERVAL_MS = 100;
/** A v86 that has not become ready this long after its media arrived is reported, not waited for. */
const LOAD_TIMEOUT_MS = 30_000;
/** boxd has this long after power-on to answer HELLO before container starts fail. */
const MUX_READY_TIMEOUT_MS = 60_000;

class PoweredOffMeanwhile extends Error {
  constructor() {
    super('the machine was powered off while it was starting');
  }
}

/** Where a resumed state comes from: browser storage, or a file handed over (restoreOnPowerOn). */
type SnapshotSource = { key: string } | { file: Uint8Array };

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** The port messages are posted on (a MessagePort in a Web Worker or a worker thread). */
interface ConsolePort {
  postMessage(message: WorkerPortMessage, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<PagePortMessage>) => void) | null;
  start(): void;
}

export class MachineRuntime implements MachineApi {
  private config: MachineConfig | undefined;
  private port: ConsolePort | undefined;
  private emulator: V86 | undefined;
  private detector: PhaseDetector | undefined;
  private counter: InstructionCounter | undefined;
  private state: MachineState = 'idle';
  private readonly watch = new Stopwatch(() => performance.now());
  private statsTimer: ReturnType<typeof setInterval> | undefined;
  private lastStats = { wallMs: 0, instructions: 0 };
  private flowPaused = false;
  /** Container host only: the box mux to boxd and its containers. */
  private box: ContainerHost | undefined;
  /** Loads under way that the page may cancel (boxLoad's loadId → its handle). */
  private readonly loads = new Map<string, LoadHandle>();
  /** Lesson checks on side channels: a VM's COM2 agent, the host's boxd (src/runtime/lesson-checks.ts). */
  private readonly lessonChecks = new LessonChecks(() => this.box?.muxHost);
  /**
   * Bumped by every power-off. A power-on still downloading or building when the user powers off
   * (the compare page's Stop, a lab power button) sees the change at its next step and gives up,
   * instead of booting a machine the page already shows as off.
   */
  private powerGeneration = 0;
  /** The machine end of the page's LAN, and the NIC's cable on it while an emulator exists. */
  private lanPort: LanPortLike | undefined;
  private lanCable: NicCable | undefined;
  /** This machine's snapshot configuration (hashes of what it loads; computed once). */
  private snapshotConfig: Promise<SnapshotConfig> | undefined;
  /** A snapshot file the next power-on resumes (restoreOnPowerOn). */
  private pendingRestore: Uint8Array | undefined;
  /** Container terminal bytes waiting for the next flush, per mux channel, in arrival order. */
  private readonly muxPending = new Map<number, Uint8Array[]>();

  private readonly media = new MediaLoader({
    progress: (p) => this.emit('progress', p),
    // A disk read that fails mid-boot leaves the guest waiting forever: stop it and say why.
    diskError: (info) => this.fail(info),
    // The host boots on without its image store; boxd then names the image it cannot find.
    storeError: (info) => this.emit('warning', info),
  });

  private readonly output = new OutputQueue(
    {
      send: (bytes) => this.port?.postMessage({ type: 'output', bytes }, [bytes.buffer as ArrayBuffer]),
      pause: () => {
        // The serial port has no back-pressure: stopping the guest is the only lossless option.
        this.flowPaused = true;
        void this.emulator?.stop();
        if (this.state === 'booting' || this.state === 'finished') this.emit('state', 'paused');
      },
      resume: () => {
        this.flowPaused = false;
        if (this.emulator && (this.state === 'booting' || this.state === 'finished' || this.state === 'panic')) {
          void this.emulator.run();
          this.emit('state', this.state);
        }
      },
    },
    CONSOLE_FLOW,
  );

  // v86 emits serial bytes synchronously inside its run slice; the microtask runs right after the
  // slice. At most one flush per frame (src/core/machine/throttle.ts): every message is a task on
  // the page's main thread.
  private readonly flusher = new FlushThrottle(
    () => {
      this.output.flush();
      this.flushMux();
    },
    { now: () => performance.now(), soon: (fn) => queueMicrotask(fn), later: (fn, ms) => setTimeout(fn, ms) },
  );

  private readonly consoles = new ConsoleWatch({
    type: (channel, text) => {
      if (channel === 0) this.emulator?.serial0_send(text);
      else this.box?.input(channel, text);
    },
    stamp: () => this.now(),
    panic: () => (this.state === 'panic' ? (this.detector?.consoleTail().find((l) => /Kernel panic/.test(l)) ?? 'kernel panic') : undefined),
    running: () => !!this.emulator,
  });

  // ---------------------------------------------------------------- MachineApi: power, cards, races

  async init(cfg: MachineConfig, consolePort: ConsolePortLike) {
    this.config = cfg;
    const port = consolePort as unknown as ConsolePort;
    this.port = port;
    port.onmessage = (e) => this.onPortMessage(e.data);
    port.start();
    this.emit('state', this.state);
  }

  async powerOn() {
    if (!this.config) throw new Error('init first');
    // After a crash the old emulator is still here: clear it so the machine can boot again.
    if (this.emulator && (this.state === 'error' || this.state === 'stopped')) await this.powerOff();
    if (this.emulator || this.state === 'loading') return;
    const cfg = this.config;
    let generation = this.powerGeneration;
    this.setState('loading');
    const file = this.pendingRestore;
    this.pendingRestore = undefined;
    if (file) {
      await this.resumeInto(cfg, { file }, 'resumed', generation).catch((err) => this.resumeFailed(err));
      return;
    }
    const t0 = performance.now();
    if (cfg.snapshots?.warm) {
      // A warm start when this configuration has a stored state; any problem means a normal boot.
      try {
        const key = await warmKey(await this.currentSnapshotConfig(cfg));
        if (await snapshotHeader(key)) {
          await this.resumeInto(cfg, { key }, 'warm-resumed', generation);
          return;
        }
      } catch (err) {
        if (err instanceof PoweredOffMeanwhile || generation !== this.powerGeneration) return;
        this.emit('snapshot', { action: 'failed', message: `warm start unavailable, booting: ${message(err)}` });
        if (this.emulator) await this.powerOff();
        generation = this.powerGeneration; // that power-off was ours, not the user's
        this.setState('loading');
      }
    }
    try {
      const resolved = await this.media.load(cfg);
      // Hash the artifacts before v86 gets them: booting writes into the kernel's buffer (its setup
      // header), and a snapshot named by the booted bytes would not match the files after a reload.
      await this.currentSnapshotConfig(cfg).catch(() => {});
      this.stillWanted(generation);
      const emu = await this.keepIfWanted(await this.buildEmulator(cfg, resolved), generation);
      this.emulator = emu;
      this.plugLan(emu);
      const bytes = [resolved.bios, resolved.vgaBios, resolved.kernel, resolved.initrd].reduce((n, b) => n + (b?.byteLength ?? 0), 0);
      this.emit('loaded', { loadMs: performance.now() - t0, bytes });
      this.attach(emu);
      if (cfg.kind === 'host') this.openBox(emu);
      this.startClock(cfg, emu);
      this.setState('booting');
      this.startStats();
      await emu.run();
    } catch (err) {
      if (err instanceof PoweredOffMeanwhile) return;
      this.fail(err instanceof MachineFailure ? err.info : { kind: 'emulator', message: message(err) });
    }
  }

  async powerOff() {
    this.powerGeneration++;
    this.plugLan(undefined);
    this.consoles.reset('the machine was powered off');
    this.stopStats();
    this.box?.close();
    this.box = undefined;
    this.lessonChecks.detach();
    const emu = this.emulator;
    this.emulator = undefined;
    this.detector = undefined;
    if (emu) {
      await emu.stop();
      await emu.destroy();
    }
    this.watch.stop();
    this.output.clear();
    this.setState('stopped');
  }

  async reset() {
    this.consoles.reset('the machine was reset');
    if (!this.emulator || !this.config) return;
    this.emulator.restart();
    if (this.config.kind === 'host') this.openBox(this.emulator);
    this.startClock(this.config, this.emulator);
    this.setState('booting');
    this.startStats();
    if (this.flowPaused) {
      this.output.clear();
      this.output.flush();
    }
  }

  async snapshot(): Promise<MachineSnapshot> {
    return { ...this.stats(), marks: this.detector?.marks ?? [], tail: this.detector?.consoleTail() ?? [] };
  }

  async startContainer(name: string, image = 'busybox') {
    const box = await this.readyBox();
    return box.start({ name, image });
  }

  async removeContainer(channel: number) {
    this.box?.remove(channel);
  }

  async lessonScript(machine: string, source: string) {
    return this.lessonChecks.run(machine, source);
  }

  async ping() {
    return 'pong' as const;
  }

  async attachLan(p: ConsolePortLike) {
    this.lanPort = p as unknown as LanPortLike;
    this.plugLan(this.emulator);
  }

  async saveSnapshot(key?: string) {
    const emu = this.emulator;
    const cfg = this.config;
    if (!emu || !cfg || !this.saveable()) throw new Error('only a running machine can be saved');
    const report = await this.store(emu, cfg, key ?? resumeKey(cfg.id));
    this.emit('snapshot', { action: 'saved', report });
    return report;
  }

  async resumeSnapshot(key: string) {
    if (!this.config) throw new Error('init first');
    const cfg = this.config;
    // Refuse before touching the running machine.
    const header = await snapshotHeader(key);
    if (!header) throw new Error(`there is no saved snapshot "${key}" in this browser`);
    assertConfigMatches(header.config, await this.currentSnapshotConfig(cfg));
    if (this.emulator) await this.powerOff();
    const generation = this.powerGeneration;
    this.setState('loading');
    try {
      return await this.resumeInto(cfg, { key }, 'resumed', generation);
    } catch (err) {
      this.resumeFailed(err);
      throw err;
    }
  }

  // ---------------------------------------------------------------- MachineApi: the experiments' driver

  async type(channel: number, text: string) {
    if (!text) return;
    if (channel === 0) this.emulator?.serial0_send(text);
    else this.box?.input(channel, text);
  }

  expect(channel: number, text: string, pattern: string, timeoutMs: number, flags?: string) {
    return this.consoles.expect(channel, text, pattern, timeoutMs, flags);
  }

  async consoleText(channel: number) {
    return this.box?.consoleText(channel) ?? '';
  }

  async runContainer(request: ContainerRequest, timeoutMs: number) {
    if (!this.box) throw new Error('containers need a powered-on container host');
    return this.box.run(request, timeoutMs);
  }

  async waitContainerExit(channel: number, timeoutMs: number) {
    if (!this.box) throw new Error(`no container on terminal ${channel}`);
    return this.box.waitExit(channel, timeoutMs);
  }

  async containerStats(channel: number, timeoutMs: number) {
    if (!this.box) throw new Error(`no container on terminal ${channel}`);
    return this.box.stats(channel, timeoutMs);
  }

  async dropContainer(channel: number) {
    await this.box?.drop(channel);
  }

  async boxCmd(argv: string[], timeoutMs: number) {
    if (!this.box) throw new Error('box verbs need a powered-on container host');
    return this.box.cmd(argv, timeoutMs);
  }

  async boxCmdBytes(argv: string[], timeoutMs: number, onProgress?: (received: number) => void) {
    if (!this.box) throw new Error('box verbs need a powered-on container host');
    // Each progress call is a message to the page: at most one per interval, and the last one always.
    let last = -Infinity;
    let told = 0;
    const t0 = performance.now();
    let firstByteMs: number | undefined;
    const reply = await this.box.cmdBytes(argv, timeoutMs, (n) => {
      const now = performance.now();
      firstByteMs ??= now - t0;
      if (onProgress && now - last >= PROGRESS_INTERVAL_MS) {
        last = now;
        told = n;
        void onProgress(n);
      }
    });
    if (onProgress && told !== reply.bytes.length && reply.code === 0) void onProgress(reply.bytes.length);
    const ms = performance.now() - t0;
    return { ...reply, ms, firstByteMs: firstByteMs ?? ms };
  }

  async boxLoad(archive: Uint8Array, name: string, stallMs: number, onProgress?: (taken: number, total: number) => void, loadId?: string) {
    if (!this.box) throw new Error('box load needs a powered-on container host');
    if (loadId !== undefined && this.loads.has(loadId)) throw new Error(`a load named ${loadId} is already under way`);
    let last = -Infinity;
    const t0 = performance.now();
    let takenMs: number | undefined;
    const load = this.box.load(archive, {
      name,
      stallMs,
      onProgress: (taken, total) => {
        const now = performance.now();
        if (taken === total) takenMs ??= now - t0;
        if (onProgress && (now - last >= PROGRESS_INTERVAL_MS || taken === total)) {
          last = now;
          void onProgress(taken, total);
        }
      },
    });
    if (loadId !== undefined) this.loads.set(loadId, load);
    try {
      const r = await load.done;
      const ms = performance.now() - t0;
      return { code: r.code, text: r.text, ms, takenMs: takenMs ?? ms };
    } finally {
      if (loadId !== undefined) this.loads.delete(loadId);
    }
  }

  async abortBoxLoad(loadId: string) {
    const load = this.loads.get(loadId);
    load?.abort();
    return !!load;
  }

  async diskStats() {
    const d = this.media.lazyDisk;
    if (!d) return undefined;
    const s = d.stats();
    return { size: d.byteLength, bytesFetched: s.bytesFetched, bytesWritten: s.bytesWritten, chunkBytes: d.chunkSize };
  }

  async readDisk(start: number, length: number) {
    const d = this.media.lazyDisk;
    if (!d) throw new Error('this machine has no disk');
    return d.read_range(start, length);
  }

  async saveState() {
    const emu = this.emulator;
    const cfg = this.config;
    if (!emu || !cfg || !this.saveable()) throw new Error('the machine is not running');
    const { bytes, header } = await encodeSnapshot({
      config: await this.currentSnapshotConfig(cfg),
      machineId: cfg.id,
      state: await this.capture(emu, cfg),
      extra: this.snapshotExtra(),
    });
    return { file: bytes, rawBytes: header.rawBytes };
  }

  async restoreOnPowerOn(file: Uint8Array | undefined) {
    this.pendingRestore = file;
  }

  async stamp() {
    return this.now();
  }

  // ---------------------------------------------------------------- for the worker file

  /** Anything v86 throws inside its run loop (the worker's error events): report it on the card. */
  crashed(err: unknown, what: 'crashed' | 'failed') {
    this.fail(err instanceof MachineFailure ? err.info : { kind: 'emulator', message: `the emulator ${what}: ${message(err)}` });
  }

  // ---------------------------------------------------------------- internals

  private emit<K extends MachineEventName>(name: K, data: MachineEventMap[K]) {
    this.port?.postMessage({ type: 'event', event: { name, data } } as WorkerPortMessage);
  }

  private setState(next: MachineState) {
    if (this.state === next) return;
    this.state = next;
    this.emit('state', next);
  }

  private fail(info: MachineEventMap['error']) {
    this.emit('error', info);
    this.setState('error');
    this.stopStats();
    if (this.emulator) void this.emulator.stop();
  }

  private resumeFailed(err: unknown) {
    if (err instanceof PoweredOffMeanwhile) return;
    this.fail({ kind: 'emulator', message: `could not resume the snapshot: ${message(err)}` });
  }

  private saveable() {
    return this.state !== 'loading' && this.state !== 'error' && this.state !== 'stopped';
  }

  private stillWanted(generation: number) {
    if (generation !== this.powerGeneration) throw new PoweredOffMeanwhile();
  }

  /** An emulator built for a power-on that was cancelled meanwhile is destroyed, never run. */
  private async keepIfWanted(emu: V86, generation: number): Promise<V86> {
    if (generation === this.powerGeneration) return emu;
    await emu.destroy();
    throw new PoweredOffMeanwhile();
  }

  private now(): Stamp {
    return { wallMs: this.watch.elapsedMs(), instructions: this.counter?.sample() ?? 0 };
  }

  private plugLan(emu: V86 | undefined) {
    this.lanCable?.unplug();
    this.lanCable = emu && this.lanPort ? connectNicToPort(emu, this.lanPort) : undefined;
  }

  private flushMux() {
    for (const [channel, chunks] of this.muxPending) {
      const bytes = chunks.length === 1 ? chunks[0]! : concatBytes(chunks);
      this.port?.postMessage({ type: 'output', bytes, channel }, [bytes.buffer as ArrayBuffer]);
    }
    this.muxPending.clear();
  }

  private scheduleFlush() {
    this.flusher.request();
  }

  private startStats() {
    this.stopStats();
    this.lastStats = { wallMs: 0, instructions: 0 };
    this.statsTimer = setInterval(() => this.emit('stats', this.stats()), STATS_INTERVAL_MS);
  }

  private stopStats() {
    if (this.statsTimer !== undefined) clearInterval(this.statsTimer);
    this.statsTimer = undefined;
  }

  private stats() {
    const { wallMs, instructions } = this.now();
    const dt = wallMs - this.lastStats.wallMs;
    const ips = dt > 0 ? ((instructions - this.lastStats.instructions) * 1000) / dt : 0;
    this.lastStats = { wallMs, instructions };
    return { state: this.state, wallMs, instructions, ips, diskFetched: this.media.diskFetched, consoleQueued: this.output.length };
  }

  /**
   * The one place the machine's clocks start (power-on, reset, resume): a fresh phase detector, the
   * stopwatch and instruction counter from zero, and the `power-on` event that lines machines up.
   */
  private startClock(cfg: MachineConfig, emu: V86, resumed = false) {
    // A boot runs interpreted until its last phase; a resumed machine is past its boot (core/machine/jit.ts).
    setJit(emu, resumed);
    this.newDetector(cfg, emu);
    this.watch.start();
    this.counter!.reset();
    this.emit('power-on', { epochMs: performance.timeOrigin + performance.now(), ...(resumed ? { resumed } : {}) });
  }

  private newDetector(cfg: MachineConfig, emu: V86) {
    this.counter = new InstructionCounter(() => emu.get_instruction_counter());
    const detector = new PhaseDetector(PHASES[cfg.kind], machineClock(this.watch, this.counter), {
      phase: (mark) => {
        this.emit('phase', mark);
        if (detector.finished) {
          setJit(emu, true);
          const finish = () => {
            this.emit('finish', mark);
            if (this.state === 'booting') this.setState('finished');
          };
          // Warm mode: the finish is announced once the fresh state is captured, so containers started
          // on it are not in the warm state (the mark keeps the marker's own time).
          if (cfg.snapshots?.warm) void this.saveWarm(emu, cfg, finish);
          else finish();
        }
      },
      panic: (info) => {
        this.emit('panic', info);
        this.consoles.panicked(info.line);
        this.setState('panic');
        // The oops and call trace follow the panic line: send the tail again once they are out.
        setTimeout(() => this.detector && this.emit('tail', this.detector.consoleTail()), 500);
      },
    });
    this.detector = detector;
  }

  private buildEmulator(cfg: MachineConfig, resolved: ResolvedMedia): Promise<V86> {
    const module = this.media.wasmModule(cfg.urls.wasm, cfg.wasmModule);
    const options = {
      ...v86Options({ kind: cfg.kind, memoryMb: cfg.memoryMb, network: cfg.network }, resolved),
      wasm_fn: async (imports: WebAssembly.Imports) => (await WebAssembly.instantiate(await module, imports)).exports,
    };
    return new Promise((resolve, reject) => {
      const emu = new V86(options as ConstructorParameters<typeof V86>[0]);
      const timer = setTimeout(
        () => reject(new MachineFailure({ kind: 'emulator', message: `the emulator did not start within ${LOAD_TIMEOUT_MS / 1000} s` })),
        LOAD_TIMEOUT_MS,
      );
      emu.add_listener('emulator-loaded', () => {
        clearTimeout(timer);
        // Before the guest runs: its driver reads the address when it probes the NIC.
        if (cfg.network?.mac) setNicMac(emu, cfg.network.mac);
        if ((cfg.scheduler ?? 'channel') === 'channel') useChannelYield(emu);
        resolve(emu);
      });
    });
  }

  private attach(emu: V86) {
    if (this.config?.kind === 'vm') this.lessonChecks.attachVm(emu);
    emu.add_listener('serial0-output-byte', (byte: number) => {
      this.output.pushByte(byte);
      this.detector?.pushByte(byte);
      this.consoles.serialByte(byte);
      this.scheduleFlush();
    });
  }

  private openBox(emu: V86) {
    this.box?.close();
    this.box = new ContainerHost(v86VirtioPort(emu, 1), {
      output: (channel, bytes) => {
        const list = this.muxPending.get(channel);
        if (list) list.push(bytes);
        else this.muxPending.set(channel, [bytes]);
        this.scheduleFlush();
      },
      text: (channel, text) => this.consoles.containerText(channel, text),
      ready: (version) => this.emit('mux-ready', { version }),
      // A container's bytes so far go first: the page sees its output before its exit, as boxd sent them.
      update: (u) => {
        this.flushMux();
        this.emit('container', u);
      },
      stamp: () => this.now(),
    });
  }

  /** The container host's box once boxd answered HELLO (at most MUX_READY_TIMEOUT_MS after power-on). */
  private async readyBox(): Promise<ContainerHost> {
    const box = this.box;
    if (!box) throw new Error('containers need a powered-on container host');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`boxd did not answer on the mux within ${MUX_READY_TIMEOUT_MS / 1000} s`)), MUX_READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([box.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return box;
  }

  private onPortMessage(msg: PagePortMessage) {
    if (msg.type === 'resize') this.box?.resize(msg.channel, msg.cols, msg.rows);
    else if (msg.channel) {
      if (msg.type === 'input') this.box?.input(msg.channel, msg.bytes);
      else this.box?.ack(msg.channel, msg.bytes);
    } else if (msg.type === 'input') this.emulator?.serial_send_bytes(0, msg.bytes);
    else this.output.grant(msg.bytes);
  }

  // ---------------------------------------------------------------- snapshots (snapshot.ts)

  private currentSnapshotConfig(cfg: MachineConfig): Promise<SnapshotConfig> {
    const pending = (this.snapshotConfig ??= this.media.load(cfg).then((resolved) => snapshotConfigOf(cfg, resolved)));
    pending.catch(() => (this.snapshotConfig = undefined));
    return pending;
  }

  /** The machine's state, quiesced; a host's once boxd is up (its mux channels are part of the save). */
  private async capture(emu: V86, cfg: MachineConfig): Promise<Uint8Array> {
    if (cfg.kind === 'host') await this.box?.ready;
    return captureState(emu, this.media.lazyDisk);
  }

  private snapshotExtra() {
    return {
      containers: this.box?.liveContainers(),
      consoleTail: this.detector?.consoleTail(),
      instructions: this.counter?.sample(),
      uptimeMs: this.watch.elapsedMs(),
    };
  }

  private async store(emu: V86, cfg: MachineConfig, key: string, captured?: () => void): Promise<SnapshotReport> {
    const snapConfig = await this.currentSnapshotConfig(cfg);
    const raw = await this.capture(emu, cfg);
    captured?.();
    return writeSnapshot(key, cfg.id, snapConfig, raw, this.snapshotExtra());
  }

  /** First boot with `warm` on: keep this fresh state for later power-ons (once per configuration). */
  private async saveWarm(emu: V86, cfg: MachineConfig, captured: () => void) {
    let once = false;
    const done = () => {
      if (!once) captured();
      once = true;
    };
    try {
      const key = await warmKey(await this.currentSnapshotConfig(cfg));
      if (this.emulator !== emu || (await snapshotHeader(key))) return;
      this.emit('snapshot', { action: 'warm-saved', report: await this.store(emu, cfg, key, done) });
    } catch (err) {
      this.emit('snapshot', { action: 'failed', message: message(err) });
    } finally {
      done();
    }
  }

  /** A state to resume, checked against this machine's configuration before anything is inflated. */
  private async openState(cfg: MachineConfig, source: SnapshotSource): Promise<{ header: SnapshotHeader; state: Uint8Array }> {
    const config = await this.currentSnapshotConfig(cfg);
    return 'key' in source ? readSnapshot(source.key, config) : openSnapshot(source.file, config);
  }

  /** Build the emulator and restore a checked state into it instead of booting. */
  private async resumeInto(cfg: MachineConfig, source: SnapshotSource, action: 'resumed' | 'warm-resumed', generation: number) {
    const t0 = performance.now();
    const resolved = await this.media.load(cfg);
    this.stillWanted(generation);
    const { header, state: saved } = await this.openState(cfg, source);
    this.stillWanted(generation);
    const emu = await this.keepIfWanted(await this.buildEmulator(cfg, resolved), generation);
    this.emulator = emu;
    this.plugLan(emu);
    this.emit('loaded', { loadMs: performance.now() - t0, bytes: header.storedBytes });
    this.attach(emu);
    this.startClock(cfg, emu, true);
    const r0 = performance.now();
    await emu.restore_state(saved.buffer.slice(saved.byteOffset, saved.byteOffset + saved.byteLength) as ArrayBuffer);
    const restoreMs = performance.now() - r0;
    this.stillWanted(generation);
    if (cfg.kind === 'host') {
      this.openBox(emu);
      this.box!.adopt(header.extra.containers ?? []);
    }
    if (header.extra.consoleTail?.length) {
      // What the console showed at the save, so the terminal is not blank until the guest prints.
      this.output.push(new TextEncoder().encode(`${header.extra.consoleTail.join('\r\n')}\r\n`));
      this.scheduleFlush();
    }
    this.setState('booting');
    this.startStats();
    await emu.run();
    // Ready: the host when boxd answers on the mux (a real round trip through the restored guest);
    // a VM once it runs again. The boot phases happened before the snapshot: marked as passed over.
    if (cfg.kind === 'host') await this.box!.ready;
    this.stillWanted(generation);
    const phases = PHASES[cfg.kind];
    const mark = { phase: phases.at(-1)!.name, skipped: phases.slice(1, -1).map((p) => p.name), ...this.now() };
    // As in a boot, the finish mark is a phase event too: it closes the resume segment.
    this.emit('phase', mark);
    this.emit('finish', mark);
    this.setState('finished');
    const key = 'key' in source ? source.key : `(handed over by ${header.machineId})`;
    const report = { key, rawBytes: header.rawBytes, storedBytes: header.storedBytes, createdAt: header.createdAt, ms: performance.now() - t0, restoreMs };
    this.emit('snapshot', { action, report });
    return report;
  }
}
