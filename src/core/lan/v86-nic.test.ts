import { describe, it, expect } from 'vitest';
import { EthernetSwitch } from './switch.ts';
import { connectNicToSwitch } from './link.ts';
import { nicHasRoom, nicMac, setNicMac } from './v86-nic.ts';

/** The parts of a v86 emulator the cable touches, with an NE2000 whose receive ring we control. */
function fakeEmulator() {
  const listeners = new Map<string, ((d: Uint8Array) => void)[]>();
  const received: Uint8Array[] = [];
  const ne2k = { mac: new Uint8Array(6), memory: new Uint8Array(32768), cr: 0x22, boundary: 0x4c, curpg: 0x4c, pstart: 0x40, pstop: 0x80 };
  const emulator = {
    add_listener: (e: string, fn: (d: Uint8Array) => void) => listeners.set(e, [...(listeners.get(e) ?? []), fn]),
    remove_listener: (e: string, fn: (d: Uint8Array) => void) =>
      listeners.set(
        e,
        (listeners.get(e) ?? []).filter((f) => f !== fn),
      ),
    bus: {
      send: (e: string, d: Uint8Array) => {
        if (e !== 'net0-receive') return;
        received.push(d);
        ne2k.curpg += 1 + ((Math.max(60, d.length) + 4) >> 8); // the ring fills
        if (ne2k.curpg >= ne2k.pstop) ne2k.curpg -= ne2k.pstop - ne2k.pstart;
      },
    },
    v86: { cpu: { devices: { net: ne2k } } },
    /** The guest sends a frame. */
    transmit: (f: Uint8Array) => listeners.get('net0-send')?.forEach((fn) => fn(f)),
  };
  return { emulator, ne2k, received };
}

const frame = (dst: number, src: number, size = 1514) => {
  const f = new Uint8Array(size);
  f.set([2, 0, 0, 0, 0, dst], 0);
  f.set([2, 0, 0, 0, 0, src], 6);
  return f;
};
const tick = () => new Promise((r) => setTimeout(r, 0));

describe('v86 NIC cable', () => {
  it('sets the MAC in the NE2000 and its station-address PROM', () => {
    const { emulator, ne2k } = fakeEmulator();
    setNicMac(emulator, '02:86:12:34:00:05');
    expect(nicMac(emulator)).toBe('02:86:12:34:00:05');
    expect([...ne2k.memory.subarray(0, 12)]).toEqual([2, 2, 0x86, 0x86, 0x12, 0x12, 0x34, 0x34, 0, 0, 5, 5]);
  });

  it('holds frames while the NE2000 ring is full; the switch queue caps what waits behind them', async () => {
    const sw = new EthernetSwitch({ window: 8, queueFrames: 20 });
    const sender = fakeEmulator();
    const slow = fakeEmulator();
    const a = connectNicToSwitch(sender.emulator, sw, 'a');
    const b = connectNicToSwitch(slow.emulator, sw, 'b');
    slow.emulator.transmit(frame(1, 2, 60)); // the switch learns b
    await tick();
    // The guest behind b never reads its ring: it takes ~10 full frames (64 pages of 256 bytes).
    for (let i = 0; i < 200; i++) sender.emulator.transmit(frame(2, 1));
    await tick();
    await tick();
    expect(nicHasRoom(slow.emulator, 1514)).toBe(false);
    expect(slow.received.length).toBeGreaterThan(5);
    expect(slow.received.length).toBeLessThanOrEqual(11);
    // Each frame the NIC took was acknowledged, so a full window (8) now waits in the cable...
    expect(b.cable.pending).toBe(8);
    expect(b.port.unacknowledged).toBe(8);
    // ...and of the burst (it arrived in one turn) the switch queued only its cap; the rest was
    // dropped and counted. Nothing else is held anywhere.
    expect(slow.received.length + b.cable.pending + b.port.queued).toBe(20);
    expect(sw.counters.queueDrops).toBe(180);
    // The guest reads its ring: delivery resumes without losing what waited.
    const before = slow.received.length;
    slow.ne2k.boundary = slow.ne2k.curpg; // the guest read everything: the ring is empty
    await new Promise((r) => setTimeout(r, 20));
    expect(slow.received.length).toBeGreaterThan(before);
    a.cable.unplug();
    b.cable.unplug();
  });
});
