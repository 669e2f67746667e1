// Random input against the TS decoder (seeded, so a failure can be replayed with MUX_FUZZ_SEED):
// valid frames hidden in garbage must all come out, in order, whatever the chunking; mutated
// streams decode the same whole and in pieces; memory stays within one frame.
import { describe, it, expect } from 'vitest';
import { encodeFrame, MuxDecoder, MUX_HEADER, MUX_MAX_PAYLOAD, type Frame } from './frames.ts';

const SEED = Number(process.env.MUX_FUZZ_SEED ?? Date.now() % 2 ** 31);

/** mulberry32: small, fast, good enough to drive a fuzzer. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int };
}
type Rng = ReturnType<typeof rng>;

/** Garbage that looks like frames often enough to reach every decoder path. */
function garbage(r: Rng, n: number): Uint8Array {
  const g = new Uint8Array(n);
  for (let i = 0; i < n; i++) g[i] = r.int(256);
  for (let i = 0; i + 12 <= n; i++) {
    const roll = r.next();
    if (roll < 0.05)
      g.set([0xb0, 0x58, 1], i); // a plausible header start
    else if (roll < 0.08) g[i] = 0xb0;
    if (roll < 0.02) g.set([r.int(256), 0, r.int(2), 0], i + 8); // a length the decoder will wait for
  }
  return g;
}

function randomFrame(r: Rng): Uint8Array {
  const big = r.next() < 0.01;
  const payload = garbage(r, big ? MUX_MAX_PAYLOAD - r.int(3) : r.int(40));
  return encodeFrame(r.int(256), r.next() < 0.1 ? 0xffffffff : r.int(16), payload);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe(`mux decoder fuzz (MUX_FUZZ_SEED=${SEED})`, () => {
  it('finds every valid frame hidden in garbage, fed in 100,000 random chunks', () => {
    const r = rng(SEED);
    const t0 = performance.now();
    const want: string[] = [];
    const got: string[] = [];
    let errors = 0;
    let maxBuffered = 0;
    const d = new MuxDecoder({ frame: (f: Frame) => got.push(`${f.type}:${f.channel}:${hex(f.payload)}`), error: () => errors++ });
    let chunks = 0;
    let bytes = 0;
    while (chunks < 100_000) {
      // Build a stretch of stream: garbage, then a valid frame (sometimes none), then cut it in random chunks.
      const parts = [garbage(r, r.int(200))];
      if (r.next() < 0.7) {
        const f = randomFrame(r);
        parts.push(f);
        const v = new DataView(f.buffer);
        want.push(`${f[3]}:${v.getUint32(4, true)}:${hex(f.subarray(MUX_HEADER))}`);
      }
      for (const p of parts) {
        for (let off = 0; off < p.length; chunks++) {
          const n = 1 + r.int(r.next() < 0.9 ? 32 : 5000);
          d.feed(p.subarray(off, off + n));
          off += n;
          maxBuffered = Math.max(maxBuffered, d.buffered);
        }
        bytes += p.length;
      }
    }
    // Flush: enough bytes with no 0xB0 to settle any pending header, so the last frame is not held back.
    d.feed(new Uint8Array(MUX_HEADER + MUX_MAX_PAYLOAD).fill(0x11));
    const ms = performance.now() - t0;
    console.log(`mux fuzz: ${chunks} chunks, ${bytes} bytes, ${want.length} frames found in garbage, ${errors} errors, ${ms.toFixed(0)} ms`);
    // A garbage stretch with a valid CRC would add a frame: 2^-32 per candidate, not expected here.
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
    expect(errors).toBeGreaterThan(0);
    expect(maxBuffered).toBeLessThanOrEqual(MUX_HEADER + MUX_MAX_PAYLOAD);
  }, 60_000); // a ceiling, not a speed check: ~2 s alone, 8–12 s on a loaded 2-core machine

  it('decodes mutated streams the same whole and in random pieces', () => {
    const r = rng(SEED ^ 0x5eed);
    let streams = 0;
    for (; streams < 3000; streams++) {
      const parts: Uint8Array[] = [];
      for (let k = r.int(5); k >= 0; k--) parts.push(r.next() < 0.2 ? garbage(r, r.int(30)) : randomFrame(r));
      const total = parts.reduce((n, p) => n + p.length, 0);
      const s = new Uint8Array(total);
      let o = 0;
      for (const p of parts) {
        s.set(p, o);
        o += p.length;
      }
      for (let flips = r.int(4); flips > 0 && total > 0; flips--) s[r.int(total)] ^= 1 << r.int(8); // corrupt a few bits
      const run = (sizes: () => number) => {
        const out: string[] = [];
        const d = new MuxDecoder({
          frame: (f) => out.push(`f${f.type}:${f.channel}:${f.payload.length}:${hex(f.payload.subarray(0, 8))}`),
          error: (k) => out.push(k),
        });
        for (let off = 0; off < s.length;) {
          const n = sizes();
          d.feed(s.subarray(off, off + n));
          off += n;
        }
        return out;
      };
      const whole = run(() => s.length);
      expect(run(() => 1 + r.int(64))).toEqual(whole);
    }
    expect(streams).toBe(3000);
  }, 60_000); // a ceiling, not a speed check: ~2 s alone, 8–12 s on a loaded 2-core machine
});
