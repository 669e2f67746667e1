// Bytes and UTF-8 text ⇄ base64 (RFC 4648 §4) and base64url (§5), with the platform's btoa/atob
// (browsers, workers and Node ≥ 16 have them; typed here because src/core compiles without the DOM
// and Node libs).

import { utf8Decoder, utf8Encoder } from '../mux/platform.ts';

const g = globalThis as unknown as { btoa(s: string): string; atob(s: string): string };

/** Base64 of `bytes`. */
export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return g.btoa(bin);
}

/** The bytes `b64` encodes. Throws on characters outside base64. */
export function base64ToBytes(b64: string): Uint8Array {
  const bin = g.atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

/** Base64url without padding (`-` and `_` for `+` and `/`): safe in URLs, chat messages and file names. */
export const bytesToBase64url = (bytes: Uint8Array): string => bytesToBase64(bytes).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The bytes of unpadded base64url. Throws on characters outside it. */
export function base64urlToBytes(b64url: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(b64url)) throw new Error('not base64url');
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  return base64ToBytes(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
}

/** Base64 of the UTF-8 bytes of `text`. */
export const toBase64 = (text: string): string => bytesToBase64(utf8Encoder.encode(text));

/** The text whose UTF-8 bytes `b64` encodes (invalid sequences become U+FFFD). Throws on bad base64. */
export const fromBase64 = (b64: string): string => utf8Decoder.decode(base64ToBytes(b64));
