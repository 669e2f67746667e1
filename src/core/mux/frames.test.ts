// The TS codec against the shared vectors (the C codec runs the same file in images/agent/tests),
// whole, byte by byte and in uneven pieces; plus CRC, encoder and payload round trips.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { crc32, decodeAll, encodeFrame, FrameType, frameTypeName, MuxDecoder, MUX_MAX_PAYLOAD, type Frame, type DecodeErrorKind } from './frames.ts';
import * as P from './payloads.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const expandRep = (s: string) => s.replace(/rep\(([0-9a-f]*),(\d+)\)/g, (_, h: string, n: string) => h.repeat(Number(n)));

interface Vector {
  name: string;
  input: Uint8Array;
  expected: string[];
}

function loadVectors(): Vector[] {
  const text = readFileSync(new URL('./vectors.txt', import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [name, input, expected, extra] = l.split('|');
      if (name === undefined || input === undefined || expected === undefined || extra !== undefined) throw new Error(`bad vector line: ${l.slice(0, 80)}`);
      return { name, input: Uint8Array.from(Buffer.from(expandRep(input), 'hex')), expected: expected ? expandRep(expected).split(' ') : [] };
    });
}

function render(items: ({ frame: Frame } | { error: DecodeErrorKind })[]): string[] {
  return items.map((i) =>
    'frame' in i ? `frame:${i.frame.type.toString(16).padStart(2, '0')}:${i.frame.channel}:${hex(i.frame.payload)}` : `error:${i.error}`,
  );
}

function decodeInPieces(input: Uint8Array, sizes: number[]): string[] {
  const out: ({ frame: Frame } | { error: DecodeErrorKind })[] = [];
  const d = new MuxDecoder({ frame: (frame) => out.push({ frame }), error: (error) => out.push({ error }) });
  for (let off = 0, k = 0; off < input.length; k++) {
    const n = sizes[k % sizes.length]!;
    d.feed(input.subarray(off, off + n));
    off += n;
  }
  return render(out);
}

const vectors = loadVectors();

describe('shared vectors', () => {
  it('has vectors for every frame type and every error kind', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(40);
    const all = vectors.flatMap((v) => v.expected);
    for (const code of Object.values(FrameType))
      expect(
        all.some((e) => e.startsWith(`frame:${code.toString(16).padStart(2, '0')}:`)),
        frameTypeName(code),
      ).toBe(true);
    for (const kind of ['bad-magic', 'bad-version', 'too-long', 'bad-crc']) expect(all).toContain(`error:${kind}`);
  });

  it.each(vectors.map((v) => [v.name, v] as const))('%s', (_name, v) => {
    expect(render(decodeAll(v.input))).toEqual(v.expected);
    expect(decodeInPieces(v.input, [1])).toEqual(v.expected);
    expect(decodeInPieces(v.input, [3, 1, 17, 4096, 2, 65535, 5])).toEqual(v.expected);
    // Every decoded frame re-encodes to exactly the bytes it came from.
    for (const item of decodeAll(v.input)) {
      if (!('frame' in item)) continue;
      const again = encodeFrame(item.frame.type, item.frame.channel, item.frame.payload);
      expect(hex(v.input)).toContain(hex(again));
    }
  });
});

describe('codec', () => {
  it('computes zlib-compatible CRC-32, also chained', () => {
    const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31 + 7) & 0xff);
    expect(crc32(data)).toBe(zlibCrc32(data));
    expect(crc32(data.subarray(300), crc32(data.subarray(0, 300)))).toBe(zlibCrc32(data));
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  it('refuses to encode what the wire cannot carry', () => {
    expect(() => encodeFrame(FrameType.OUTPUT, 1, new Uint8Array(MUX_MAX_PAYLOAD + 1))).toThrow(RangeError);
    expect(() => encodeFrame(FrameType.OUTPUT, 2 ** 32, new Uint8Array())).toThrow(RangeError);
    expect(() => encodeFrame(0x100, 1)).toThrow(RangeError);
  });

  it('holds at most one frame of bytes while waiting', () => {
    const d = new MuxDecoder({ frame: () => {}, error: () => {} });
    const f = encodeFrame(FrameType.OUTPUT, 1, new Uint8Array(MUX_MAX_PAYLOAD));
    d.feed(f.subarray(0, f.length - 1));
    expect(d.buffered).toBe(f.length - 1);
    d.feed(f.subarray(f.length - 1));
    expect(d.buffered).toBe(0);
  });

  it('hands out payload copies that survive later input', () => {
    const frames: Frame[] = [];
    const d = new MuxDecoder({ frame: (f) => frames.push(f), error: () => {} });
    d.feed(encodeFrame(FrameType.OUTPUT, 1, Uint8Array.of(1, 2, 3)));
    d.feed(encodeFrame(FrameType.OUTPUT, 1, Uint8Array.of(9, 9, 9)));
    expect([...frames[0]!.payload]).toEqual([1, 2, 3]);
  });
});

describe('payloads', () => {
  it('argv: NUL-terminated, round trip, rejects embedded NUL', () => {
    expect(hex(P.encodeArgv(['--name', 'c1', 'busybox', 'sh']))).toBe(Buffer.from('--name\0c1\0busybox\0sh\0').toString('hex'));
    expect(P.decodeArgv(P.encodeArgv(['a', '', 'é']))).toEqual(['a', '', 'é']);
    expect(P.decodeArgv(new Uint8Array())).toEqual([]);
    expect(() => P.encodeArgv(['a\0b'])).toThrow(P.MuxPayloadError);
    expect(() => P.decodeArgv(Uint8Array.of(0x61))).toThrow(P.MuxPayloadError);
  });

  it('RESIZE, SIGNAL, CREDIT, EXEC', () => {
    expect(hex(P.encodeResize(80, 24))).toBe('50001800');
    expect(P.decodeResize(P.encodeResize(300, 100))).toEqual({ cols: 300, rows: 100 });
    expect(hex(P.encodeSignal(15))).toBe('0f');
    expect(() => P.encodeSignal(0)).toThrow(P.MuxPayloadError);
    expect(hex(P.encodeCredit(65536))).toBe('00000100');
    expect(P.decodeExec(P.encodeExec(3, ['ps', 'aux']))).toEqual({ target: 3, argv: ['ps', 'aux'] });
  });

  it('EXIT status: exited, killed', () => {
    expect(P.decodeExit(P.encodeI32(3 << 8))).toEqual({ status: 768, code: 3, signal: null });
    expect(P.decodeExit(P.encodeI32(9))).toEqual({ status: 9, code: null, signal: 9 });
    expect(() => P.decodeExit(Uint8Array.of(1, 2))).toThrow(P.MuxPayloadError);
  });

  it('STARTED: named phases, offsets, truncated payload rejected', () => {
    const ns = [1_000_000_000n, 1_000_100_000n, 1_002_000_000n, 1_003_000_000n, 1_003_500_000n, 1_010_000_000n, 1_011_000_000n];
    const s: P.Started = { pid: 42, phases: ns.map((n, i) => ({ name: P.START_PHASES[i]!, ns: n })) };
    const back = P.decodeStarted(P.encodeStarted(s));
    expect(back).toEqual(s);
    expect(back.phases.map((p) => p.name)).toEqual(['received', 'layers', 'namespaces', 'mounts', 'cgroup', 'network', 'exec']);
    expect(P.phaseOffsetsMs(back).at(-1)).toEqual({ name: 'exec', ms: 11 });
    expect(() => P.decodeStarted(P.encodeStarted(s).subarray(0, 20))).toThrow(/7 phases/);
  });

  it('STATS, ERROR, RESULT, READY, FIRST_OUTPUT', () => {
    const st = { memoryBytes: 1572864n, cpuUsec: 12345n, pids: 3, pid1: 4242 };
    expect(P.decodeStats(P.encodeStats(st))).toEqual(st);
    expect(P.decodeError(P.encodeError({ code: 2, message: 'no such image: nope' }))).toEqual({ code: 2, message: 'no such image: nope' });
    expect(P.decodeResult(P.encodeResult({ code: -1, text: 'é\n' }))).toEqual({ code: -1, text: 'é\n' });
    expect(P.decodeReady(P.encodeReady({ readyNs: 123456789n, version: 'boxd 1' }))).toEqual({ readyNs: 123456789n, version: 'boxd 1' });
    expect(P.decodeFirstOutput(P.encodeU64(99n))).toBe(99n);
  });

  it('parses the payloads in the vectors file', () => {
    const payloadOf = (name: string) => {
      const f = decodeAll(vectors.find((v) => v.name === name)!.input)[0]!;
      if (!('frame' in f)) throw new Error(name);
      return f.frame.payload;
    };
    expect(P.decodeArgv(payloadOf('run'))).toEqual(['--name', 'c1', 'busybox', 'sh']);
    expect(P.decodeStarted(payloadOf('started')).pid).toBe(4242);
    expect(P.decodeStats(payloadOf('stats-reply')).pid1).toBe(4242);
    expect(P.decodeExit(payloadOf('exit'))).toEqual({ status: 0x0900, code: 9, signal: null });
  });
});
