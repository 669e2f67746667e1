import { describe, it, expect } from 'vitest';
import { EthernetSwitch, type SwitchPort } from './switch.ts';
import { checkFrame, formatMac, lanMac, parseMac, vmAddressForMac, ETH_MAX_FRAME } from './frame.ts';
import { connectPortToSwitch, type LanMessage } from './link.ts';

const BROADCAST = 'ff:ff:ff:ff:ff:ff';

function frame(dst: string, src: string, payload = 46, fill = 0): Uint8Array {
  const f = new Uint8Array(14 + payload).fill(fill);
  f.set(parseMac(dst), 0);
  f.set(parseMac(src), 6);
  f[12] = 0x08;
  f[13] = 0x00;
  return f;
}

/** A switch that delivers synchronously, and ports that record what they got (acking by default). */
function rig(opts: { ack?: boolean; queueFrames?: number; queueBytes?: number; window?: number } = {}) {
  const sw = new EthernetSwitch({ defer: (fn) => fn(), queueFrames: opts.queueFrames, queueBytes: opts.queueBytes, window: opts.window });
  const got: Uint8Array[][] = [];
  const ports: SwitchPort[] = [];
  const add = () => {
    const i = got.length;
    got.push([]);
    const p: SwitchPort = sw.connect((frames) => {
      got[i]!.push(...frames);
      if (opts.ack !== false) p.ack(frames.length);
    }, `m${i}`);
    ports.push(p);
    return p;
  };
  return { sw, got, ports, add };
}

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const C = '02:00:00:00:00:0c';

describe('frame helpers', () => {
  it('classifies runts, giants and group sources', () => {
    expect(checkFrame(new Uint8Array(13))).toBe('runt');
    expect(checkFrame(frame(A, B, 0))).toBe('ok'); // header only: virtio-net does not pad
    expect(checkFrame(new Uint8Array(ETH_MAX_FRAME + 1))).toBe('giant');
    expect(checkFrame(frame(A, B, 1500))).toBe('ok');
    expect(checkFrame(frame(A, '01:00:5e:00:00:01'))).toBe('bad-source');
  });

  it('MACs per LAN map to distinct guest addresses', () => {
    expect(formatMac(parseMac('02:86:00:01:00:07'))).toBe('02:86:00:01:00:07');
    expect(() => parseMac('02:86:00')).toThrow();
    const addrs = Array.from({ length: 199 }, (_, i) => vmAddressForMac(lanMac(0xbeef, i + 1)));
    expect(new Set(addrs).size).toBe(199);
    expect(vmAddressForMac(lanMac(7, 1))).toBe('10.86.0.11');
    expect(() => lanMac(1, 200)).toThrow();
  });
});

describe('EthernetSwitch', () => {
  it('floods unknown and broadcast destinations, then forwards learned unicast to one port', () => {
    const { sw, got, ports, add } = rig();
    add();
    add();
    add();
    ports[0]!.send(frame(BROADCAST, A));
    expect(got.map((g) => g.length)).toEqual([0, 1, 1]); // never back to the sender
    ports[1]!.send(frame(A, B)); // A was learned on port 0
    expect(got.map((g) => g.length)).toEqual([1, 1, 1]);
    ports[0]!.send(frame(C, A)); // C unknown: flood
    expect(got.map((g) => g.length)).toEqual([1, 2, 2]);
    ports[2]!.send(frame(A, C));
    ports[0]!.send(frame(C, A)); // now known: only port 2
    expect(got.map((g) => g.length)).toEqual([2, 2, 3]);
    expect(sw.counters).toMatchObject({ received: 5, flooded: 2, delivered: 7 });
    expect(sw.learned).toBe(3);
    expect(sw.learnedMacs().sort()).toEqual([A, B, C]);
  });

  it('copies what a machine sends, so the machine can reuse its buffer', () => {
    const { got, ports, add } = rig();
    add();
    add();
    const f = frame(BROADCAST, A, 46, 7);
    ports[0]!.send(f);
    f.fill(0);
    expect(got[1]![0]![20]).toBe(7);
  });

  it('drops runts and giants and counts them, without learning their source', () => {
    const { sw, got, ports, add } = rig();
    add();
    add();
    ports[0]!.send(new Uint8Array(10));
    ports[0]!.send(frame(BROADCAST, A, 1600));
    ports[0]!.send(frame(BROADCAST, '01:00:5e:00:00:01'));
    expect(got[1]).toHaveLength(0);
    expect(sw.counters).toMatchObject({ runts: 1, giants: 1, badSource: 1, received: 0 });
    expect(sw.learned).toBe(0);
  });

  it('a port that stops acknowledging fills its queue to the cap; the rest is dropped and counted', () => {
    const { sw, got, ports, add } = rig({ ack: false, window: 4, queueFrames: 10 });
    add();
    add();
    for (let i = 0; i < 100; i++) ports[0]!.send(frame(BROADCAST, A));
    expect(got[1]).toHaveLength(4); // the window
    expect(ports[1]!.queued).toBe(10); // the cap
    expect(sw.counters.queueDrops).toBe(86);
    expect(ports[1]!.counters.queueDrops).toBe(86);
    ports[1]!.ack(4); // the machine caught up: the queue moves again
    expect(got[1]).toHaveLength(8);
    expect(ports[1]!.queued).toBe(6);
  });

  it('caps queued bytes too', () => {
    const { sw, ports, add } = rig({ ack: false, window: 1, queueFrames: 1000, queueBytes: 10_000 });
    add();
    add();
    for (let i = 0; i < 100; i++) ports[0]!.send(frame(BROADCAST, A, 1000));
    expect(ports[1]!.queued).toBe(9); // 9 × 1014 bytes fit in 10,000
    expect(sw.counters.queueDrops).toBe(100 - 1 - 9);
  });

  it('a disconnected port is forgotten: its MACs are flooded again, nothing is queued for it', () => {
    const { sw, got, ports, add } = rig();
    add();
    add();
    add();
    ports[1]!.send(frame(A, B));
    ports[1]!.disconnect();
    ports[0]!.send(frame(B, A));
    expect(sw.counters.flooded).toBe(2);
    expect(got[1]).toHaveLength(0);
    expect(got[2]).toHaveLength(2);
    expect(sw.portCount).toBe(2);
  });

  it('batches what is switched in one turn (default: one microtask)', async () => {
    const sw = new EthernetSwitch();
    const batches: number[] = [];
    const p0 = sw.connect(() => {});
    const p1: SwitchPort = sw.connect((frames) => {
      batches.push(frames.length);
      p1.ack(frames.length);
    });
    for (let i = 0; i < 5; i++) p0.send(frame(BROADCAST, A));
    expect(batches).toEqual([]);
    await Promise.resolve();
    expect(batches).toEqual([5]);
  });

  it('two switch instances are two LANs', () => {
    const one = rig();
    const two = rig();
    one.add();
    one.add();
    two.add();
    one.ports[0]!.send(frame(BROADCAST, A));
    expect(one.got[1]).toHaveLength(1);
    expect(two.got[0]).toHaveLength(0);
  });
});

describe('MessagePort link', () => {
  it('carries frames both ways and ignores junk', async () => {
    const sw = new EthernetSwitch();
    const a = new MessageChannel();
    const b = new MessageChannel();
    connectPortToSwitch(sw, a.port1 as never, 'a');
    connectPortToSwitch(sw, b.port1 as never, 'b');
    const received = new Promise<LanMessage>((resolve) => {
      b.port2.onmessage = (e) => resolve(e.data);
    });
    a.port2.postMessage('junk');
    a.port2.postMessage({ type: 'frames', frames: [new Uint8Array(3), frame(BROADCAST, A)] });
    const m = await received;
    expect(m.type).toBe('frames');
    expect(m.type === 'frames' && m.frames.map((f) => f.length)).toEqual([60]);
    expect(sw.counters.runts).toBe(1);
    a.port2.close();
    b.port2.close();
  });
});
