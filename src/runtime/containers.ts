/**
 * The container host's containers, inside its machine worker: the box mux to boxd (MuxHost on v86's
 * virtio-console port 1, src/core/mux v86VirtioPort) and the one registry of the containers on it,
 * whoever started them (a card, a race, an experiment, or a restore that adopted them). A container
 * is started and stamped here only: RUN → STARTED → FIRST_OUTPUT become `container` updates with
 * start phases, and a ContainerRun for the experiments' driver. A snapshot records every entry.
 */
import type { LoadOptions, MuxHost, Started } from '../core/mux/index.ts';
import { containerArgv, containerMarks, type ContainerRequest, type ContainerRun, type ContainerUpdate, type Stamp } from '../core/machine/index.ts';
import { adoptChannels } from '../core/snapshot/index.ts';

/** A container terminal as a snapshot records it. */
export interface LiveContainer {
  channel: number;
  name: string;
  image: string;
}

export type ContainerExit = { code: number | null; signal: number | null };
export type ContainerStats = { memoryBytes: number; cpuUsec: number; pids: number; pid1: number };

/** A driven container keeps at most this much text for consoleText(). */
const LOG_LIMIT = 256 * 1024;

interface Container extends LiveContainer {
  /**
   * Started by the experiments' driver: its bytes are acknowledged here (a driver must not stall on
   * a hidden terminal) and kept as text; a card's container is acknowledged by its terminal.
   */
  driven: boolean;
  log: string;
  decoder: TextDecoder;
  exit?: ContainerExit;
  exitWaiters: ((e: ContainerExit) => void)[];
  statsWaiters: ((s: ContainerStats) => void)[];
}

export interface ContainerHostHooks {
  /** Terminal bytes for the page (the caller may batch them; order per channel must hold). */
  output(channel: number, bytes: Uint8Array): void;
  /** A driven container's bytes as text, for console waiters (console-watch.ts). */
  text(channel: number, text: string): void;
  ready(version: string): void;
  update(u: ContainerUpdate): void;
  /** Worker wall ms and host guest instructions since power-on. */
  stamp(): Stamp;
}

const exitText = (s: ContainerExit) => (s.code !== null ? `exited with code ${s.code}` : s.signal !== null ? `killed by signal ${s.signal}` : 'stopped');

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** The box mux and how to close its transport (src/core/mux v86VirtioPort on virtio-console port 1). */
export interface MuxLink {
  readonly host: MuxHost;
  close(): void;
}

export class ContainerHost {
  private readonly mux: MuxHost;
  private readonly containers = new Map<number, Container>();

  constructor(
    private readonly link: MuxLink,
    private readonly hooks: ContainerHostHooks,
  ) {
    this.mux = link.host;
    void this.mux.ready.then((r) => hooks.ready(r.version));
  }

  get ready() {
    return this.mux.ready;
  }

  /** The mux itself, for requests outside the registry (a lesson's check: src/runtime/lesson-checks.ts). */
  get muxHost(): MuxHost {
    return this.mux;
  }

  /** A card's or race's container: resolves with its channel at once; progress comes as updates. */
  start(request: ContainerRequest): number {
    const { channel, started } = this.launch(request, false);
    started.catch(() => {}); // reported as an 'error' update
    return channel;
  }

  /** The driver's container: resolves after STARTED and its first output (or exit), with its stamps. */
  async run(request: ContainerRequest, timeoutMs: number): Promise<ContainerRun> {
    const { channel, started, first, stamps } = this.launch(request, true, timeoutMs);
    const s = await started;
    await withTimeout(first, timeoutMs, `container ${request.name}: no output within ${Math.round(timeoutMs / 1000)} s`);
    const { at, firstNs } = stamps();
    const t = s.phases[0]?.ns ?? 0n;
    return {
      channel,
      pid: s.pid,
      phases: s.phases.map((p) => ({ name: p.name, ms: Number(p.ns - t) / 1e6 })),
      firstOutputMs: firstNs === undefined ? undefined : Number(firstNs - t) / 1e6,
      wallMs: at.wallMs,
      instructions: at.instructions,
      exit: this.containers.get(channel)?.exit,
    };
  }

  /**
   * Send RUN, record the container, and stamp its start: request → first output (FIRST_OUTPUT, which
   * boxd sends before the first OUTPUT, or the exit of a process that printed nothing) in worker
   * wall ms and host instructions; `running` with boxd's phases once STARTED and the first output are in.
   */
  private launch(request: ContainerRequest, driven: boolean, timeoutMs?: number) {
    const { name, image } = request;
    const at0 = this.hooks.stamp();
    const t0 = performance.now();
    const base = { name, image, requestedAtMs: at0.wallMs, requestedAtInstructions: at0.instructions };
    const c: Container = { channel: 0, name, image, driven, log: '', decoder: new TextDecoder(), exitWaiters: [], statsWaiters: [] };
    let started: Started | undefined;
    let firstNs: bigint | undefined;
    let atFirst: Stamp | undefined;
    let sawFirst: () => void = () => {};
    const first = new Promise<void>((r) => (sawFirst = r));
    const mark = () => {
      atFirst ??= { wallMs: performance.now() - t0, instructions: this.hooks.stamp().instructions - at0.instructions };
      sawFirst();
    };
    const announce = () => {
      if (!started || firstNs === undefined || !atFirst) return;
      try {
        const marks = containerMarks({ requestWallMs: atFirst.wallMs, started, firstOutputNs: firstNs });
        this.hooks.update({ ...base, channel: c.channel, state: 'running', pid: started.pid, marks, instructions: atFirst.instructions });
      } catch (err) {
        this.hooks.update({ ...base, channel: c.channel, state: 'error', message: `start phases unreadable: ${err instanceof Error ? err.message : err}` });
      }
    };
    const handle = this.mux.run(
      containerArgv(request),
      {
        output: (bytes) => {
          if (driven) this.mux.ack(c.channel, bytes.length);
          this.received(c, bytes);
          mark();
        },
        started: (s) => {
          started = s;
          announce();
        },
        firstOutput: (ns) => {
          firstNs = ns;
          mark();
          announce();
        },
        exit: (s) => {
          mark();
          this.exited(c, { code: s.code, signal: s.signal }, base);
        },
        stats: (s) => {
          const v = { memoryBytes: Number(s.memoryBytes), cpuUsec: Number(s.cpuUsec), pids: s.pids, pid1: s.pid1 };
          for (const f of c.statsWaiters.splice(0)) f(v);
        },
      },
      timeoutMs,
    );
    c.channel = handle.channel;
    this.containers.set(c.channel, c);
    this.hooks.update({ ...base, channel: c.channel, state: 'starting' });
    const ok = handle.started.catch((err: Error) => {
      // Nothing runs on the channel (the mux freed it): it is no container of this host.
      this.containers.delete(c.channel);
      this.hooks.update({ ...base, channel: c.channel, state: 'error', message: err.message });
      throw new Error(err.message);
    });
    return { channel: c.channel, started: ok, first, stamps: () => ({ at: atFirst!, firstNs }) };
  }

  private received(c: Container, bytes: Uint8Array) {
    if (c.driven) {
      const text = c.decoder.decode(bytes, { stream: true });
      c.log = (c.log + text).slice(-LOG_LIMIT);
      this.hooks.text(c.channel, text);
      // A copy: the page's copy is transferred, and the mux may still own the buffer.
      this.hooks.output(c.channel, bytes.slice());
    } else this.hooks.output(c.channel, bytes);
  }

  private exited(c: Container, e: ContainerExit, base: Partial<ContainerUpdate> = {}) {
    c.exit = e;
    for (const f of c.exitWaiters.splice(0)) f(e);
    this.hooks.update({ ...base, channel: c.channel, name: c.name, state: 'exited', message: exitText(e) });
  }

  input(channel: number, bytes: Uint8Array | string): void {
    this.mux.input(channel, bytes);
  }

  ack(channel: number, bytes: number): void {
    this.mux.ack(channel, bytes);
  }

  resize(channel: number, cols: number, rows: number): void {
    this.mux.resize(channel, cols, rows);
  }

  /** A box verb over the mux (`['diff', 'c1']`). */
  cmd(argv: string[], timeoutMs: number) {
    return this.mux.cmd(argv, timeoutMs);
  }

  /** A box verb whose answer is bytes (`['save', 'busybox']`), with the bytes received so far. */
  cmdBytes(argv: string[], timeoutMs: number, onBytes?: (received: number) => void) {
    return this.mux.cmdBytes(argv, timeoutMs, onBytes);
  }

  /** `box load` of an OCI archive sent over the mux (LOAD, PROTOCOL.md "Streamed load"). */
  load(archive: Uint8Array, opts: LoadOptions) {
    return this.mux.load(archive, opts);
  }

  /** Every container on this link and the credit boxd holds for each (for a snapshot). */
  liveContainers(): (LiveContainer & { guestCredit: number })[] {
    return [...this.containers.values()].map((c) => ({ channel: c.channel, name: c.name, image: c.image, guestCredit: this.mux.guestCredit(c.channel) }));
  }

  /**
   * After a restore: boxd still serves these terminals. Take their channels out of circulation, resync
   * credit, and route their output again; each is reported as a running container.
   */
  adopt(containers: readonly (LiveContainer & { guestCredit: number })[]): void {
    adoptChannels(this.mux, containers);
    for (const saved of containers) {
      const c: Container = {
        channel: saved.channel,
        name: saved.name,
        image: saved.image,
        driven: false,
        log: '',
        decoder: new TextDecoder(),
        exitWaiters: [],
        statsWaiters: [],
      };
      this.containers.set(c.channel, c);
      this.mux.listen(c.channel, {
        output: (bytes) => this.received(c, bytes),
        exit: (s) => this.exited(c, { code: s.code, signal: s.signal }),
      });
      this.hooks.update({ channel: c.channel, name: c.name, image: c.image, state: 'running' });
    }
  }

  /** A driven container's text so far (its last 256 KiB). */
  consoleText(channel: number): string {
    return this.containers.get(channel)?.log ?? '';
  }

  waitExit(channel: number, timeoutMs: number): Promise<ContainerExit> {
    const c = this.containers.get(channel);
    if (!c) return Promise.reject(new Error(`no container on terminal ${channel}`));
    if (c.exit) return Promise.resolve(c.exit);
    return withTimeout(
      new Promise((resolve) => c.exitWaiters.push(resolve)),
      timeoutMs,
      `container ${c.name}: still running after ${Math.round(timeoutMs / 1000)} s`,
    );
  }

  stats(channel: number, timeoutMs: number): Promise<ContainerStats> {
    const c = this.containers.get(channel);
    if (!c) return Promise.reject(new Error(`no container on terminal ${channel}`));
    const reply = new Promise<ContainerStats>((resolve) => c.statsWaiters.push(resolve));
    this.mux.requestStats(channel);
    return withTimeout(reply, timeoutMs, `container ${c.name}: no STATS within ${Math.round(timeoutMs / 1000)} s`);
  }

  /** A card's Remove: kill it and free the channel at once. */
  remove(channel: number): void {
    this.containers.delete(channel);
    this.mux.remove(channel);
    this.mux.release(channel);
  }

  /** The driver's `box rm -f`: remove it, wait for its exit (up to 20 s), free the channel. */
  async drop(channel: number): Promise<void> {
    const c = this.containers.get(channel);
    if (!c) return;
    if (!c.exit) {
      this.mux.remove(channel);
      await this.waitExit(channel, 20_000).catch(() => {});
    }
    this.containers.delete(channel);
    this.mux.release(channel);
  }

  /** The machine went away: whoever waits for an exit hears of none. */
  close(): void {
    for (const c of this.containers.values()) for (const f of c.exitWaiters.splice(0)) f({ code: null, signal: null });
    this.link.close();
  }
}
