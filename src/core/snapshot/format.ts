/**
 * The snapshot file: a small uncompressed header (so a list of snapshots can be shown without
 * inflating tens of MiB) followed by v86's `save_state()` bytes, compressed.
 *
 *   off  size  field
 *   0    8     magic "STKSNAP" + format version byte (1)
 *   8    4     header length n (u32 LE)
 *   12   n     header, UTF-8 JSON (SnapshotHeader)
 *   12+n …     the state, compressed with header.codec (gzip carries its own CRC-32 and length)
 */
import type { SnapshotConfig } from './config.ts';
import { compress, decompress, type Codec } from './platform.ts';
import { utf8Decoder as dec, utf8Encoder as enc } from '../mux/platform.ts';
import { errorText } from '../errors.ts';

export const SNAPSHOT_MAGIC = [0x53, 0x54, 0x4b, 0x53, 0x4e, 0x41, 0x50] as const; // "STKSNAP"
export const SNAPSHOT_FORMAT = 1;
const PREFIX = 12;
/** A header larger than this is a corrupt file, not a big snapshot. */
const MAX_HEADER = 1 << 20;

/** What the machine worker adds so a restored machine can pick up where it was (mux channels, console). */
export interface SnapshotExtra {
  /** Container host: containers with a live terminal on the box mux when the state was taken. */
  containers?: { channel: number; name: string; image: string; guestCredit: number }[];
  /** The last console lines, shown again in the terminal after a restore. */
  consoleTail?: string[];
  /** Guest instructions and wall ms since power-on at the moment of saving. */
  instructions?: number;
  uptimeMs?: number;
}

export interface SnapshotHeader {
  format: number;
  codec: Codec;
  config: SnapshotConfig;
  /** Epoch ms. */
  createdAt: number;
  machineId: string;
  /** Bytes of v86's state before and after compression. */
  rawBytes: number;
  storedBytes: number;
  extra: SnapshotExtra;
}

export class SnapshotFormatError extends Error {
  override name = 'SnapshotFormatError';
}

export interface EncodeInput {
  config: SnapshotConfig;
  machineId: string;
  state: Uint8Array;
  extra?: SnapshotExtra;
  codec?: Codec;
  createdAt?: number;
}

export async function encodeSnapshot(input: EncodeInput): Promise<{ bytes: Uint8Array; header: SnapshotHeader }> {
  const codec = input.codec ?? 'gzip';
  const body = await compress(input.state, codec);
  const header: SnapshotHeader = {
    format: SNAPSHOT_FORMAT,
    codec,
    config: input.config,
    createdAt: input.createdAt ?? Date.now(),
    machineId: input.machineId,
    rawBytes: input.state.byteLength,
    storedBytes: body.byteLength,
    extra: input.extra ?? {},
  };
  const json = enc.encode(JSON.stringify(header));
  const out = new Uint8Array(PREFIX + json.length + body.length);
  out.set(SNAPSHOT_MAGIC, 0);
  out[7] = SNAPSHOT_FORMAT;
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, PREFIX);
  out.set(body, PREFIX + json.length);
  return { bytes: out, header };
}

/** Read only the header (the first bytes of the file are enough). */
export function decodeHeader(bytes: Uint8Array): { header: SnapshotHeader; bodyOffset: number } {
  if (bytes.length < PREFIX) throw new SnapshotFormatError(`not a snapshot: ${bytes.length} bytes`);
  for (let i = 0; i < SNAPSHOT_MAGIC.length; i++) if (bytes[i] !== SNAPSHOT_MAGIC[i]) throw new SnapshotFormatError('not a stacklab snapshot (bad magic)');
  if (bytes[7] !== SNAPSHOT_FORMAT) throw new SnapshotFormatError(`snapshot format ${bytes[7]} is not supported (this page reads format ${SNAPSHOT_FORMAT})`);
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (n > MAX_HEADER || PREFIX + n > bytes.length) throw new SnapshotFormatError(`snapshot header length ${n} does not fit the file (${bytes.length} bytes)`);
  let header: SnapshotHeader;
  try {
    header = JSON.parse(dec.decode(bytes.subarray(PREFIX, PREFIX + n))) as SnapshotHeader;
  } catch (err) {
    throw new SnapshotFormatError(`snapshot header is not JSON: ${errorText(err)}`);
  }
  if (!header || typeof header !== 'object' || !header.config || typeof header.rawBytes !== 'number')
    throw new SnapshotFormatError('snapshot header is incomplete');
  return { header, bodyOffset: PREFIX + n };
}

/** Header and the inflated v86 state; a truncated or altered body is an error, never a partial state. */
export async function decodeSnapshot(bytes: Uint8Array): Promise<{ header: SnapshotHeader; state: Uint8Array }> {
  const { header, bodyOffset } = decodeHeader(bytes);
  const body = bytes.subarray(bodyOffset);
  if (body.length !== header.storedBytes) throw new SnapshotFormatError(`snapshot is truncated: ${body.length} of ${header.storedBytes} stored bytes`);
  let state: Uint8Array;
  try {
    state = await decompress(body, header.codec);
  } catch (err) {
    throw new SnapshotFormatError(`snapshot body does not inflate (${errorText(err)})`);
  }
  if (state.length !== header.rawBytes) throw new SnapshotFormatError(`snapshot inflated to ${state.length} bytes, header says ${header.rawBytes}`);
  return { header, state };
}
