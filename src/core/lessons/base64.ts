// UTF-8 text ⇄ base64, with the platform's btoa/atob (browsers, workers and Node ≥ 16 have them;
// typed here because src/core compiles without the DOM and Node libs).
import { utf8Decoder, utf8Encoder } from '../mux/platform.ts';

const g = globalThis as unknown as { btoa(s: string): string; atob(s: string): string };

/** Base64 of the UTF-8 bytes of `text`. */
export function toBase64(text: string): string {
  const bytes = utf8Encoder.encode(text);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return g.btoa(bin);
}

/** The text whose UTF-8 bytes `b64` encodes (invalid sequences become U+FFFD). Throws on bad base64. */
export function fromBase64(b64: string): string {
  const bin = g.atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return utf8Decoder.decode(bytes);
}
