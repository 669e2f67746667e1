/**
 * The LAN cable between a machine worker and the page's switch: one MessagePort per machine
 * (never a BroadcastChannel, so nothing outside this page can join). Frames travel in batches;
 * the machine acknowledges the frames it put into its NIC, which opens the switch port's window.
 */
import type { EthernetSwitch, SwitchPort } from './switch.ts';
import { plugNic, type NicCable } from './v86-nic.ts';

export type LanMessage =
  /** Either direction: Ethernet frames. */
  | { type: 'frames'; frames: Uint8Array[] }
  /** Machine → switch: this many frames went into the NIC. */
  | { type: 'ack'; count: number };

/** The part of a MessagePort used here (src/core has no DOM typings; browser and Node ports fit). */
export interface LanPortLike {
  postMessage(message: unknown, transfer?: unknown[]): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  start?(): void;
  close(): void;
}

function isLanMessage(m: unknown): m is LanMessage {
  if (!m || typeof m !== 'object') return false;
  const t = (m as { type?: unknown }).type;
  if (t === 'ack') return Number.isInteger((m as { count?: unknown }).count);
  return t === 'frames' && Array.isArray((m as { frames?: unknown }).frames);
}

/**
 * Page side: plug the switch end of a MessagePort into `sw`. Malformed messages are ignored (and
 * counted by the switch when they are bad frames), so a confused worker cannot break the LAN.
 */
export function connectPortToSwitch(sw: EthernetSwitch, port: LanPortLike, label = ''): SwitchPort {
  const sp = sw.connect((frames) => {
    // Copies, not transfers: a flooded frame goes to several ports.
    port.postMessage({ type: 'frames', frames } satisfies LanMessage);
  }, label);
  port.onmessage = (e) => {
    const m = e.data;
    if (!isLanMessage(m)) return;
    if (m.type === 'ack') sp.ack(m.count);
    else for (const f of m.frames) if (f instanceof Uint8Array) sp.sendOwned(f);
  };
  port.start?.();
  const disconnect = sp.disconnect.bind(sp);
  sp.disconnect = () => {
    disconnect();
    port.onmessage = null;
    port.close();
  };
  return sp;
}

/** Worker side: the emulator's NIC on the machine end of the port. */
export function connectNicToPort(emulator: object, port: LanPortLike): NicCable {
  const cable = plugNic(emulator, {
    send(frames) {
      port.postMessage(
        { type: 'frames', frames } satisfies LanMessage,
        frames.map((f) => f.buffer),
      );
    },
    ack(count) {
      port.postMessage({ type: 'ack', count } satisfies LanMessage);
    },
  });
  port.onmessage = (e) => {
    const m = e.data;
    if (isLanMessage(m) && m.type === 'frames') cable.deliver(m.frames.filter((f) => f instanceof Uint8Array));
  };
  port.start?.();
  // Unplugging leaves the port open: the machine can power on again on the same cable.
  const unplug = cable.unplug.bind(cable);
  return Object.assign(cable, {
    unplug() {
      unplug();
      port.onmessage = null;
    },
  });
}

/** In-process (Node tests and bench): the emulator's NIC straight on a switch port. */
export function connectNicToSwitch(emulator: object, sw: EthernetSwitch, label = ''): { cable: NicCable; port: SwitchPort } {
  let cable: NicCable | undefined;
  const port = sw.connect((frames) => cable?.deliver(frames), label);
  cable = plugNic(emulator, {
    send(frames) {
      for (const f of frames) port.sendOwned(f);
    },
    ack: (n) => port.ack(n),
  });
  return { cable, port };
}
