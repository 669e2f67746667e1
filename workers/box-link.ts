/**
 * The container host's side of the box mux inside its machine worker: MuxHost on v86's
 * virtio-console port 1 (src/core/mux's v86VirtioPort), plus the bookkeeping that turns RUN / STARTED / FIRST_OUTPUT into
 * container updates with start phases. Container terminal bytes go out with their channel.
 */
import type { V86 } from 'v86';
import { v86VirtioPort, type MuxHost, type Started, type V86VirtioPort } from '../src/core/mux/index.ts';
import { containerMarks, type ContainerUpdate } from '../src/core/machine/index.ts';
import { adoptChannels } from '../src/core/snapshot/index.ts';

/** A container terminal this link started (or adopted after a restore), as a snapshot records it. */
export interface LiveContainer {
  channel: number;
  name: string;
  image: string;
}

export interface BoxLinkHooks {
  output(channel: number, bytes: Uint8Array): void;
  ready(version: string): void;
  update(u: ContainerUpdate): void;
  /** Worker ms since host power-on, for cold-start timelines. */
  sincePowerOn(): number;
  /** Host guest instructions since power-on. */
  instructions(): number;
}

export class BoxLink {
  private readonly port: V86VirtioPort;
  private readonly mux: MuxHost;
  private readonly live = new Map<number, LiveContainer>();

  constructor(
    emulator: V86,
    private readonly hooks: BoxLinkHooks,
  ) {
    this.port = v86VirtioPort(emulator, 1);
    this.mux = this.port.host;
    void this.mux.ready.then((r) => hooks.ready(r.version));
  }

  get ready() {
    return this.mux.ready;
  }

  /** The mux itself, for the experiments' driver (workers/driver-ops.ts). */
  get host(): MuxHost {
    return this.mux;
  }

  async start(name: string, image: string): Promise<number> {
    const requestedAtMs = this.hooks.sincePowerOn();
    const requestedAtInstructions = this.hooks.instructions();
    let t0 = 0;
    let started: Started | undefined;
    let firstNs: bigint | undefined;
    let firstWallMs = 0;
    let firstInstructions = 0;
    const base = { name, requestedAtMs, requestedAtInstructions };
    const finish = (channel: number) => {
      if (!started || firstNs === undefined) return;
      try {
        const marks = containerMarks({ requestWallMs: firstWallMs, started, firstOutputNs: firstNs });
        this.hooks.update({ ...base, channel, state: 'running', pid: started.pid, marks, instructions: firstInstructions - requestedAtInstructions });
      } catch (err) {
        this.hooks.update({ ...base, channel, state: 'error', message: `start phases unreadable: ${err instanceof Error ? err.message : err}` });
      }
    };
    t0 = performance.now();
    const handle = this.mux.run(['-it', '--name', name, '--hostname', name, image, 'sh'], {
      output: (bytes) => this.hooks.output(handle.channel, bytes),
      started: (s) => {
        started = s;
        finish(handle.channel);
      },
      firstOutput: (ns) => {
        firstWallMs = performance.now() - t0;
        firstInstructions = this.hooks.instructions();
        firstNs = ns;
        finish(handle.channel);
      },
      exit: (s) => {
        const how = s.code !== null ? `exited with code ${s.code}` : s.signal !== null ? `killed by signal ${s.signal}` : 'stopped';
        this.hooks.update({ ...base, channel: handle.channel, state: 'exited', message: how });
      },
    });
    this.hooks.update({ ...base, channel: handle.channel, state: 'starting' });
    this.live.set(handle.channel, { channel: handle.channel, name, image });
    handle.started.catch((err: Error) => this.hooks.update({ ...base, channel: handle.channel, state: 'error', message: err.message }));
    return handle.channel;
  }

  input(channel: number, bytes: Uint8Array): void {
    this.mux.input(channel, bytes);
  }

  ack(channel: number, bytes: number): void {
    this.mux.ack(channel, bytes);
  }

  resize(channel: number, cols: number, rows: number): void {
    this.mux.resize(channel, cols, rows);
  }

  /** Containers with a terminal on this link and the credit boxd holds for each (for a snapshot). */
  liveContainers(): (LiveContainer & { guestCredit: number })[] {
    return [...this.live.values()].map((c) => ({ ...c, guestCredit: this.mux.guestCredit(c.channel) }));
  }

  /**
   * After a restore: boxd still serves these terminals. Take their channels out of circulation, resync
   * credit, and route their output again; each is reported as a running container.
   */
  adopt(containers: readonly (LiveContainer & { guestCredit: number })[]): void {
    adoptChannels(this.mux, containers);
    for (const c of containers) {
      this.live.set(c.channel, { channel: c.channel, name: c.name, image: c.image });
      this.mux.listen(c.channel, {
        output: (bytes) => this.hooks.output(c.channel, bytes),
        exit: (s) => this.hooks.update({ channel: c.channel, name: c.name, state: 'exited', message: s.code !== null ? `exited with code ${s.code}` : 'stopped' }),
      });
      this.hooks.update({ channel: c.channel, name: c.name, state: 'running' });
    }
  }

  remove(channel: number): void {
    this.live.delete(channel);
    this.mux.remove(channel);
    this.mux.release(channel);
  }

  close(): void {
    this.port.close();
  }
}
