/**
 * The machine worker's contract: one typed control API (comlink) and one event map, like v86's
 * own `Event` typings. Console bytes and events share a transferred MessagePort so they arrive in
 * order; control calls go over comlink and return promises.
 */
import type { MachineKind } from './profiles.ts';
import type { PanicInfo, PhaseMark, Stamp } from './phases.ts';

export type MachineState =
  | 'idle' // created, nothing downloaded
  | 'loading' // fetching firmware, kernel, disk index
  | 'booting' // powered on, guest running, finish marker not seen yet
  | 'finished' // finish marker seen, guest keeps running
  | 'paused' // console back-pressure stopped the guest for a moment
  | 'stopped'
  | 'panic'
  | 'error';

/** Absolute URLs of everything a machine may load (the worker resolves nothing itself). */
export interface MachineUrls {
  wasm: string;
  seabios: string;
  vgabios: string;
  hostKernel: string;
  hostInitrd: string;
  hostCmdline: string;
  /** The host's image store disk (OCI layout + pulled layers), read lazily like the VM disk. */
  hostStore: string;
  vmDisk: string;
}

export interface MachineConfig {
  id: string;
  kind: MachineKind;
  urls: MachineUrls;
  memoryMb?: number;
  /**
   * The NIC. `mac` ("02:86:…", src/core/lan lanMac) is written into the NIC before the guest runs:
   * the VM derives its LAN address from it, so machines on one LAN need different ones.
   */
  network?: { type: 'ne2k' | 'virtio'; mac?: string };
  /**
   * How the emulator yields between run slices. 'channel' (default): a MessageChannel to itself.
   * 'v86': v86's own scheme, which in a worker bounces every yield off a nested worker (v86 #219);
   * kept selectable so the difference can be measured.
   */
  scheduler?: 'channel' | 'v86';
  /**
   * The v86 WebAssembly.Module, compiled once by the page and shared with every worker (typed
   * loosely: src/core has no WebAssembly typings). Without it the worker compiles urls.wasm itself.
   */
  wasmModule?: unknown;
  /**
   * Snapshots (src/core/snapshot). `warm`: power-on resumes this configuration's warm-start state
   * when the browser has one; otherwise the machine boots and, at its finish marker, saves one.
   */
  snapshots?: { warm?: boolean };
}

/** A snapshot written or resumed by the worker. */
export interface SnapshotReport {
  key: string;
  /** v86 state bytes before and after compression. */
  rawBytes: number;
  storedBytes: number;
  /** Epoch ms the state was taken. */
  createdAt: number;
  /** Save: compress + store; resume: read + inflate + restore_state. */
  ms: number;
  /** Resume only: v86 restore_state() alone. */
  restoreMs?: number;
}

export type SnapshotEvent = { action: 'saved' | 'warm-saved' | 'resumed' | 'warm-resumed'; report: SnapshotReport } | { action: 'failed'; message: string };

export interface DownloadProgress {
  file: string;
  loaded: number;
  /** 0 when the server sent no length. */
  total: number;
  fileIndex: number;
  fileCount: number;
}

export type MachineErrorKind = 'download' | 'range' | 'emulator' | 'worker' | 'config';

export interface MachineError {
  kind: MachineErrorKind;
  /** One sentence a teacher can read on a projector. */
  message: string;
  /** The URL or file involved, when there is one. */
  source?: string;
}

export interface MachineStats extends Stamp {
  state: MachineState;
  /** Guest instructions per second over the last sample interval. */
  ips: number;
  /** Bytes of disk image fetched so far (VM). */
  diskFetched?: number;
  consoleQueued: number;
}

export type ContainerState = 'starting' | 'running' | 'exited' | 'error';

/** A container on the host, as the worker reports it (channel = its mux terminal). */
export interface ContainerUpdate {
  channel: number;
  name: string;
  /** The image it runs (as `box run` was given it), for `box save` (the page's "Download image"). */
  image?: string;
  state: ContainerState;
  /** PID 1 of the container in the host's PID namespace. */
  pid?: number;
  /** Start phases, 0 = the request was sent (see containerMarks); set once the prompt appeared. */
  marks?: PhaseMark[];
  /** Page-independent: worker clock ms from host power-on to the request. */
  requestedAtMs?: number;
  /** Host guest instructions from power-on to the request. */
  requestedAtInstructions?: number;
  /** Host guest instructions from the request to the container's first output (set with marks). */
  instructions?: number;
  message?: string;
}

/** Event name → payload, as v86.d.ts does for the emulator's own events. */
export interface MachineEventMap {
  state: MachineState;
  progress: DownloadProgress;
  /** Everything downloaded, emulator built; carries the load time. */
  loaded: { loadMs: number; bytes: number };
  /** Power-on moment as epoch ms (performance.timeOrigin + now), to line machines up. */
  /** `resumed`: a saved state is being restored, nothing boots (the timeline is one resume segment). */
  'power-on': { epochMs: number; resumed?: boolean };
  phase: PhaseMark;
  finish: PhaseMark;
  panic: PanicInfo;
  error: MachineError;
  /** Something the machine runs on without (the host's image store unreadable): shown, not fatal. */
  warning: MachineError;
  stats: MachineStats;
  tail: string[];
  /** Container host: boxd answered HELLO over the mux. */
  'mux-ready': { version: string };
  container: ContainerUpdate;
  snapshot: SnapshotEvent;
}

export type MachineEventName = keyof MachineEventMap;

export type MachineEvent = { [K in MachineEventName]: { name: K; data: MachineEventMap[K] } }[MachineEventName];

/**
 * Worker → page on the console port. `channel` absent or 0: the serial console; otherwise a
 * container terminal on the box mux.
 */
export type WorkerPortMessage = { type: 'output'; bytes: Uint8Array; channel?: number } | { type: 'event'; event: MachineEvent };

/** Page → worker on the console port. */
export type PagePortMessage =
  | { type: 'input'; bytes: Uint8Array; channel?: number }
  | { type: 'credit'; bytes: number; channel?: number }
  | { type: 'resize'; cols: number; rows: number; channel: number };

export interface MachineSnapshot extends MachineStats {
  marks: PhaseMark[];
  tail: string[];
}

/** The parts of a MessagePort the contract relies on (src/core has no DOM typings). */
export interface ConsolePortLike {
  postMessage(message: unknown, transfer: unknown[]): void;
}

/**
 * The one API of a machine (src/runtime/machine-runtime.ts MachineRuntime), as its worker exposes it
 * with comlink to the page (MachineSession) and to Node (src/node/machine.ts): power and snapshots
 * for the cards and races, then the calls the experiments' Driver makes (consoles read as text with
 * a deadline, containers with any `box run` argv, box verbs, disk counters, checked saved states).
 */
export interface MachineApi {
  /** Take the console port (transferred) and the machine's description; downloads start on powerOn. */
  init(config: MachineConfig, port: ConsolePortLike): Promise<void>;
  /** Download what is missing, build the emulator, start it. Resolves once the guest runs. */
  powerOn(): Promise<void>;
  /** Stop the guest and free the emulator; downloads are kept for the next power-on. */
  powerOff(): Promise<void>;
  /** Hardware reset: the guest reboots from the BIOS, timers and phases start over. */
  reset(): Promise<void>;
  snapshot(): Promise<MachineSnapshot>;
  /**
   * Container host: `box run -it --name <name> --hostname <name> <image> sh` over the mux, once boxd
   * is ready. Resolves with the container's terminal channel; progress comes as `container` events.
   */
  startContainer(name: string, image?: string): Promise<number>;
  /** Container host: kill and remove a container. */
  removeContainer(channel: number): Promise<void>;
  /** Liveness check: a hung worker does not answer. */
  ping(): Promise<'pong'>;
  /**
   * Run a lesson's check script (sh) on a side channel, never on the student's terminal: a VM's
   * lesson agent on COM2 (`machine` is ignored), or on a container host `host` (HOST_EXEC) or a
   * container by name (EXEC). Resolves with exit code and output; rejects when it cannot be reached.
   */
  lessonScript(machine: string, source: string): Promise<{ code: number; output: string }>;
  /**
   * Plug the NIC into the page's LAN: the machine end of a MessagePort (transferred) whose other end
   * is a port of the page's switch (src/core/lan connectPortToSwitch). Any time after init; the
   * cable stays plugged across power cycles.
   */
  attachLan(port: ConsolePortLike): Promise<void>;
  /**
   * Save the running machine's state to browser storage (default key: resume.<id>.snap). Rejects with
   * a sentence for the card (a full quota: StorageFullError's; what was saved before stays).
   */
  saveSnapshot(key?: string): Promise<SnapshotReport>;
  /**
   * Power off if running, then resume the state stored under `key` instead of booting. A snapshot of
   * another configuration is refused with a sentence naming the difference; nothing is restored then.
   * Container host: boxd's containers keep running and come back as `container` updates.
   */
  resumeSnapshot(key: string): Promise<SnapshotReport>;

  // ---- for the experiments' Driver (src/core/experiments/driver.ts)

  /**
   * Type `text` on a console (channel 0: the serial console; else a container terminal) and resolve
   * with everything printed after it up to the first match of `pattern` (a RegExp source). Rejects
   * after `timeoutMs` with the console's tail, and at once on a kernel panic (serial).
   */
  expect(channel: number, text: string, pattern: string, timeoutMs: number, flags?: string): Promise<ExpectReply>;
  /** Type on a console (0: serial; else a container terminal) without waiting for anything. */
  type(channel: number, text: string): Promise<void>;
  /** Everything a container started by runContainer printed (its last 256 KiB). */
  consoleText(channel: number): Promise<string>;
  /**
   * Container host: `box run` of `request` (containerArgv) over the mux, recorded like any container
   * (a save keeps it); its output is acknowledged by the worker, not by a terminal. Resolves after
   * STARTED and the first output or the exit; rejects with boxd's ERROR or after `timeoutMs`.
   */
  runContainer(request: ContainerRequest, timeoutMs: number): Promise<ContainerRun>;
  /** Resolves with the exit of a container's process; rejects after `timeoutMs`. */
  waitContainerExit(channel: number, timeoutMs: number): Promise<{ code: number | null; signal: number | null }>;
  containerStats(channel: number, timeoutMs: number): Promise<{ memoryBytes: number; cpuUsec: number; pids: number; pid1: number }>;
  /** `box rm -f`: remove it, wait for its exit (up to 20 s), free the channel. */
  dropContainer(channel: number): Promise<void>;
  /** A box verb over the mux (`['diff', 'c1']`): its text and code. */
  boxCmd(argv: string[], timeoutMs: number): Promise<{ code: number; text: string }>;
  /**
   * A box verb whose answer is a file, as bytes (`['save', 'busybox']`: an OCI archive; MuxHost.cmdBytes):
   * `bytes` is its stdout when `code` is 0, `stderr` its notes or error text. `onProgress(received)`
   * reports the answer's bytes so far, at most every 100 ms (src/runtime/machine-runtime.ts; a comlink proxy from the page).
   * Rejects when there is no container host, on boxd's ERROR, or after `timeoutMs`. Timed by the
   * worker's clock: `firstByteMs` from the request to the answer's first byte (boxd's own work, as
   * `save` builds the whole archive before it answers), `ms` to its last.
   */
  boxCmdBytes(
    argv: string[],
    timeoutMs: number,
    onProgress?: (received: number) => void,
  ): Promise<{ code: number; bytes: Uint8Array; stderr: string; firstByteMs?: number; ms?: number }>;
  /**
   * `box load` of an OCI archive handed over from the page (or Node), streamed into boxd over the
   * mux (LOAD, src/core/mux/PROTOCOL.md "Streamed load"): `name` is the archive's name in boxd's
   * messages. Resolves with `box load`'s exit code and text (0: "Loaded image: …" lines; 1: one line
   * saying what is wrong with the archive, nothing loaded). `onProgress(taken, total)` as boxd takes
   * the bytes, at most every 100 ms and once at the end. Rejects when there is no container host, on
   * boxd's ERROR (the stream failed: nothing was loaded), or when boxd takes nothing for `stallMs`
   * (aborted), or took every byte but gave no answer for `stallMs` (MuxHost.load: it may still load),
   * and at once when the host is powered off meanwhile (nothing was loaded). A cancel boxd confirmed
   * rejects with an Error named MUX_LOAD_ABORTED (src/core/mux/host.ts), kept across comlink.
   * Timed by the worker's clock: `takenMs` from LOAD to the LOAD_ACK of the last byte (the transfer
   * in; box load reads as the bytes come), `ms` to the answer (box load's checks and store after it).
   * `loadId` names the load for abortBoxLoad (the page's Cancel).
   */
  boxLoad(
    archive: Uint8Array,
    name: string,
    stallMs: number,
    onProgress?: (taken: number, total: number) => void,
    loadId?: string,
  ): Promise<{ code: number; text: string; takenMs: number; ms: number }>;
  /**
   * Stop the boxLoad named `loadId` (LOAD_ABORT): boxd drops what it staged and answers with its one
   * ERROR line (`box load: NAME: aborted by the host after N of M bytes: nothing was loaded`), with
   * which that boxLoad then rejects. Resolves false when no such load is in flight (it already ended:
   * its own answer stands; a load whose bytes are all in finishes, PROTOCOL.md "Streamed load").
   */
  abortBoxLoad(loadId: string): Promise<boolean>;
  /** The lazily read disk (VM: its disk; host: its image store): size, bytes fetched, bytes the guest wrote, chunk size. */
  diskStats(): Promise<{ size: number; bytesFetched: number; bytesWritten: number; chunkBytes: number } | undefined>;
  readDisk(start: number, length: number): Promise<Uint8Array>;
  /**
   * The running machine's state as a snapshot file (src/core/snapshot/format.ts: its configuration,
   * quiesced like saveSnapshot, not stored anywhere). `rawBytes`: v86's state before compression.
   */
  saveState(): Promise<{ file: Uint8Array; rawBytes: number }>;
  /**
   * The next power-on resumes this snapshot file instead of booting, through the same checked path
   * as resumeSnapshot: a file of another configuration fails that power-on with the difference.
   */
  restoreOnPowerOn(file: Uint8Array | undefined): Promise<void>;
  /** Wall ms and instructions since power-on. */
  stamp(): Promise<Stamp>;
}

/** A container to start: `box run -it --name <name> --hostname <name> [flags] <image> [command, default sh]`. */
export interface ContainerRequest {
  name: string;
  image: string;
  /** Extra `box run` flags before the image (`--privileged`, `--memory 32m`). */
  flags?: readonly string[];
  command?: readonly string[];
}

/** The `box run` argv of a request (the one place it is spelled). */
export function containerArgv(r: ContainerRequest): string[] {
  return ['-it', '--name', r.name, '--hostname', r.name, ...(r.flags ?? []), r.image, ...(r.command ?? ['sh'])];
}

/** What `expect` saw: the text printed after the call, up to and including the match, and when. */
export interface ExpectReply extends Stamp {
  printed: string;
}

/** A container started by `runContainer`, as its start went. */
export interface ContainerRun {
  channel: number;
  /** PID 1 in the host's PID namespace. */
  pid: number;
  /** boxd's CLOCK_MONOTONIC ms from 'received' to each step. */
  phases: { name: string; ms: number }[];
  /** Guest ms from 'received' to the first terminal byte; undefined if it printed nothing. */
  firstOutputMs?: number;
  /** Worker wall ms and host instructions from sending RUN to the first output (or the exit). */
  wallMs: number;
  instructions: number;
  /** Set when the process already ended (a command that is not a shell). */
  exit?: { code: number | null; signal: number | null };
}
