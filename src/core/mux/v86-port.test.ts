// The v86 internals v86VirtioPort relies on, checked against the release build (libv86.mjs, what
// `import { V86 } from 'v86'` loads): the virtio-console receive queue is reachable by name after
// load, and with no guest driver it has no buffer posted, so the host writes nothing.
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { V86 } from 'v86';
import { receiveQueueIndex, v86VirtioPort, virtioConsoleQueue, withholdConsolePort, VIRTIO_CONSOLE_CONSOLE_PORT } from './v86-port.ts';

const BIOS = '/usr/share/seabios/bios.bin';
const WASM = fileURLToPath(new URL('../../../node_modules/v86/build/v86.wasm', import.meta.url));

describe('v86VirtioPort', () => {
  it('maps ports to receive queues as VirtioConsole does', () => {
    expect([0, 1, 2, 3].map(receiveQueueIndex)).toEqual([0, 4, 6, 8]);
  });

  it.skipIf(!existsSync(BIOS))('reaches the receive queue in the release build and holds input until the guest posts a buffer', async () => {
    const b = readFileSync(BIOS);
    const emulator = new V86({
      wasm_path: WASM,
      bios: { buffer: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) },
      memory_size: 16 * 1024 * 1024,
      autostart: false,
      disable_keyboard: true,
      disable_mouse: true,
      virtio_console: true,
    } as unknown as ConstructorParameters<typeof V86>[0]);
    try {
      expect(virtioConsoleQueue(emulator, 1)).toBeUndefined(); // not loaded yet: canWrite() is false
      withholdConsolePort(emulator, 1); // before load: applied when the device exists
      await new Promise<void>((resolve) => emulator.add_listener('emulator-loaded', () => resolve()));
      // The device's control events: CONSOLE_PORT for port 1 is withheld, every other event goes out.
      type Device = { SendEvent(port: number, event: number, value: number): void; virtio: { queues: { pop_request(): unknown }[] } };
      const device = (emulator as unknown as { v86: { cpu: { devices: { virtio_console: Device } } } }).v86.cpu.devices.virtio_console;
      const controlQueue = device.virtio.queues[2]!;
      const popped: number[] = [];
      const realPop = controlQueue.pop_request.bind(controlQueue);
      controlQueue.pop_request = () => (popped.push(1), { set_next_blob() {} });
      const realFlush = (device as unknown as { Send: unknown }).Send;
      (device as unknown as { Send: () => void }).Send = () => {};
      device.SendEvent(1, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
      expect(popped).toHaveLength(0);
      device.SendEvent(0, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
      device.SendEvent(1, 6, 1); // PORT_OPEN
      expect(popped).toHaveLength(2);
      withholdConsolePort(emulator, 1); // again: still one wrapper, same answer
      device.SendEvent(1, VIRTIO_CONSOLE_CONSOLE_PORT, 1);
      expect(popped).toHaveLength(2);
      controlQueue.pop_request = realPop;
      (device as unknown as { Send: unknown }).Send = realFlush;
      const q = virtioConsoleQueue(emulator, 1);
      expect(q).toBeDefined();
      expect(q!.has_request()).toBe(false);
      const sent: unknown[] = [];
      const bus = (emulator as unknown as { bus: { send(e: string, d: unknown): void } }).bus;
      const realSend = bus.send.bind(bus);
      bus.send = (e, d) => (e.startsWith('virtio-console1-input') && sent.push(d), realSend(e, d));
      const port = v86VirtioPort(emulator, 1, { retryMs: 1 });
      await new Promise((r) => setTimeout(r, 20));
      expect(sent).toHaveLength(0);
      expect(port.host.pending).toBe(16); // HELLO, waiting
      // Guest → host: what the device emits on its side of the bus (emulator_bus) reaches the host's decoder.
      const { encodeFrame, FrameType } = await import('./frames.ts');
      const { encodeReady } = await import('./payloads.ts');
      const deviceBus = (emulator as unknown as { emulator_bus: { send(e: string, d: unknown): void } }).emulator_bus;
      deviceBus.send('virtio-console1-output-bytes', encodeFrame(FrameType.READY, 0, encodeReady({ readyNs: 1n, version: 'x' })));
      await expect(port.host.ready).resolves.toMatchObject({ version: 'x' });
      // Before the guest driver enables the queue, has_request() reads a "ring" at address 0 (the
      // BIOS puts its interrupt table there): nothing may be written on the strength of it.
      const mem = emulator as unknown as { write_memory(bytes: number[], at: number): void };
      mem.write_memory(
        Array.from({ length: 64 }, (_, i) => 0x53 + i),
        0,
      );
      expect(q!.has_request()).toBe(true);
      expect(port.transport.canWrite()).toBe(false);
      port.host.input(1, new Uint8Array([1, 2, 3]));
      await new Promise((r) => setTimeout(r, 20));
      expect(sent).toHaveLength(0);
      port.close();
    } finally {
      await emulator.destroy();
    }
  });
});
