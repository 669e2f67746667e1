// The box mux wire format (PROTOCOL.md): one table of frame types, CRC-32, the encoder
// and the streaming decoder with the spec's resync rules. No DOM, no Node: runs anywhere.

export const MUX_MAGIC0 = 0xb0;
export const MUX_MAGIC1 = 0x58;
export const MUX_VERSION = 1;
export const MUX_HEADER = 16;
export const MUX_MAX_PAYLOAD = 65536;
export const MUX_INITIAL_CREDIT = 65536;
/** A streamed load (LOAD): archive bytes the host may send beyond the last LOAD_ACK (images/agent/load_frames.h). */
export const MUX_LOAD_WINDOW = 256 * 1024;
/** The longest archive name LOAD carries, in bytes. */
export const MUX_LOAD_NAME_MAX = 255;

/** Every frame type, by name. Requests are host → guest (< 0x80), events guest → host. */
export const FrameType = {
  HELLO: 0x01,
  RUN: 0x10,
  INPUT: 0x11,
  RESIZE: 0x12,
  SIGNAL: 0x13,
  REMOVE: 0x14,
  STATS: 0x15,
  CREDIT: 0x16,
  EXEC: 0x17,
  CMD: 0x18,
  HOST_EXEC: 0x19,
  LOAD: 0x1a,
  LOAD_DATA: 0x1b,
  LOAD_ABORT: 0x1c,
  READY: 0x80,
  OUTPUT: 0x81,
  EXIT: 0x82,
  STATS_REPLY: 0x83,
  STARTED: 0x84,
  ERROR: 0x85,
  FIRST_OUTPUT: 0x86,
  RESULT: 0x87,
  LOAD_ACK: 0x88,
} as const;

export type FrameTypeName = keyof typeof FrameType;

const NAMES = new Map<number, FrameTypeName>(Object.entries(FrameType).map(([name, code]) => [code, name as FrameTypeName]));

/** "OUTPUT" for 0x81, "0x42" for a type this version does not know. */
export function frameTypeName(type: number): string {
  return NAMES.get(type) ?? `0x${type.toString(16).padStart(2, '0')}`;
}

/** What the decoder hands out: types it does not know still arrive (the receiver answers ERROR). */
export interface Frame {
  type: number;
  channel: number;
  payload: Uint8Array;
}

export type DecodeErrorKind = 'bad-magic' | 'bad-version' | 'too-long' | 'bad-crc';

// ---------------------------------------------------------------- CRC-32 (IEEE 802.3, zlib's crc32)

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** zlib-compatible: crc32(b, crc32(a)) === crc32(a ++ b). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

// ---------------------------------------------------------------- encoder

const EMPTY = new Uint8Array(0);

export function encodeFrame(type: number, channel: number, payload: Uint8Array = EMPTY): Uint8Array {
  if (payload.length > MUX_MAX_PAYLOAD) throw new RangeError(`mux: payload of ${payload.length} bytes is over ${MUX_MAX_PAYLOAD}`);
  if (!Number.isInteger(type) || type < 0 || type > 0xff) throw new RangeError(`mux: bad frame type ${type}`);
  if (!Number.isInteger(channel) || channel < 0 || channel > 0xffffffff) throw new RangeError(`mux: bad channel ${channel}`);
  const f = new Uint8Array(MUX_HEADER + payload.length);
  const v = new DataView(f.buffer);
  f[0] = MUX_MAGIC0;
  f[1] = MUX_MAGIC1;
  f[2] = MUX_VERSION;
  f[3] = type;
  v.setUint32(4, channel, true);
  v.setUint32(8, payload.length, true);
  f.set(payload, MUX_HEADER);
  v.setUint32(12, crc32(payload, crc32(f.subarray(0, 12))), true);
  return f;
}

// ---------------------------------------------------------------- streaming decoder

export interface DecoderSink {
  frame(f: Frame): void;
  error(kind: DecodeErrorKind): void;
}

/**
 * Bytes in, frames and errors out, in stream order, whatever the chunking. At each candidate start it
 * waits for 4 bytes (magic, version), then 12 (length), then the whole frame. On an error it reports
 * once, drops one byte and discards bytes up to the next 0xB0 (across feeds), which is the next
 * candidate. Memory: one buffer of MUX_HEADER + MUX_MAX_PAYLOAD, allocated once. Frame payloads
 * handed to the sink are copies, safe to keep.
 */
export class MuxDecoder {
  private readonly buf = new Uint8Array(MUX_HEADER + MUX_MAX_PAYLOAD);
  private readonly view = new DataView(this.buf.buffer);
  private len = 0;
  /** After an error with no 0xB0 left in the buffer: later input is discarded up to the next 0xB0. */
  private skipping = false;

  constructor(private readonly sink: DecoderSink) {}

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.len;
  }

  feed(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      if (this.skipping) {
        const at = data.indexOf(MUX_MAGIC0, off);
        if (at < 0) return;
        off = at;
        this.skipping = false;
      }
      const take = Math.min(data.length - off, this.buf.length - this.len);
      this.buf.set(data.subarray(off, off + take), this.len);
      this.len += take;
      off += take;
      this.drain();
    }
  }

  private drain(): void {
    const b = this.buf;
    while (this.len >= 4) {
      let bad: DecodeErrorKind | null = null;
      const plen = this.len >= 12 ? this.view.getUint32(8, true) : 0;
      if (b[0] !== MUX_MAGIC0 || b[1] !== MUX_MAGIC1) bad = 'bad-magic';
      else if (b[2] !== MUX_VERSION) bad = 'bad-version';
      else if (this.len >= 12 && plen > MUX_MAX_PAYLOAD) bad = 'too-long';
      if (!bad) {
        if (this.len < MUX_HEADER + plen || this.len < MUX_HEADER) return;
        const end = MUX_HEADER + plen;
        const crc = crc32(b.subarray(MUX_HEADER, end), crc32(b.subarray(0, 12)));
        if (crc === this.view.getUint32(12, true)) {
          const f: Frame = { type: b[3]!, channel: this.view.getUint32(4, true), payload: b.slice(MUX_HEADER, end) };
          b.copyWithin(0, end, this.len);
          this.len -= end;
          this.sink.frame(f);
          continue;
        }
        bad = 'bad-crc';
      }
      const next = b.subarray(1, this.len).indexOf(MUX_MAGIC0);
      if (next < 0) {
        this.len = 0;
        this.skipping = true;
      } else {
        b.copyWithin(0, next + 1, this.len);
        this.len -= next + 1;
      }
      this.sink.error(bad); // last, so a throwing sink leaves the decoder consistent
    }
  }
}

/** Decode a whole byte string at once (tests, tools): frames and errors in order. */
export function decodeAll(bytes: Uint8Array): ({ frame: Frame } | { error: DecodeErrorKind })[] {
  const out: ({ frame: Frame } | { error: DecodeErrorKind })[] = [];
  new MuxDecoder({ frame: (frame) => out.push({ frame }), error: (error) => out.push({ error }) }).feed(bytes);
  return out;
}
