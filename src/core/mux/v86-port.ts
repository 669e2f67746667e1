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
import { MuxHost, type MuxHostOptions, type MuxTransport } from './host.ts';

interface VirtQueue {
  has_request(): boolean;
  /** Set when the guest driver enables the queue (after writing its ring addresses); cleared on reset. */
  enabled?: boolean;
}

interface V86Shape {
  add_listener(event: string, fn: (bytes: Uint8Array) => void): void;
  remove_listener(event: string, fn: (bytes: Uint8Array) => void): void;
  bus: { send(event: string, data: Uint8Array): void };
  v86?: { cpu?: { devices?: { virtio_console?: { virtio?: { queues?: VirtQueue[] } } } } };
}

/** Index of a virtio-console port's receive (host → guest) virtqueue. */
export function receiveQueueIndex(port: number): number {
  return port === 0 ? 0 : 2 * port + 2;
}

/** The receive virtqueue of `port`, or undefined while the emulator has not loaded (or v86 changed shape). */
export function virtioConsoleQueue(emulator: object, port: number): VirtQueue | undefined {
  const q = (emulator as V86Shape).v86?.cpu?.devices?.virtio_console?.virtio?.queues?.[receiveQueueIndex(port)];
  return q && typeof q.has_request === 'function' ? q : undefined;
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
