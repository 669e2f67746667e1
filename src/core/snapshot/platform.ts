/**
 * The web platform pieces snapshots use that exist alike in pages, workers and Node 18+
 * (CompressionStream, crypto.subtle). src/core has no DOM typings, so they are reached through
 * these small structural types instead of lib.dom.
 */
export type Codec = 'gzip' | 'deflate-raw';

interface TransformPair {
  readable: unknown;
  writable: unknown;
}
interface StreamGlobals {
  CompressionStream?: new (format: Codec) => TransformPair;
  DecompressionStream?: new (format: Codec) => TransformPair;
  Blob: new (parts: Uint8Array[]) => { stream(): { pipeThrough(t: TransformPair): unknown } };
  Response: new (body: unknown) => { arrayBuffer(): Promise<ArrayBuffer> };
  crypto: { subtle: { digest(alg: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer> } };
}

const g = globalThis as unknown as StreamGlobals;

async function transform(bytes: Uint8Array, stream: TransformPair): Promise<Uint8Array> {
  const piped = new g.Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new g.Response(piped).arrayBuffer());
}

export function compress(bytes: Uint8Array, codec: Codec): Promise<Uint8Array> {
  if (!g.CompressionStream) throw new Error('this browser has no CompressionStream');
  return transform(bytes, new g.CompressionStream(codec));
}

export function decompress(bytes: Uint8Array, codec: Codec): Promise<Uint8Array> {
  if (!g.DecompressionStream) throw new Error('this browser has no DecompressionStream');
  return transform(bytes, new g.DecompressionStream(codec));
}

export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const d = new Uint8Array(await g.crypto.subtle.digest('SHA-256', view));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}
