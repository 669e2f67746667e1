/// <reference lib="webworker" />
/**
 * One machine: exactly one v86 instance in this worker. Control comes over comlink
 * (MachineWorkerApi); console bytes and machine events go over the transferred port, batched
 * once per emulator slice and flow-controlled by the terminal's credit. Every failure becomes an
 * `error` event on the port, so the page can show it on this machine's card.
 */
import * as Comlink from 'comlink';
import { V86 } from 'v86';
import { LazyDisk } from '../src/core/lazy-disk.ts';
import {
  CONSOLE_FLOW,
  InstructionCounter,
  OutputQueue,
  PHASES,
  PROFILES,
  PhaseDetector,
  Stopwatch,
  machineClock,
  v86Options,
  type ConsolePortLike,
  type MachineConfig,
  type MachineError,
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

/** A failure with a message meant for the card. */
class MachineFailure extends Error {
  constructor(readonly info: MachineError) {
    super(info.message);
  }
}

const STATS_INTERVAL_MS = 250;
/** A v86 that has not become ready this long after its media arrived is reported, not waited for. */
const LOAD_TIMEOUT_MS = 30_000;

const fileName = (url: string) => decodeURIComponent(new URL(url).pathname.split('/').pop() || url);

let config: MachineConfig | undefined;
let port: MessagePort | undefined;
let emulator: V86 | undefined;
let detector: PhaseDetector | undefined;
let state: MachineState = 'idle';
let wasmModule: Promise<WebAssembly.Module> | undefined;
let disk: LazyDisk | undefined;
const downloads = new Map<string, Promise<ArrayBuffer>>();
const watch = new Stopwatch(() => performance.now());
let counter: InstructionCounter | undefined;
let statsTimer: ReturnType<typeof setInterval> | undefined;
let lastStats = { wallMs: 0, instructions: 0 };
let flowPaused = false;
let flushScheduled = false;
let diskErrorReported = false;

function emit<K extends MachineEventName>(name: K, data: MachineEventMap[K]) {
  port?.postMessage({ type: 'event', event: { name, data } } as WorkerPortMessage);
}

function setState(next: MachineState) {
  if (state === next) return;
  state = next;
  emit('state', next);
}

function fail(info: MachineError) {
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

function scheduleFlush() {
  if (flushScheduled) return;
  flushScheduled = true;
  // v86 emits serial bytes synchronously inside its run slice; a microtask runs right after the
  // slice, so each slice's output leaves as one message.
  queueMicrotask(() => {
    flushScheduled = false;
    output.flush();
  });
}

async function download(url: string, what: string, index: number, count: number): Promise<ArrayBuffer> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new MachineFailure({ kind: 'download', message: `could not fetch the ${what} (${err instanceof Error ? err.message : err})`, source: url });
  }
  if (!res.ok) throw new MachineFailure({ kind: 'download', message: `${what} not found: HTTP ${res.status} for ${fileName(url)}`, source: url });
  if ((res.headers.get('content-type') ?? '').includes('text/html'))
    throw new MachineFailure({ kind: 'download', message: `${what} not found: the server sent a web page instead of ${fileName(url)}`, source: url });
  const total = Number(res.headers.get('content-length') ?? 0);
  if (!res.body) return res.arrayBuffer();
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let loaded = 0;
  let lastSent = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    loaded += value.length;
    const now = performance.now();
    if (now - lastSent > 50) {
      lastSent = now;
      emit('progress', { file: fileName(url), loaded, total, fileIndex: index, fileCount: count });
    }
  }
  emit('progress', { file: fileName(url), loaded, total: total || loaded, fileIndex: index, fileCount: count });
  const out = new Uint8Array(loaded);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out.buffer;
}

/** Downloads survive power cycles: the same machine boots again from memory. */
function cached(url: string, what: string, index: number, count: number): Promise<ArrayBuffer> {
  let p = downloads.get(url);
  if (!p) {
    p = download(url, what, index, count);
    p.catch(() => downloads.delete(url));
    downloads.set(url, p);
  }
  return p;
}

async function readRange(url: string, start: number, length: number): Promise<Uint8Array> {
  const res = await fetch(url, { headers: { Range: `bytes=${start}-${start + length - 1}` } });
  if (res.status !== 206) throw new Error(`HTTP ${res.status} for bytes ${start}-${start + length - 1} of ${fileName(url)}`);
  return new Uint8Array(await res.arrayBuffer());
}

/**
 * Probe the disk with a small range read: it proves the file exists, that ranges work, and gives
 * the size. (Not `bytes=0-0`: sirv, behind `vite preview`, reads an end of 0 as "to the end".)
 */
async function openDisk(url: string): Promise<LazyDisk> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { Range: 'bytes=0-511' } });
  } catch (err) {
    throw new MachineFailure({ kind: 'download', message: `could not fetch the disk image (${err instanceof Error ? err.message : err})`, source: url });
  }
  if (res.status === 404 || res.status === 416 || !res.ok)
    throw new MachineFailure({ kind: 'download', message: `disk image not found: HTTP ${res.status} for ${fileName(url)}`, source: url });
  if ((res.headers.get('content-type') ?? '').includes('text/html'))
    throw new MachineFailure({ kind: 'download', message: `disk image not found: the server sent a web page instead of ${fileName(url)}`, source: url });
  if (res.status === 200) {
    // No range support: take the whole image once and serve reads from memory.
    const whole = new Uint8Array(await res.arrayBuffer());
    return new LazyDisk(whole.length, async (start, length) => whole.slice(start, start + length));
  }
  const size = Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1]);
  await res.arrayBuffer();
  if (!size) throw new MachineFailure({ kind: 'range', message: `the server gave no size for ${fileName(url)} (Content-Range missing)`, source: url });
  return new LazyDisk(size, async (start, length) => {
    try {
      return await readRange(url, start, length);
    } catch (err) {
      if (!diskErrorReported) {
        diskErrorReported = true;
        emit('error', { kind: 'range', message: `disk read failed: ${err instanceof Error ? err.message : err}`, source: url });
      }
      throw err;
    }
  });
}

async function loadMedia(cfg: MachineConfig): Promise<ResolvedMedia> {
  const { urls } = cfg;
  const profile = PROFILES[cfg.kind];
  const count = profile.preload.length;
  const names: Record<string, [string, string]> = {
    seabios: [urls.seabios, 'BIOS'],
    vgabios: [urls.vgabios, 'VGA BIOS'],
    hostKernel: [urls.hostKernel, 'host kernel'],
    hostInitrd: [urls.hostInitrd, 'host initramfs'],
  };
  wasmModule ??= WebAssembly.compileStreaming(fetch(urls.wasm)).catch((err) => {
    wasmModule = undefined;
    throw new MachineFailure({ kind: 'download', message: `could not load the v86 emulator (${err instanceof Error ? err.message : err})`, source: urls.wasm });
  });
  const files = profile.preload.map((name, i) => cached(names[name][0], names[name][1], i, count));
  const cmdline =
    cfg.kind === 'host'
      ? fetch(urls.hostCmdline)
          .then((r) => (r.ok && !(r.headers.get('content-type') ?? '').includes('text/html') ? r.text() : undefined))
          .catch(() => undefined)
      : Promise.resolve(undefined);
  if (cfg.kind === 'vm') disk ??= await openDisk(urls.vmDisk);
  const [bios, vgaBios, kernel, initrd] = await Promise.all(files);
  await wasmModule;
  return { wasmUrl: urls.wasm, bios, vgaBios, kernel, initrd, cmdline: await cmdline, disk };
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
  return { state, wallMs, instructions, ips, diskFetched: disk?.stats().bytesFetched, consoleQueued: output.length };
}

function newDetector(cfg: MachineConfig, emu: V86) {
  counter = new InstructionCounter(() => emu.get_instruction_counter());
  detector = new PhaseDetector(PHASES[cfg.kind], machineClock(watch, counter), {
    phase(mark) {
      emit('phase', mark);
      if (detector?.finished) {
        emit('finish', mark);
        if (state === 'booting') setState('finished');
      }
    },
    panic(info) {
      emit('panic', info);
      setState('panic');
      // The oops and call trace follow the panic line: send the tail again once they are out.
      setTimeout(() => detector && emit('tail', detector.consoleTail()), 500);
    },
  });
}

function powerOnEmulator(cfg: MachineConfig, media: ResolvedMedia): Promise<V86> {
  const module = wasmModule!;
  const options = {
    ...v86Options({ kind: cfg.kind, memoryMb: cfg.memoryMb, network: cfg.network }, media),
    wasm_fn: async (imports: WebAssembly.Imports) => (await WebAssembly.instantiate(await module, imports)).exports,
  };
  return new Promise((resolve, reject) => {
    const emu = new V86(options as ConstructorParameters<typeof V86>[0]);
    const timer = setTimeout(() => reject(new MachineFailure({ kind: 'emulator', message: `the emulator did not start within ${LOAD_TIMEOUT_MS / 1000} s` })), LOAD_TIMEOUT_MS);
    emu.add_listener('emulator-loaded', () => {
      clearTimeout(timer);
      resolve(emu);
    });
  });
}

function attach(cfg: MachineConfig, emu: V86) {
  emu.add_listener('serial0-output-byte', (byte: number) => {
    output.pushByte(byte);
    detector?.pushByte(byte);
    scheduleFlush();
  });
}

function onPortMessage(msg: PagePortMessage) {
  if (msg.type === 'input') emulator?.serial_send_bytes(0, msg.bytes);
  else if (msg.type === 'credit') output.grant(msg.bytes);
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
    if (emulator || state === 'loading') return;
    const cfg = config;
    setState('loading');
    const t0 = performance.now();
    diskErrorReported = false;
    try {
      const media = await loadMedia(cfg);
      const emu = await powerOnEmulator(cfg, media);
      emulator = emu;
      const bytes = [media.bios, media.vgaBios, media.kernel, media.initrd].reduce((n, b) => n + (b?.byteLength ?? 0), 0);
      emit('loaded', { loadMs: performance.now() - t0, bytes });
      newDetector(cfg, emu);
      attach(cfg, emu);
      watch.start();
      counter!.reset();
      emit('power-on', { epochMs: performance.timeOrigin + performance.now() });
      setState('booting');
      startStats();
      await emu.run();
    } catch (err) {
      fail(err instanceof MachineFailure ? err.info : { kind: 'emulator', message: err instanceof Error ? err.message : String(err) });
    }
  },

  async powerOff() {
    stopStats();
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
    if (!emulator || !config) return;
    emulator.restart();
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

  async ping() {
    return 'pong' as const;
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

Comlink.expose(api);
