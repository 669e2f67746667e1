/**
 * A lesson result as a short code a student copies from their page and the teacher pastes on the
 * class board: `SL1.` + base64url (RFC 4648 §5) of the zlib stream (RFC 1950) of a compact JSON.
 *
 * The zlib stream ends with the Adler-32 of the JSON, which the platform's DecompressionStream
 * checks: a code mangled in a chat message or cut short fails with a sentence saying so, never
 * with wrong numbers. Compression is the platform's own (CompressionStream, in every browser we
 * target and in Node ≥ 18), so the page ships no compression library for ~300 bytes of JSON.
 */
import { concatBytes } from '../mux/host.ts';
import { utf8Decoder, utf8Encoder } from '../mux/platform.ts';
import { base64urlToBytes, bytesToBase64url } from './base64.ts';
import { RESULT_FORMAT, resultFromValue, type LessonResult, type ResultRead } from './results.ts';

/** What a code starts with: the format's name and its version (1). */
export const RESULT_CODE_PREFIX = 'SL1.';

/** The compact JSON inside a version-1 code: short keys for LessonResult's fields; `t` is exportedAt in epoch seconds. */
interface CompactV1 {
  l: string;
  s: number;
  p: number[];
  f: Record<string, string>;
  c?: number;
  t: number;
}

// The Compression Streams API, typed here because src/core compiles without the DOM and Node libs.
interface ByteStream {
  readable: { getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> } };
  writable: { getWriter(): { write(chunk: Uint8Array): Promise<void>; close(): Promise<void> } };
}
const g = globalThis as unknown as {
  CompressionStream: new (format: 'deflate') => ByteStream;
  DecompressionStream: new (format: 'deflate') => ByteStream;
};

/** A lesson result's JSON is a few hundred bytes; a code that inflates past this is refused, so a
 *  pasted "zip bomb" cannot fill the board's tab with gigabytes. */
export const RESULT_JSON_MAX_BYTES = 64 * 1024;
/** Longer than any real code (≈ 300 characters) by far: refused before anything is decoded. */
export const RESULT_CODE_MAX_CHARS = 8 * 1024;

class TooLarge extends Error {}

/**
 * Feed `input` through a (de)compression stream, keeping at most `max` bytes of output; rejects
 * when the stream does (bad data, a wrong checksum, cut short) or with TooLarge past `max`.
 */
async function through(stream: ByteStream, input: Uint8Array, max = Infinity): Promise<Uint8Array> {
  const writer = stream.writable.getWriter();
  const written = writer.write(input).then(() => writer.close());
  written.catch(() => {}); // the reader sees the same error; awaited below
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    if (!r.value) continue;
    size += r.value.length;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw new TooLarge(`more than ${max} bytes`);
    }
    chunks.push(r.value);
  }
  await written;
  return concatBytes(chunks);
}

/** The code for `result`: `SL1.` and about 200–300 base64url characters for a lesson's facts. */
export async function encodeResultCode(result: LessonResult): Promise<string> {
  const compact: CompactV1 = {
    l: result.lesson,
    s: result.steps,
    p: result.passed,
    f: result.facts,
    ...(result.cores ? { c: result.cores } : {}),
    t: Math.round(Date.parse(result.exportedAt) / 1000) || 0,
  };
  const zlib = await through(new g.CompressionStream('deflate'), utf8Encoder.encode(JSON.stringify(compact)));
  return RESULT_CODE_PREFIX + bytesToBase64url(zlib);
}

/**
 * Read a pasted code (spaces and line breaks inside it are ignored: chat apps wrap long words).
 * A code that is not one, of another version, with a stray character, damaged or cut short gives
 * one sentence starting with `name`.
 */
export async function decodeResultCode(name: string, pasted: string): Promise<ResultRead> {
  const code = pasted.replace(/\s+/g, '');
  const fail = (message: string): ResultRead => ({ ok: false, message: `${name}: ${message}` });
  const version = /^SL(\d+)\./.exec(code);
  if (!version) return fail(`not a stacklab result code (a code starts with ${RESULT_CODE_PREFIX})`);
  if (version[0] !== RESULT_CODE_PREFIX)
    return fail(`a version ${version[1]} result code: this page reads version 1 (${RESULT_CODE_PREFIX}…); open the board of the same stacklab`);
  const body = code.slice(RESULT_CODE_PREFIX.length);
  if (code.length > RESULT_CODE_MAX_CHARS) return fail(`${code.length} characters is far longer than a result code (a few hundred): paste one code at a time`);
  const stray = /[^A-Za-z0-9_-]/.exec(body);
  if (stray) return fail(`"${stray[0]}" at character ${RESULT_CODE_PREFIX.length + stray.index + 1} cannot be in a code: copy it again`);
  let json: string;
  try {
    json = utf8Decoder.decode(await through(new g.DecompressionStream('deflate'), base64urlToBytes(body), RESULT_JSON_MAX_BYTES));
  } catch (err) {
    if (err instanceof TooLarge)
      return fail(`the code unpacks to more than ${RESULT_JSON_MAX_BYTES / 1024} KiB, far more than a lesson result: it was not made by stacklab`);
    return fail(`the code is damaged or cut short (its checksum does not match): copy it again, whole`);
  }
  let c: Partial<CompactV1>;
  try {
    c = JSON.parse(json) as Partial<CompactV1>;
  } catch {
    return fail('the code decodes, but not to a lesson result');
  }
  return resultFromValue(name, {
    format: RESULT_FORMAT,
    version: 1,
    lesson: c.l,
    exportedAt: typeof c.t === 'number' && c.t > 0 ? new Date(c.t * 1000).toISOString() : '',
    steps: c.s,
    passed: c.p,
    facts: c.f,
    cores: c.c,
  });
}
