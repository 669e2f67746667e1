// A MuxHost on a v86 virtio-console port. Bytes from the guest arrive as the bus event
// `virtio-console<port>-output-bytes`; bytes for the guest go out as `virtio-console<port>-input-bytes`,
// which v86 silently drops unless the guest has a buffer posted on the port's receive virtqueue.
//
// v86 internals used (same names in the debug and the release build, libv86.mjs 0.5.462 — Closure
// keeps these property names; checked by v86-port.test.ts against the release build):
//   emulator.v86.cpu.devices.virtio_console.virtio.queues[q].has_request()
// with q = 0 for port 0 and 2 * port + 2 otherwise (VirtioConsole in src/virtio_console.js).
// Before the emulator has loaded, the path is absent and canWrite() is false: input waits in the queue.
// Until the guest driver has enabled the queue, canWrite() is false too: the release build's
// has_request() does not check that the ring addresses are set, so before the driver runs it reads
// "requests" from guest memory at address 0 (the real-mode interrupt table) and a write would land
// wherever those bytes point, and the used ring would be written over the interrupt table (seen as
// host boots that hung silently or died with "offset is out of bounds" under load).
//
// v86 announces every port as a console (VirtioConsole's control handler answers PORT_READY with
// VIRTIO_CONSOLE_CONSOLE_PORT, then PORT_NAME and PORT_OPEN): Linux then drives the port through hvc
// and the tty layer, which takes input 16 bytes at a time (hvc_console.c N_INBUF) with a
// cond_resched() between pieces and n_tty's 4 KiB read buffer behind it, about 70 guest instructions
// per byte in. The mux port is withheld from that (withholdConsolePort): the guest makes it a generic
// port, the char device /dev/vport0p1 that boxd reads page-sized buffers from, as QEMU's
// `virtserialport` (against `virtconsole`) gives it. Internals used: the device
// emulator.v86.cpu.devices.virtio_console and its prototype method SendEvent(port, event, value).
import { MuxHost, type MuxHostOptions, type MuxTransport } from './host.ts';

interface VirtQueue {
  has_request(): boolean;
  /** Set when the guest driver enables the queue (after writing its ring addresses); cleared on reset. */
  enabled?: boolean;
}

/** v86's VirtioConsole device (src/virtio_console.js), the parts used here. */
interface VirtioConsoleDevice {
  virtio?: { queues?: VirtQueue[] };
  /** Puts a control event (virtio spec 5.3.6.2: port, event, value) on the control receive queue. */
  SendEvent?(port: number, event: number, value: number): void;
}

interface V86Shape {
  add_listener(event: string, fn: (bytes: Uint8Array) => void): void;
  remove_listener(event: string, fn: (bytes: Uint8Array) => void): void;
  bus: { send(event: string, data: Uint8Array): void };
  v86?: { cpu?: { devices?: { virtio_console?: VirtioConsoleDevice } } };
}

/** VIRTIO_CONSOLE_CONSOLE_PORT, the control event that makes a port a console (virtio spec 5.3.6.2). */
export const VIRTIO_CONSOLE_CONSOLE_PORT = 4;

/** Index of a virtio-console port's receive (host → guest) virtqueue. */
export function receiveQueueIndex(port: number): number {
  return port === 0 ? 0 : 2 * port + 2;
}

/** The receive virtqueue of `port`, or undefined while the emulator has not loaded (or v86 changed shape). */
export function virtioConsoleQueue(emulator: object, port: number): VirtQueue | undefined {
  const q = (emulator as V86Shape).v86?.cpu?.devices?.virtio_console?.virtio?.queues?.[receiveQueueIndex(port)];
  return q && typeof q.has_request === 'function' ? q : undefined;
}

/**
 * Make v86 stop announcing `port` as a console, so the guest's virtio_console driver makes it a
 * generic port (a char device, /dev/vport0p<port>) instead of an hvc tty (see the top of this file
 * for why). Acts on the guest driver's next probe: call it before the guest boots (at once if the
 * emulator has loaded, else when it has). A guest restored from a state saved without it keeps its
 * tty; boxd serves either. Idempotent.
 * @throws TypeError when the loaded emulator has no VirtioConsole with SendEvent (v86 changed shape).
 */
export function withholdConsolePort(emulator: object, port: number): void {
  const e = emulator as V86Shape;
  const apply = () => {
    const device = e.v86?.cpu?.devices?.virtio_console;
    if (!device || typeof device.SendEvent !== 'function') throw new TypeError('withholdConsolePort: v86 has no virtio_console.SendEvent');
    const withheld = ((device as { withheldConsolePorts?: Set<number> }).withheldConsolePorts ??= new Set());
    if (!withheld.size) {
      const sendEvent = device.SendEvent;
      device.SendEvent = function (this: VirtioConsoleDevice, p: number, event: number, value: number) {
        if (event === VIRTIO_CONSOLE_CONSOLE_PORT && withheld.has(p)) return;
        sendEvent.call(this, p, event, value);
      };
    }
    withheld.add(port);
  };
  if (e.v86?.cpu?.devices) apply();
  else {
    const onLoaded = () => {
      e.remove_listener('emulator-loaded', onLoaded);
      apply();
    };
    e.add_listener('emulator-loaded', onLoaded);
  }
}

/** Whether the guest driver has enabled the queue, so has_request() reads a real ring. */
export function virtioQueueEnabled(q: VirtQueue): boolean {
  return q.enabled === true;
}

export interface V86VirtioPort {
  host: MuxHost;
  transport: MuxTransport;
  /** Stop listening and stop the host's timers. */
  close(): void;
}

/**
 * Wire a v86 emulator (a `V86` instance; typed loosely because v86.d.ts does not declare `bus` or the
 * port-1 events) to a new MuxHost on virtio-console `port` (the box mux uses 1). The host sends HELLO
 * at once; it is delivered when the guest posts its first receive buffer.
 */
export function v86VirtioPort(emulator: object, port = 1, options: MuxHostOptions = {}): V86VirtioPort {
  const e = emulator as V86Shape;
  if (typeof e.add_listener !== 'function' || typeof e.bus?.send !== 'function') {
    throw new TypeError('v86VirtioPort: not a V86 emulator (needs add_listener and bus.send)');
  }
  withholdConsolePort(emulator, port);
  const inputEvent = `virtio-console${port}-input-bytes`;
  const outputEvent = `virtio-console${port}-output-bytes`;
  const transport: MuxTransport = {
    write: (bytes) => e.bus.send(inputEvent, bytes),
    canWrite: () => {
      const q = virtioConsoleQueue(emulator, port);
      return !!q && virtioQueueEnabled(q) && q.has_request();
    },
  };
  const host = new MuxHost(transport, options);
  const onOutput = (bytes: Uint8Array) => host.receive(bytes);
  e.add_listener(outputEvent, onOutput);
  return {
    host,
    transport,
    close() {
      e.remove_listener(outputEvent, onOutput);
      host.close();
    },
  };
}
