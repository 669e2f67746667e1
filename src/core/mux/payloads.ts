// Payload layouts of the box mux frames (PROTOCOL.md, "Types"): builders for requests, parsers for
// events. Every parser checks lengths and throws MuxPayloadError rather than reading past the end.

import { MUX_LOAD_NAME_MAX } from './frames.ts';
import { utf8Decoder, utf8Encoder } from './platform.ts';

export class MuxPayloadError extends Error {
  override name = 'MuxPayloadError';
}

function view(p: Uint8Array): DataView {
  return new DataView(p.buffer, p.byteOffset, p.byteLength);
}

function need(p: Uint8Array, n: number, what: string): DataView {
  if (p.length < n) throw new MuxPayloadError(`${what}: payload of ${p.length} bytes, need ${n}`);
  return view(p);
}

/** Each argument NUL-terminated: RUN, CMD, and the tail of EXEC. */
export function encodeArgv(argv: readonly string[]): Uint8Array {
  for (const a of argv) if (a.includes('\0')) throw new MuxPayloadError(`argv: argument contains NUL: ${JSON.stringify(a)}`);
  return utf8Encoder.encode(argv.map((a) => `${a}\0`).join(''));
}

export function decodeArgv(p: Uint8Array): string[] {
  if (p.length === 0) return [];
  if (p[p.length - 1] !== 0) throw new MuxPayloadError('argv: last argument is not NUL-terminated');
  return utf8Decoder.decode(p.subarray(0, p.length - 1)).split('\0');
}

export function encodeResize(cols: number, rows: number): Uint8Array {
  const p = new Uint8Array(4);
  view(p).setUint16(0, cols, true);
  view(p).setUint16(2, rows, true);
  return p;
}

export function decodeResize(p: Uint8Array): { cols: number; rows: number } {
  const v = need(p, 4, 'RESIZE');
  return { cols: v.getUint16(0, true), rows: v.getUint16(2, true) };
}

export function encodeSignal(signal: number): Uint8Array {
  if (!Number.isInteger(signal) || signal < 1 || signal > 255) throw new MuxPayloadError(`SIGNAL: bad signal ${signal}`);
  return Uint8Array.of(signal);
}

export function encodeU32(n: number): Uint8Array {
  const p = new Uint8Array(4);
  view(p).setUint32(0, n, true);
  return p;
}

/** CREDIT: the host can take this many more OUTPUT payload bytes on the terminal. */
export const encodeCredit = encodeU32;

export function decodeU32(p: Uint8Array, what = 'u32'): number {
  return need(p, 4, what).getUint32(0, true);
}

/** EXEC: the target terminal, then the argv to run inside that container. */
export function encodeExec(target: number, argv: readonly string[]): Uint8Array {
  const args = encodeArgv(argv);
  const p = new Uint8Array(4 + args.length);
  view(p).setUint32(0, target, true);
  p.set(args, 4);
  return p;
}

export function decodeExec(p: Uint8Array): { target: number; argv: string[] } {
  return { target: need(p, 4, 'EXEC').getUint32(0, true), argv: decodeArgv(p.subarray(4)) };
}

/** READY: when boxd became ready (CLOCK_MONOTONIC ns) and its version. */
export interface Ready {
  readyNs: bigint;
  version: string;
}

export function decodeReady(p: Uint8Array): Ready {
  return { readyNs: need(p, 8, 'READY').getBigUint64(0, true), version: utf8Decoder.decode(p.subarray(8)) };
}

export function encodeReady(r: Ready): Uint8Array {
  const v = utf8Encoder.encode(r.version);
  const p = new Uint8Array(8 + v.length);
  view(p).setBigUint64(0, r.readyNs, true);
  p.set(v, 8);
  return p;
}

/** EXIT: a waitpid status, and what it means. */
export interface ExitStatus {
  status: number;
  /** Exit code when the process exited, else null. */
  code: number | null;
  /** Terminating signal when it was killed, else null. */
  signal: number | null;
}

export function decodeExit(p: Uint8Array): ExitStatus {
  const status = need(p, 4, 'EXIT').getInt32(0, true);
  const sig = status & 0x7f;
  if (sig === 0) return { status, code: (status >> 8) & 0xff, signal: null };
  if (sig !== 0x7f) return { status, code: null, signal: sig };
  return { status, code: null, signal: null }; // stopped, not an exit
}

export function encodeI32(n: number): Uint8Array {
  const p = new Uint8Array(4);
  view(p).setInt32(0, n, true);
  return p;
}

/** STATS reply: one container's cgroup figures. */
export interface Stats {
  memoryBytes: bigint;
  cpuUsec: bigint;
  pids: number;
  pid1: number;
}

export function decodeStats(p: Uint8Array): Stats {
  const v = need(p, 24, 'STATS');
  return { memoryBytes: v.getBigUint64(0, true), cpuUsec: v.getBigUint64(8, true), pids: v.getUint32(16, true), pid1: v.getUint32(20, true) };
}

export function encodeStats(s: Stats): Uint8Array {
  const p = new Uint8Array(24);
  const v = view(p);
  v.setBigUint64(0, s.memoryBytes, true);
  v.setBigUint64(8, s.cpuUsec, true);
  v.setUint32(16, s.pids, true);
  v.setUint32(20, s.pid1, true);
  return p;
}

/** STARTED's phases, in the order boxd records them. */
export const START_PHASES = ['received', 'layers', 'namespaces', 'mounts', 'cgroup', 'network', 'exec'] as const;

export interface Started {
  /** PID 1 of the container as the host sees it. */
  pid: number;
  /** CLOCK_MONOTONIC ns per phase, in START_PHASES order; a newer boxd may send more, named `phase<i>`. */
  phases: { name: string; ns: bigint }[];
}

export function decodeStarted(p: Uint8Array): Started {
  const v = need(p, 8, 'STARTED');
  const pid = v.getUint32(0, true);
  const n = v.getUint32(4, true);
  if (p.length < 8 + 8 * n) throw new MuxPayloadError(`STARTED: ${n} phases need ${8 + 8 * n} bytes, have ${p.length}`);
  const phases = [];
  for (let i = 0; i < n; i++) phases.push({ name: START_PHASES[i] ?? `phase${i}`, ns: v.getBigUint64(8 + 8 * i, true) });
  return { pid, phases };
}

export function encodeStarted(s: Started): Uint8Array {
  const p = new Uint8Array(8 + 8 * s.phases.length);
  const v = view(p);
  v.setUint32(0, s.pid, true);
  v.setUint32(4, s.phases.length, true);
  s.phases.forEach((ph, i) => v.setBigUint64(8 + 8 * i, ph.ns, true));
  return p;
}

/** Milliseconds from the first phase (received) to each phase, for display. */
export function phaseOffsetsMs(s: Started): { name: string; ms: number }[] {
  const t0 = s.phases[0]?.ns ?? 0n;
  return s.phases.map((ph) => ({ name: ph.name, ms: Number(ph.ns - t0) / 1e6 }));
}

/** ERROR: errno (or 0) and a message. */
export interface MuxErrorReply {
  code: number;
  message: string;
}

export function decodeError(p: Uint8Array): MuxErrorReply {
  return { code: need(p, 4, 'ERROR').getUint32(0, true), message: utf8Decoder.decode(p.subarray(4)) };
}

export function encodeError(e: MuxErrorReply): Uint8Array {
  return concat(encodeU32(e.code), utf8Encoder.encode(e.message));
}

/** RESULT: what `box <verb>` would have exited with and printed. */
export interface Result {
  code: number;
  text: string;
  /** Only for a reply that came as OUTPUT frames first (MuxHost.cmd): the verb's notes, its stderr. */
  stderr?: string;
}

export function decodeResult(p: Uint8Array): Result {
  return resultText(decodeResultBytes(p));
}

/** RESULT with its text left as bytes: a verb whose answer is a file (`save`: an OCI archive). */
export interface ResultBytes {
  code: number;
  bytes: Uint8Array;
}

export function decodeResultBytes(p: Uint8Array): ResultBytes {
  return { code: need(p, 4, 'RESULT').getInt32(0, true), bytes: p.subarray(4) };
}

/** A RESULT already split off its code, its text decoded as UTF-8. */
export function resultText(r: ResultBytes): Result {
  return { code: r.code, text: utf8Decoder.decode(r.bytes) };
}

export function encodeResult(r: Result): Uint8Array {
  return concat(encodeI32(r.code), utf8Encoder.encode(r.text));
}

/** FIRST_OUTPUT: CLOCK_MONOTONIC ns of the first pty byte. */
export function decodeFirstOutput(p: Uint8Array): bigint {
  return need(p, 8, 'FIRST_OUTPUT').getBigUint64(0, true);
}

export function encodeU64(n: bigint): Uint8Array {
  const p = new Uint8Array(8);
  view(p).setBigUint64(0, n, true);
  return p;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const p = new Uint8Array(a.length + b.length);
  p.set(a);
  p.set(b, a.length);
  return p;
}

/** LOAD: the archive's size in bytes, then its name (UTF-8, for boxd's messages; no control characters). */
export function encodeLoad(size: number, name: string): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0) throw new MuxPayloadError(`LOAD: bad archive size ${size}`);
  // A name is quoted in one-line messages: control characters are replaced, the length capped (boxd refuses either),
  // cut before a whole character (a UTF-8 continuation byte is 0b10xxxxxx) so boxd's message stays UTF-8.
  let n = utf8Encoder.encode(name.replace(/[\u0000-\u001f\u007f]/g, '?'));
  if (n.length > MUX_LOAD_NAME_MAX) {
    let cut = MUX_LOAD_NAME_MAX;
    while (cut > 0 && (n[cut]! & 0xc0) === 0x80) cut--;
    n = n.subarray(0, cut);
  }
  return concat(encodeU64(BigInt(size)), n);
}

/** LOAD as boxd reads it (tests, fake guests): size in bytes, name. @throws MuxPayloadError under 8 bytes. */
export function decodeLoad(p: Uint8Array): { size: number; name: string } {
  return { size: Number(need(p, 8, 'LOAD').getBigUint64(0, true)), name: utf8Decoder.decode(p.subarray(8)) };
}

/** LOAD_DATA: where in the archive these bytes go, then the bytes. */
export function encodeLoadData(offset: number, bytes: Uint8Array): Uint8Array {
  return concat(encodeU64(BigInt(offset)), bytes);
}

/** LOAD_DATA as boxd reads it (tests, fake guests): `bytes` is a view into `p`. @throws MuxPayloadError under 9 bytes. */
export function decodeLoadData(p: Uint8Array): { offset: number; bytes: Uint8Array } {
  return { offset: Number(need(p, 9, 'LOAD_DATA').getBigUint64(0, true)), bytes: p.subarray(8) };
}

/** LOAD_ACK: archive bytes `box load` has taken so far. @throws MuxPayloadError under 8 bytes. */
export function decodeLoadAck(p: Uint8Array): number {
  return Number(need(p, 8, 'LOAD_ACK').getBigUint64(0, true));
}

/** LOAD_ACK as boxd sends it (tests, fake guests): bytes taken so far, u64. */
export const encodeLoadAck = (taken: number): Uint8Array => encodeU64(BigInt(taken));
