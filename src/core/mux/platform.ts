// The few web-platform globals the mux needs, typed here because src/core compiles without the DOM
// and Node libs. Every runtime we target (browsers, workers, Node ≥ 20) has them.

interface Utf8Encoder {
  encode(s: string): Uint8Array;
}
interface Utf8Decoder {
  decode(b: Uint8Array): string;
}
export type TimerId = { readonly __timer: unique symbol } | number;

const g = globalThis as unknown as {
  TextEncoder: new () => Utf8Encoder;
  TextDecoder: new () => Utf8Decoder;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
};

export const utf8Encoder: Utf8Encoder = new g.TextEncoder();
export const utf8Decoder: Utf8Decoder = new g.TextDecoder();
export const setTimer = (fn: () => void, ms: number): TimerId => g.setTimeout(fn, ms);
export const clearTimer = (id: TimerId): void => g.clearTimeout(id);
