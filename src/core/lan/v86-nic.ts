/**
 * The machine end of a LAN cable: a v86 NIC (NE2000 or virtio-net) on one side, a switch port
 * (in-process or over a MessagePort) on the other.
 *
 * Frames leave the guest as the bus event `net0-send` and enter with `bus.send('net0-receive', f)`
 * (v86 0.5.462, src/ne2k.js and src/virtio_net.js). Neither NIC pushes back: the NE2000 drops a frame
 * when its 16 KiB receive ring is full and virtio-net drops one when the guest has posted no receive
 * buffer. Dropped TCP segments cost a retransmission timeout, so frames for the guest wait here until
 * the NIC has room, and only then are acknowledged to the switch (its credit window).
 *
 * v86 internals used (property names Closure keeps in the release build, as src/core/mux/v86-port.ts):
 *   emulator.v86.cpu.devices.net            Ne2k: mac, memory (PROM at 0..11), cr, boundary, curpg, pstart, pstop
 *   emulator.v86.cpu.devices.virtio_net     VirtioNet: mac, virtio.queues[0].has_request()
 * v86 has no option for the MAC address (it draws 00:22:15:xx:xx:xx at random), so `setNicMac` writes
 * it into the device before the guest runs.
 */
import { formatMac, parseMac } from './frame.ts';

interface Ne2kShape {
  mac: Uint8Array;
  memory: Uint8Array;
  cr: number;
  boundary: number;
  curpg: number;
  pstart: number;
  pstop: number;
}

interface VirtioNetShape {
  mac: Uint8Array;
  virtio?: { queues?: { has_request(): boolean }[] };
}

interface V86Shape {
  add_listener(event: string, fn: (data: Uint8Array) => void): void;
  remove_listener(event: string, fn: (data: Uint8Array) => void): void;
  bus: { send(event: string, data: Uint8Array): void };
  v86?: { cpu?: { devices?: { net?: Ne2kShape; virtio_net?: VirtioNetShape } } };
}

type Timer = { readonly __t: unique symbol } | number;
const g = globalThis as unknown as {
  queueMicrotask(fn: () => void): void;
  setTimeout(fn: () => void, ms: number): Timer;
  clearTimeout(t: Timer): void;
};

function devices(emulator: object) {
  return (emulator as V86Shape).v86?.cpu?.devices;
}

/** Which NIC the emulator has, once it has loaded. */
export function nicKind(emulator: object): 'ne2k' | 'virtio' | undefined {
  const d = devices(emulator);
  if (d?.virtio_net) return 'virtio';
  if (d?.net) return 'ne2k';
  return undefined;
}

/** The NIC's current MAC address ("02:86:..."), or undefined before the emulator loaded. */
export function nicMac(emulator: object): string | undefined {
  const d = devices(emulator);
  const mac = d?.virtio_net?.mac ?? d?.net?.mac;
  return mac ? formatMac(mac) : undefined;
}

/**
 * Give the NIC this MAC address. Call after `emulator-loaded` and before the guest runs (the driver
 * reads the address when it probes). The NE2000 also keeps it in its station-address PROM, where the
 * Linux ne2k-pci driver reads it from.
 */
export function setNicMac(emulator: object, mac: string) {
  const bytes = parseMac(mac);
  const d = devices(emulator);
  if (d?.virtio_net) {
    d.virtio_net.mac = bytes;
    return;
  }
  const ne2k = d?.net;
  if (!ne2k || !(ne2k.mac instanceof Uint8Array) || !(ne2k.memory instanceof Uint8Array)) {
    throw new Error('setNicMac: the emulator has no NIC (or v86 changed its shape)');
  }
  ne2k.mac = bytes;
  // PROM: each byte twice (word-wide reads), as Ne2k's constructor lays it out.
  for (let i = 0; i < 6; i++) ne2k.memory[i << 1] = ne2k.memory[(i << 1) | 1] = bytes[i]!;
}

/** Can the NIC take a frame of `length` bytes now without dropping it? */
export function nicHasRoom(emulator: object, length: number): boolean {
  const d = devices(emulator);
  if (d?.virtio_net) return d.virtio_net.virtio?.queues?.[0]?.has_request() ?? false;
  const n = d?.net;
  if (!n) return false;
  // Stopped NIC: it drops whatever comes, so there is no point holding frames back.
  if (n.cr & 1) return true;
  const available = n.boundary > n.curpg ? n.boundary - n.curpg : n.pstop - n.curpg + n.boundary - n.pstart;
  const needed = 1 + ((Math.max(60, length) + 4) >> 8);
  return available >= needed || n.boundary === 0;
}

/** What the NIC end talks to: a switch port in-process, or a MessagePort link to one. */
export interface LanUplink {
  /** Frames the guest sent (copies, owned by the receiver). */
  send(frames: Uint8Array[]): void;
  /** `n` frames from the switch went into the NIC. */
  ack(n: number): void;
}

export interface NicCounters {
  txFrames: number;
  rxFrames: number;
  /** Times delivery had to wait for the NIC to free room. */
  waits: number;
}

export interface NicCable {
  /** Frames from the switch for this NIC. */
  deliver(frames: Uint8Array[]): void;
  readonly counters: NicCounters;
  readonly pending: number;
  unplug(): void;
}

/** Frames still undeliverable after this long are pushed anyway (the NIC drops them; the guest is stuck). */
const MAX_WAIT_MS = 2000;
const RETRY_MS = 1;

/** Connect a v86 emulator's NIC to an uplink. Works before or after the emulator has loaded. */
export function plugNic(emulator: object, uplink: LanUplink): NicCable {
  const e = emulator as V86Shape;
  if (typeof e.add_listener !== 'function' || typeof e.bus?.send !== 'function') {
    throw new TypeError('plugNic: not a V86 emulator (needs add_listener and bus.send)');
  }
  const counters: NicCounters = { txFrames: 0, rxFrames: 0, waits: 0 };
  let outbox: Uint8Array[] = [];
  let flushQueued = false;
  const inbox: Uint8Array[] = [];
  let retry: Timer | undefined;
  let waitingSince = 0;
  let open = true;

  const onSend = (frame: Uint8Array) => {
    // The NE2000 hands a view into its own memory: copy before the guest reuses it.
    outbox.push(frame.slice());
    counters.txFrames++;
    if (flushQueued) return;
    flushQueued = true;
    // Frames sent within one emulator slice leave as one batch.
    g.queueMicrotask(() => {
      flushQueued = false;
      const batch = outbox;
      outbox = [];
      if (open && batch.length) uplink.send(batch);
    });
  };
  e.add_listener('net0-send', onSend);

  const pump = () => {
    retry = undefined;
    if (!open) return;
    let n = 0;
    while (inbox.length) {
      const f = inbox[0]!;
      if (!nicHasRoom(emulator, f.length) && Date.now() - waitingSince < MAX_WAIT_MS) break;
      inbox.shift();
      e.bus.send('net0-receive', f);
      counters.rxFrames++;
      n++;
      waitingSince = Date.now();
    }
    if (n) uplink.ack(n);
    if (inbox.length) {
      counters.waits++;
      retry = g.setTimeout(pump, RETRY_MS);
    }
  };

  return {
    deliver(frames) {
      if (!open) return;
      if (inbox.length === 0) waitingSince = Date.now();
      inbox.push(...frames);
      if (retry === undefined) pump();
    },
    counters,
    get pending() {
      return inbox.length;
    },
    unplug() {
      open = false;
      e.remove_listener('net0-send', onSend);
      if (retry !== undefined) g.clearTimeout(retry);
      inbox.length = 0;
    },
  };
}
