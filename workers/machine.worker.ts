/// <reference lib="webworker" />
/**
 * One machine: exactly one v86 instance in this worker. Control comes over comlink
 * (MachineWorkerApi); console bytes and machine events go over the transferred port, batched
 * once per emulator slice and flow-controlled by the terminal's credit. Every failure becomes an
 * `error` event on the port, so the page can show it on this machine's card.
 */
import * as Comlink from 'comlink';
import { V86 } from 'v86';
import { MachineFailure, MediaLoader } from './media.ts';
import { useChannelYield } from './scheduler.ts';
import { LessonChecks } from './lesson-checks.ts';
import { BoxLink } from './box-link.ts';
import { connectNicToPort, setNicMac, type LanPortLike, type NicCable } from '../src/core/lan/index.ts';
import { DriverOps } from './driver-ops.ts';
import { captureState, readSnapshot, snapshotConfigOf, snapshotHeader, writeSnapshot } from './snapshot.ts';
import { assertConfigMatches, resumeKey, warmKey, type SnapshotConfig } from '../src/core/snapshot/index.ts';
import {
  CONSOLE_FLOW,
  FlushThrottle,
  InstructionCounter,
  OutputQueue,
  PHASES,
  PhaseDetector,
  Stopwatch,
  machineClock,
  v86Options,
  type ConsolePortLike,
  type MachineConfig,
  type MachineEventMap,
  type MachineEventName,
  type MachineSnapshot,
  type MachineState,
  type MachineWorkerApi,
  type PagePortMessage,
  type ResolvedMedia,
  type WorkerPortMessage,
} from '../src/core/machine/index.ts';

declare const self: DedicatedWorkerGlobalScope;

const STATS_INTERVAL_MS = 250;
/** A v86 that has not become ready this long after its media arrived is reported, not waited for. */
const LOAD_TIMEOUT_MS = 30_000;

let config: MachineConfig | undefined;
let port: MessagePort | undefined;
let emulator: V86 | undefined;
let detector: PhaseDetector | undefined;
let state: MachineState = 'idle';
const media = new MediaLoader({
  progress: (p) => emit('progress', p),
  // A disk read that fails mid-boot leaves the guest waiting forever: stop it and say why.
  diskError: (info) => fail(info),
  // The host boots on without its image store; boxd then names the image it cannot find.
  storeError: (info) => emit('warning', info),
});
const watch = new Stopwatch(() => performance.now());
let counter: InstructionCounter | undefined;
let statsTimer: ReturnType<typeof setInterval> | undefined;
let lastStats = { wallMs: 0, instructions: 0 };
let flowPaused = false;
/** Container host only: the box mux to boxd. */
let box: BoxLink | undefined;
/**
 * Bumped by every power-off. A power-on still downloading or building when the user powers off
 * (the compare page's Stop, a lab power button) sees the change at its next step and gives up,
 * instead of booting a machine the page already shows as off.
 */
let powerGeneration = 0;

class PoweredOffMeanwhile extends Error {
  constructor() {
    super('the machine was powered off while it was starting');
  }
}

function stillWanted(generation: number) {
  if (generation !== powerGeneration) throw new PoweredOffMeanwhile();
}

/** An emulator built for a power-on that was cancelled meanwhile is destroyed, never run. */
async function keepIfWanted(emu: V86, generation: number): Promise<V86> {
  if (generation === powerGeneration) return emu;
  await emu.destroy();
  throw new PoweredOffMeanwhile();
}
/** boxd has this long after power-on to answer HELLO before container starts fail. */
const MUX_READY_TIMEOUT_MS = 60_000;
/** The machine end of the page's LAN, and the NIC's cable on it while an emulator exists. */
let lanPort: LanPortLike | undefined;
let lanCable: NicCable | undefined;

function plugLan(emu: V86 | undefined) {
  lanCable?.unplug();
  lanCable = emu && lanPort ? connectNicToPort(emu, lanPort) : undefined;
}

function emit<K extends MachineEventName>(name: K, data: MachineEventMap[K]) {
  port?.postMessage({ type: 'event', event: { name, data } } as WorkerPortMessage);
}

function setState(next: MachineState) {
  if (state === next) return;
  state = next;
  emit('state', next);
}

function fail(info: MachineEventMap['error']) {
  emit('error', info);
  setState('error');
  stopStats();
  if (emulator) void emulator.stop();
}

const output = new OutputQueue(
  {
    send(bytes) {
      port?.postMessage({ type: 'output', bytes } as WorkerPortMessage, [bytes.buffer]);
    },
    pause() {
      // The serial port has no back-pressure: stopping the guest is the only lossless option.
      flowPaused = true;
      void emulator?.stop();
      if (state === 'booting' || state === 'finished') emit('state', 'paused');
    },
    resume() {
      flowPaused = false;
      if (emulator && (state === 'booting' || state === 'finished' || state === 'panic')) {
        void emulator.run();
        emit('state', state);
      }
    },
  },
  CONSOLE_FLOW,
);

/** Container terminal bytes waiting for the next flush, per mux channel, in arrival order. */
const muxPending = new Map<number, Uint8Array[]>();

function flushMux() {
  for (const [channel, chunks] of muxPending) {
    const bytes = chunks.length === 1 ? chunks[0] : concat(chunks);
    port?.postMessage({ type: 'output', bytes, channel } as WorkerPortMessage, [bytes.buffer]);
  }
  muxPending.clear();
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

// v86 emits serial bytes synchronously inside its run slice; the microtask runs right after the
// slice. At most one flush per frame (src/core/machine/throttle.ts): every message is a task on
// the page's main thread.
const flusher = new FlushThrottle(
  () => {
    output.flush();
    flushMux();
  },
  { now: () => performance.now(), soon: (fn) => queueMicrotask(fn), later: (fn, ms) => setTimeout(fn, ms) },
);

function scheduleFlush() {
  flusher.request();
}

function startStats() {
  stopStats();
  lastStats = { wallMs: 0, instructions: 0 };
  statsTimer = setInterval(() => emit('stats', stats()), STATS_INTERVAL_MS);
}

function stopStats() {
  if (statsTimer !== undefined) clearInterval(statsTimer);
  statsTimer = undefined;
}

function stats() {
  const wallMs = watch.elapsedMs();
  const instructions = counter?.sample() ?? 0;
  const dt = wallMs - lastStats.wallMs;
  const ips = dt > 0 ? ((instructions - lastStats.instructions) * 1000) / dt : 0;
  lastStats = { wallMs, instructions };
  return { state, wallMs, instructions, ips, diskFetched: media.diskFetched, consoleQueued: output.length };
}

function newDetector(cfg: MachineConfig, emu: V86) {
  counter = new InstructionCounter(() => emu.get_instruction_counter());
  detector = new PhaseDetector(PHASES[cfg.kind], machineClock(watch, counter), {
    phase(mark) {
      emit('phase', mark);
      if (detector?.finished) {
        const finish = () => {
          emit('finish', mark);
          if (state === 'booting') setState('finished');
        };
        // Warm mode: the finish is announced once the fresh state is captured, so containers started
        // on it are not in the warm state (the mark keeps the marker's own time).
        if (cfg.snapshots?.warm) void saveWarm(emu, finish);
        else finish();
      }
    },
    panic(info) {
      emit('panic', info);
      driver.panicked(info.line);
      setState('panic');
      // The oops and call trace follow the panic line: send the tail again once they are out.
      setTimeout(() => detector && emit('tail', detector.consoleTail()), 500);
    },
  });
}

function buildEmulator(cfg: MachineConfig, resolved: ResolvedMedia): Promise<V86> {
  const module = media.wasmModule(cfg.urls.wasm, cfg.wasmModule);
  const options = {
    ...v86Options({ kind: cfg.kind, memoryMb: cfg.memoryMb, network: cfg.network }, resolved),
    ...driver.initialStateOption(),
    wasm_fn: async (imports: WebAssembly.Imports) => (await WebAssembly.instantiate(await module, imports)).exports,
  };
  return new Promise((resolve, reject) => {
    const emu = new V86(options as ConstructorParameters<typeof V86>[0]);
    const timer = setTimeout(() => reject(new MachineFailure({ kind: 'emulator', message: `the emulator did not start within ${LOAD_TIMEOUT_MS / 1000} s` })), LOAD_TIMEOUT_MS);
    emu.add_listener('emulator-loaded', () => {
      clearTimeout(timer);
      // Before the guest runs: its driver reads the address when it probes the NIC.
      if (cfg.network?.mac) setNicMac(emu, cfg.network.mac);
      if ((cfg.scheduler ?? 'channel') === 'channel') useChannelYield(emu);
      resolve(emu);
    });
  });
}

/** Lesson checks on side channels (workers/lesson-checks.ts). */
const lessonChecks = new LessonChecks(() => box?.host);

function attach(emu: V86) {
  if (config?.kind === 'vm') lessonChecks.attachVm(emu);
  emu.add_listener('serial0-output-byte', (byte: number) => {
    output.pushByte(byte);
    detector?.pushByte(byte);
    driver.serialByte(byte);
    scheduleFlush();
  });
}

function openBox(emu: V86) {
  box?.close();
  box = new BoxLink(emu, {
    output(channel, bytes) {
      const list = muxPending.get(channel);
      if (list) list.push(bytes);
      else muxPending.set(channel, [bytes]);
      scheduleFlush();
    },
    ready: (version) => emit('mux-ready', { version }),
    // A container's bytes so far go first: the page sees its output before its exit, as boxd sent them.
    update: (u) => {
      flushMux();
      emit('container', u);
    },
    sincePowerOn: () => watch.elapsedMs(),
    instructions: () => counter?.sample() ?? 0,
  });
}

function onPortMessage(msg: PagePortMessage) {
  if (msg.type === 'resize') box?.resize(msg.channel, msg.cols, msg.rows);
  else if (msg.channel) {
    if (msg.type === 'input') box?.input(msg.channel, msg.bytes);
    else box?.ack(msg.channel, msg.bytes);
  } else if (msg.type === 'input') emulator?.serial_send_bytes(0, msg.bytes);
  else output.grant(msg.bytes);
}

// ---------------------------------------------------------------- snapshots (workers/snapshot.ts)
let snapshotConfig: Promise<SnapshotConfig> | undefined;

/** This machine's snapshot configuration (hashes of what it loads; computed once per worker). */
function currentSnapshotConfig(cfg: MachineConfig): Promise<SnapshotConfig> {
  snapshotConfig ??= media.load(cfg).then((resolved) => snapshotConfigOf(cfg, resolved));
  snapshotConfig.catch(() => (snapshotConfig = undefined));
  return snapshotConfig;
}

async function saveState(emu: V86, cfg: MachineConfig, key: string, captured?: () => void) {
  const snapConfig = await currentSnapshotConfig(cfg);
  if (cfg.kind === 'host') await box?.ready;
  const raw = await captureState(emu, media.lazyDisk);
  captured?.();
  return writeSnapshot(key, cfg.id, snapConfig, raw, {
    containers: box?.liveContainers(),
    consoleTail: detector?.consoleTail(),
    instructions: counter?.sample(),
    uptimeMs: watch.elapsedMs(),
  });
}

/** First boot with `warm` on: keep this fresh state for later power-ons (once per configuration). */
async function saveWarm(emu: V86, captured: () => void) {
  const cfg = config!;
  let once = false;
  const done = () => {
    if (!once) captured();
    once = true;
  };
  try {
    const key = await warmKey(await currentSnapshotConfig(cfg));
    if (emulator !== emu || (await snapshotHeader(key))) return;
    emit('snapshot', { action: 'warm-saved', report: await saveState(emu, cfg, key, done) });
  } catch (err) {
    emit('snapshot', { action: 'failed', message: err instanceof Error ? err.message : String(err) });
  } finally {
    done();
  }
}

/** Build the emulator and restore `key` into it instead of booting (the config check comes first). */
async function resumeInto(cfg: MachineConfig, key: string, action: 'resumed' | 'warm-resumed', generation: number) {
  const t0 = performance.now();
  const resolved = await media.load(cfg);
  stillWanted(generation);
  const { header, state: saved } = await readSnapshot(key, await currentSnapshotConfig(cfg));
  stillWanted(generation);
  const emu = await keepIfWanted(await buildEmulator(cfg, resolved), generation);
  emulator = emu;
  plugLan(emu);
  emit('loaded', { loadMs: performance.now() - t0, bytes: header.storedBytes });
  newDetector(cfg, emu);
  attach(emu);
  watch.start();
  counter!.reset();
  emit('power-on', { epochMs: performance.timeOrigin + performance.now(), resumed: true });
  const r0 = performance.now();
  await emu.restore_state(saved.buffer.slice(saved.byteOffset, saved.byteOffset + saved.byteLength) as ArrayBuffer);
  const restoreMs = performance.now() - r0;
  stillWanted(generation);
  if (cfg.kind === 'host') {
    openBox(emu);
    box!.adopt(header.extra.containers ?? []);
  }
  if (header.extra.consoleTail?.length) {
    // What the console showed at the save, so the terminal is not blank until the guest prints.
    output.push(new TextEncoder().encode(`${header.extra.consoleTail.join('\r\n')}\r\n`));
    scheduleFlush();
  }
  setState('booting');
  startStats();
  await emu.run();
  // Ready: the host when boxd answers on the mux (a real round trip through the restored guest);
  // a VM once it runs again. The boot phases happened before the snapshot: marked as passed over.
  if (cfg.kind === 'host') await box!.ready;
  stillWanted(generation);
  const phases = PHASES[cfg.kind];
  const mark = { phase: phases.at(-1)!.name, skipped: phases.slice(1, -1).map((p) => p.name), wallMs: watch.elapsedMs(), instructions: counter!.sample() };
  // As in a boot, the finish mark is a phase event too: it closes the resume segment.
  emit('phase', mark);
  emit('finish', mark);
  setState('finished');
  const report = { key, rawBytes: header.rawBytes, storedBytes: header.storedBytes, createdAt: header.createdAt, ms: performance.now() - t0, restoreMs };
  emit('snapshot', { action, report });
  return report;
}

const api = {
  async init(cfg: MachineConfig, consolePort: ConsolePortLike) {
    config = cfg;
    port = consolePort as MessagePort;
    port.onmessage = (e: MessageEvent<PagePortMessage>) => onPortMessage(e.data);
    port.start();
    emit('state', state);
  },

  async powerOn() {
    if (!config) throw new Error('init first');
    // After a crash the old emulator is still here: clear it so the machine can boot again.
    if (emulator && (state === 'error' || state === 'stopped')) await api.powerOff();
    if (emulator || state === 'loading') return;
    const cfg = config;
    let generation = powerGeneration;
    setState('loading');
    const t0 = performance.now();
    if (cfg.snapshots?.warm) {
      // A warm start when this configuration has a stored state; any problem means a normal boot.
      try {
        const key = await warmKey(await currentSnapshotConfig(cfg));
        if (await snapshotHeader(key)) {
          await resumeInto(cfg, key, 'warm-resumed', generation);
          return;
        }
      } catch (err) {
        if (err instanceof PoweredOffMeanwhile || generation !== powerGeneration) return;
        emit('snapshot', { action: 'failed', message: `warm start unavailable, booting: ${err instanceof Error ? err.message : err}` });
        if (emulator) await api.powerOff();
        generation = powerGeneration; // that power-off was ours, not the user's
        setState('loading');
      }
    }
    try {
      const resolved = await media.load(cfg);
      stillWanted(generation);
      const emu = await keepIfWanted(await buildEmulator(cfg, resolved), generation);
      emulator = emu;
      plugLan(emu);
      const bytes = [resolved.bios, resolved.vgaBios, resolved.kernel, resolved.initrd].reduce((n, b) => n + (b?.byteLength ?? 0), 0);
      emit('loaded', { loadMs: performance.now() - t0, bytes });
      newDetector(cfg, emu);
      attach(emu);
      if (cfg.kind === 'host') openBox(emu);
      watch.start();
      counter!.reset();
      emit('power-on', { epochMs: performance.timeOrigin + performance.now() });
      setState('booting');
      startStats();
      await emu.run();
    } catch (err) {
      if (err instanceof PoweredOffMeanwhile) return;
      fail(err instanceof MachineFailure ? err.info : { kind: 'emulator', message: err instanceof Error ? err.message : String(err) });
    }
  },

  async powerOff() {
    powerGeneration++;
    plugLan(undefined);
    driver.reset('the machine was powered off');
    stopStats();
    box?.close();
    box = undefined;
    lessonChecks.detach();
    const emu = emulator;
    emulator = undefined;
    detector = undefined;
    if (emu) {
      await emu.stop();
      await emu.destroy();
    }
    watch.stop();
    output.clear();
    setState('stopped');
  },

  async reset() {
    driver.reset('the machine was reset');
    if (!emulator || !config) return;
    emulator.restart();
    if (config.kind === 'host') openBox(emulator);
    newDetector(config, emulator);
    watch.start();
    counter!.reset();
    emit('power-on', { epochMs: performance.timeOrigin + performance.now() });
    setState('booting');
    startStats();
    if (flowPaused) {
      output.clear();
      output.flush();
    }
  },

  async snapshot(): Promise<MachineSnapshot> {
    return { ...stats(), marks: detector?.marks ?? [], tail: detector?.consoleTail() ?? [] };
  },

  async startContainer(name: string, image = 'busybox') {
    const link = box;
    if (!link) throw new Error('containers need a powered-on container host');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`boxd did not answer on the mux within ${MUX_READY_TIMEOUT_MS / 1000} s`)), MUX_READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([link.ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return link.start(name, image);
  },

  async removeContainer(channel: number) {
    box?.remove(channel);
  },

  async ping() {
    return 'pong' as const;
  },

  async lessonScript(machine: string, source: string) {
    return lessonChecks.run(machine, source);
  },

  async attachLan(p: ConsolePortLike) {
    lanPort = p as unknown as LanPortLike;
    plugLan(emulator);
  },

  async saveSnapshot(key?: string) {
    const emu = emulator;
    if (!emu || !config || state === 'loading' || state === 'error' || state === 'stopped') throw new Error('only a running machine can be saved');
    const report = await saveState(emu, config, key ?? resumeKey(config.id));
    emit('snapshot', { action: 'saved', report });
    return report;
  },

  async resumeSnapshot(key: string) {
    if (!config) throw new Error('init first');
    const cfg = config;
    // Refuse before touching the running machine.
    const header = await snapshotHeader(key);
    if (!header) throw new Error(`there is no saved snapshot "${key}" in this browser`);
    assertConfigMatches(header.config, await currentSnapshotConfig(cfg));
    if (emulator) await api.powerOff();
    const generation = powerGeneration;
    setState('loading');
    try {
      return await resumeInto(cfg, key, 'resumed', generation);
    } catch (err) {
      if (err instanceof PoweredOffMeanwhile) throw err;
      fail({ kind: 'emulator', message: `could not resume the snapshot: ${err instanceof Error ? err.message : String(err)}` });
      throw err;
    }
  },
} satisfies MachineWorkerApi;

// Anything v86 throws inside its run loop lands here: report it on this machine's card.
self.addEventListener('error', (e) => {
  fail({ kind: 'emulator', message: `the emulator crashed: ${e.message}` });
});
self.addEventListener('unhandledrejection', (e) => {
  const r = e.reason;
  fail(r instanceof MachineFailure ? r.info : { kind: 'emulator', message: `the emulator failed: ${r instanceof Error ? r.message : String(r)}` });
});

/** The experiments' browser driver: consoles as text, containers with any argv, disk counters, saved states. */
const driver = new DriverOps({
  emulator: () => emulator,
  mux: () => box?.host,
  disk: () => media.lazyDisk,
  stamp: () => ({ wallMs: watch.elapsedMs(), instructions: counter?.sample() ?? 0 }),
  panic: () => (state === 'panic' ? (detector?.consoleTail().find((l) => /Kernel panic/.test(l)) ?? 'kernel panic') : undefined),
  output(channel, bytes) {
    port?.postMessage({ type: 'output', bytes, channel } as WorkerPortMessage, [bytes.buffer]);
  },
  update: (u) => emit('container', u),
  typeSerial: (text) => emulator?.serial0_send(text),
});

Comlink.expose({ ...api, ...driver.api });
