/**
 * The Driver: everything an experiment needs from the outside world, so the same experiment code
 * runs in the page and in Node. There is one implementation, machine-driver.ts (MachineDriver over
 * the machine workers' MachineApi), with a platform for the page (src/ui/compare/browser-driver.ts)
 * and one for Node (src/node/driver.ts: worker threads, files from disk).
 *
 * How to implement one:
 * - `bootVm` / `bootHost` power on a real v86 machine and resolve once it is usable: the VM logged
 *   in as root at a `# ` prompt on ttyS0, the container host at its root shell with boxd READY on
 *   the mux. They reject (and leave nothing running) on timeout or kernel panic, with the console tail.
 * - `run(cmd)` types `sentinelLine(cmd, n)` (src/core/experiments/shell.ts: the command between two
 *   markers, the second carrying `$?`) on the serial console and resolves with `parseSentinel`'s
 *   output and exit code. After login the driver types `stty -echo` once (see shell.ts for why).
 *   On timeout it rejects with a `TimeoutError` (a machine that stopped answering).
 * - A container's `run()` does the same on its mux terminal.
 * - Figures: `wallMs` from the driver's clock, `instructions` from v86's instruction counter of that
 *   machine, guest clock figures from the guest itself (boxd's CLOCK_MONOTONIC stamps).
 * - `stop()` / `remove()` are idempotent and never throw for an already dead machine.
 *
 * Experiments must not reach past this interface (no v86 internals, no fs, no fetch).
 */

/** Wall ms and guest instructions since the machine's power-on. */
export interface Stamp {
  wallMs: number;
  instructions: number;
}

export interface BootMark extends Stamp {
  /** Phase that starts here: 'bootloader', 'kernel', 'init', 'services', 'login', 'boxd', 'ready' (src/core/machine/phases.ts). */
  phase: string;
}

export interface BootRecord {
  /** Download + emulator construction before power-on (0 when everything was already local). */
  loadMs: number;
  /** Phase marks in order; the first phase ('bios') starts at power-on = 0. */
  marks: BootMark[];
  /** Power-on → usable (VM: login prompt; host: host ready), or for a restored state: restore → usable. */
  ready: Stamp;
  /** True when the machine came from `restore` (a saved state) instead of a cold power-on. */
  restored: boolean;
}

export interface BootOptions {
  /** Guest RAM in MiB (power of two, 16..1024); default: the profile's (VM 64, host 128). */
  memoryMb?: number;
  /** Give the machine a NIC on the page's in-browser LAN (the "lan" helper's networking). */
  network?: { type: 'ne2k' | 'virtio' };
  /** Resume from a state saved with `saveState()` of the same kind of machine: a warm start. */
  restore?: SavedState;
  /** Give up after this long (Node default 180 s: machines slow down when many boot at once on a loaded box). */
  timeoutMs?: number;
  /** Name for logs and progress ("vm-3"). */
  label?: string;
}

export interface RunOptions {
  /** Default 30 s. */
  timeoutMs?: number;
}

export interface RunResult {
  output: string;
  exitCode: number;
}

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** An opaque v86 state (`save_state()`), only good for `restore` on the same driver. */
export interface SavedState {
  readonly kind: 'vm' | 'host';
  readonly bytes: number;
}

export interface DiskStats {
  /** Size of the disk image. */
  size: number;
  /** Bytes the LazyDisk fetched from the image source so far (whole chunks). */
  bytesFetched: number;
  /** Bytes the guest wrote to the disk (256-byte blocks, counted once). */
  bytesWritten: number;
}

export interface MachineStats extends Stamp {
  /** Guest RAM given to the machine. */
  memoryMb: number;
}

export interface PanicInfo extends Stamp {
  /** The "Kernel panic - not syncing: …" line. */
  line: string;
}

export interface MachineHandle {
  readonly kind: 'vm' | 'host';
  readonly label: string;
  readonly memoryMb: number;
  readonly boot: BootRecord;
  run(cmd: string, opts?: RunOptions): Promise<RunResult>;
  /** Type on the serial console without waiting for anything (for commands that never return). */
  type(text: string): void;
  /** Resolves when `re` appears in console output printed after this call. */
  waitFor(re: RegExp, timeoutMs: number): Promise<Stamp>;
  /** Set once the kernel panicked (the machine is then dead: run() would time out). */
  readonly panic: PanicInfo | undefined;
  /** Does the shell answer an `echo` within `timeoutMs`? False for a panicked or hung machine. */
  alive(timeoutMs?: number): Promise<boolean>;
  stats(): Promise<MachineStats>;
  /** A v86 state snapshot of the machine as it is now (for warm starts). */
  saveState(): Promise<SavedState>;
  stop(): Promise<void>;
}

export interface VmHandle extends MachineHandle {
  readonly kind: 'vm';
  disk(): Promise<DiskStats>;
  /** The disk's current bytes (image with the guest's writes on top), from outside the guest. */
  readDisk(start: number, length: number): Promise<Uint8Array>;
}

export interface ContainerOptions {
  /** Container name (and hostname); default chosen by the driver (unique per host). */
  name?: string;
  /** Extra `box run` flags before the image, e.g. ['--privileged'] or ['--memory', '12m']. */
  flags?: string[];
  /**
   * Command and arguments; default ['sh'], after whose first output the driver types `stty -echo`
   * (src/core/experiments/shell.ts) so run() works. [] = the image's own command. Always with -it.
   */
  command?: string[];
  /** Default 60 s for STARTED and the first output. */
  timeoutMs?: number;
}

/** A start as boxd stamped it (guest CLOCK_MONOTONIC) and as the driver saw it. */
export interface ContainerStart {
  /** Guest ms from the request (boxd 'received') to each phase, in START_PHASES order (src/core/mux/payloads.ts). */
  phases: { name: string; ms: number }[];
  /** Guest ms request → first byte on the terminal (undefined if it printed nothing). */
  firstOutputMs: number | undefined;
  /** Driver wall ms from sending RUN to the first output (or exit). */
  wallMs: number;
  /** Host guest instructions from sending RUN to the first output (or exit). */
  instructions: number;
}

export interface ContainerStats {
  /** The container's memory in use: cgroup memory.current − inactive_file (as docker stats counts). */
  memoryBytes: number;
  cpuUsec: number;
  pids: number;
  /** PID 1 of the container as the host sees it. */
  pid1: number;
}

export interface ContainerExit {
  code: number | null;
  signal: number | null;
}

export interface ContainerHandle {
  readonly name: string;
  /** Its mux terminal channel. */
  readonly channel: number;
  /** PID 1 of the container in the host's PID namespace. */
  readonly pid: number;
  readonly start: ContainerStart;
  run(cmd: string, opts?: RunOptions): Promise<RunResult>;
  /** Type on its terminal without waiting. */
  type(text: string): void;
  /** Everything its terminal printed so far (its last 256 KiB, kept by the machine worker). */
  output(): Promise<string>;
  /** Set once its process exited (a command that is not a shell, a crash, a kill). */
  readonly exit: ContainerExit | undefined;
  /** Resolves when it exits (never for a shell that keeps running, unless `timeoutMs` rejects first). */
  waitExit(timeoutMs: number): Promise<ContainerExit>;
  alive(timeoutMs?: number): Promise<boolean>;
  stats(): Promise<ContainerStats>;
  /** `box rm -f`: kill and remove; idempotent. */
  remove(): Promise<void>;
}

export interface HostHandle extends MachineHandle {
  readonly kind: 'host';
  /**
   * `box run [-it] --name N --hostname N <flags> <image> <command>` over the mux. Resolves after
   * STARTED and the first output (or the exit, for a command that ends at once); rejects with boxd's
   * ERROR message when the start is refused.
   */
  startContainer(image: string, opts?: ContainerOptions): Promise<ContainerHandle>;
  /** A `box` verb over the mux (`['diff', 'c1']`, `['inspect', 'c1']`); what it printed and its code. */
  box(argv: string[], opts?: RunOptions): Promise<RunResult>;
  /**
   * `box save IMAGE` over the mux: the OCI archive's bytes, out of the host into the driver.
   * @throws Error with box save's own line when it fails (an unknown image), or a TimeoutError.
   */
  saveImage(image: string, opts?: RunOptions): Promise<SavedImage>;
  /**
   * `box load` of an OCI archive sent from the driver into this host over the mux (streamed, no file
   * in the guest): what box load printed and its exit code (1: a bad archive, nothing loaded).
   * `timeoutMs` is how long boxd may take no bytes. Throws when the stream fails (boxd's ERROR).
   */
  loadImage(archive: Uint8Array, name: string, opts?: RunOptions): Promise<LoadedImage>;
}

/** An image's OCI archive out of a host (HostHandle.saveImage), timed by the machine worker's clock. */
export interface SavedImage {
  bytes: Uint8Array;
  /** Request → the first byte of the answer: box save's own work (it builds the archive, then sends it). */
  saveMs: number;
  /** First → last byte: the archive crossing the mux out of the guest. */
  transferMs: number;
}

/** What `box load` said of an archive streamed in (HostHandle.loadImage), timed by the machine worker's clock. */
export interface LoadedImage extends RunResult {
  /** LOAD → boxd took the last byte: the archive crossing the mux into the guest (box load reads as it comes). */
  transferMs: number;
  /** The last byte taken → box load's answer: its checks and store after the transfer. */
  loadMs: number;
}

export interface DriverFacts {
  /** 'node' or 'browser'. */
  runtime: string;
  /** Node version or browser user agent. */
  runtimeVersion: string;
  cpuModel: string;
  cores: number;
  v86Version: string;
  /** git commit of the build, when known. */
  commit?: string;
}

export interface Driver {
  readonly runtime: 'node' | 'browser';
  /** A file under images/dist, by its path there ('vm/disk.img', 'oci/index.json'). */
  readArtifact(path: string): Promise<Uint8Array>;
  /** Its size in bytes, without reading it all where the runtime allows. */
  artifactSize(path: string): Promise<number>;
  bootVm(opts?: BootOptions): Promise<VmHandle>;
  bootHost(opts?: BootOptions): Promise<HostHandle>;
  /** Monotonic wall clock in ms (performance.now()). */
  now(): number;
  facts(): Promise<DriverFacts>;
}
