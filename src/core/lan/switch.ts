/**
 * A learning Ethernet switch for the page's LAN: each machine is a port; the switch learns which
 * source MAC lives behind which port, forwards known unicast to that one port and floods broadcast,
 * multicast and unknown unicast to every other port. It exists once per page (or per test), never
 * on a BroadcastChannel, so only machines plugged into this instance share the LAN.
 *
 * Each port has an egress queue with a cap in frames and bytes and a credit window: at most
 * `window` frames are handed to the machine before it acknowledges them (after putting them into its
 * NIC). A machine that stops reading (paused, busy, flooded) fills its queue up to the cap; further
 * frames for it are dropped and counted, like a real switch's tail drop, so a flood cannot eat memory.
 */
import { checkFrame, isGroupDestination, macKey, ETH_MAX_FRAME } from './frame.ts';

export interface SwitchOptions {
  /** Frames queued per port before tail drop. */
  queueFrames?: number;
  /** Bytes queued per port before tail drop. */
  queueBytes?: number;
  /** Frames handed to a port's machine before it must acknowledge. */
  window?: number;
  maxFrame?: number;
  /** Defer a port's delivery (default: a microtask), so frames switched in one turn leave as one batch. */
  defer?: (fn: () => void) => void;
}

export interface SwitchCounters {
  /** Frames accepted from machines. */
  received: number;
  /** Frame copies handed to machines. */
  delivered: number;
  /** Frames sent to every other port (broadcast, multicast, unknown destination). */
  flooded: number;
  runts: number;
  giants: number;
  /** Frames with a group address as source. */
  badSource: number;
  /** Frame copies dropped because a port's queue was full. */
  queueDrops: number;
  /** Frames whose destination sits on the port they came from (filtered, as a real switch does). */
  filtered: number;
}

/** Where a port delivers: called with a batch; the machine later calls `ack(n)` for the frames it took. */
export type PortSink = (frames: Uint8Array[]) => void;

export interface PortCounters {
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  queueDrops: number;
}

const g = globalThis as unknown as { queueMicrotask(fn: () => void): void };

export class EthernetSwitch {
  readonly counters: SwitchCounters = { received: 0, delivered: 0, flooded: 0, runts: 0, giants: 0, badSource: 0, queueDrops: 0, filtered: 0 };
  private readonly ports = new Set<SwitchPort>();
  private readonly table = new Map<number, SwitchPort>();
  private nextId = 1;
  readonly queueFrames: number;
  readonly queueBytes: number;
  readonly window: number;
  readonly maxFrame: number;
  readonly defer: (fn: () => void) => void;

  constructor(opts: SwitchOptions = {}) {
    this.queueFrames = opts.queueFrames ?? 256;
    this.queueBytes = opts.queueBytes ?? 512 * 1024;
    this.window = opts.window ?? 64;
    this.maxFrame = opts.maxFrame ?? ETH_MAX_FRAME;
    this.defer = opts.defer ?? ((fn) => g.queueMicrotask(fn));
  }

  /** Plug a machine in. `label` is for the page ("vm-2"). */
  connect(sink: PortSink, label = ''): SwitchPort {
    const port = new SwitchPort(this, this.nextId++, label, sink);
    this.ports.add(port);
    return port;
  }

  get portCount(): number {
    return this.ports.size;
  }

  /** MAC table size (learned addresses). */
  get learned(): number {
    return this.table.size;
  }

  /** The MAC addresses learned so far ("02:86:…"), i.e. every machine this LAN has heard from. */
  learnedMacs(): string[] {
    return [...this.table.keys()].map((k) =>
      k
        .toString(16)
        .padStart(12, '0')
        .replace(/(..)(?!$)/g, '$1:'),
    );
  }

  /** @internal */
  unplug(port: SwitchPort) {
    this.ports.delete(port);
    for (const [mac, p] of this.table) if (p === port) this.table.delete(mac);
  }

  /** @internal A frame from a machine, already copied (the switch keeps it). */
  ingress(from: SwitchPort, frame: Uint8Array) {
    const verdict = checkFrame(frame, this.maxFrame);
    if (verdict !== 'ok') {
      if (verdict === 'runt') this.counters.runts++;
      else if (verdict === 'giant') this.counters.giants++;
      else this.counters.badSource++;
      return;
    }
    this.counters.received++;
    from.counters.rxFrames++;
    from.counters.rxBytes += frame.length;
    // Learn (or move) the source; a machine that moved to another port is found again at once.
    this.table.set(macKey(frame, 6), from);
    const known = isGroupDestination(frame) ? undefined : this.table.get(macKey(frame, 0));
    if (known) {
      if (known === from) this.counters.filtered++;
      else known.enqueue(frame);
      return;
    }
    this.counters.flooded++;
    // Every copy may be queued on another port: each port gets its own view of the same bytes
    // (read-only on the way out; machines copy frames into their NIC).
    for (const p of this.ports) if (p !== from) p.enqueue(frame);
  }
}

export class SwitchPort {
  readonly counters: PortCounters = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, queueDrops: 0 };
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private inFlight = 0;
  private scheduled = false;
  private open = true;

  constructor(
    private readonly sw: EthernetSwitch,
    readonly id: number,
    readonly label: string,
    private readonly sink: PortSink,
  ) {}

  /** A frame from this port's machine. The bytes are copied, so the caller may reuse its buffer. */
  send(frame: Uint8Array) {
    if (!this.open) return;
    this.sw.ingress(this, frame.slice());
  }

  /** Frames the switch owns already (e.g. just received over a MessagePort): no copy. */
  sendOwned(frame: Uint8Array) {
    if (!this.open) return;
    this.sw.ingress(this, frame);
  }

  /** The machine took `n` frames into its NIC: that many more may be handed over. */
  ack(n: number) {
    this.inFlight = Math.max(0, this.inFlight - n);
    this.schedule();
  }

  get queued(): number {
    return this.queue.length;
  }

  get unacknowledged(): number {
    return this.inFlight;
  }

  disconnect() {
    if (!this.open) return;
    this.open = false;
    this.queue = [];
    this.queuedBytes = 0;
    this.sw.unplug(this);
  }

  /** @internal */
  enqueue(frame: Uint8Array) {
    if (!this.open) return;
    if (this.queue.length >= this.sw.queueFrames || this.queuedBytes + frame.length > this.sw.queueBytes) {
      this.counters.queueDrops++;
      this.sw.counters.queueDrops++;
      return;
    }
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    this.schedule();
  }

  private schedule() {
    if (this.scheduled || !this.open || this.queue.length === 0 || this.inFlight >= this.sw.window) return;
    this.scheduled = true;
    this.sw.defer(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain() {
    if (!this.open) return;
    const n = Math.min(this.queue.length, this.sw.window - this.inFlight);
    if (n <= 0) return;
    const batch = this.queue.splice(0, n);
    for (const f of batch) {
      this.queuedBytes -= f.length;
      this.counters.txFrames++;
      this.counters.txBytes += f.length;
    }
    this.inFlight += n;
    this.sw.counters.delivered += n;
    this.sink(batch);
  }
}
