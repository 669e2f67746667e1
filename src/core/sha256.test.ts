import { describe, it, expect } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { sha256 } from './sha256.ts';
import { toHex } from './artifacts.ts';

const node = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('sha256 fallback', () => {
  it('matches the FIPS 180-2 "abc" vector and the empty string', () => {
    expect(toHex(sha256(new TextEncoder().encode('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha256(new Uint8Array()))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('matches node:crypto around every padding boundary and on a 64 KiB chunk', () => {
    for (const n of [1, 55, 56, 63, 64, 65, 119, 120, 127, 128, 1000]) {
      const b = randomBytes(n);
      expect(toHex(sha256(b)), `length ${n}`).toBe(node(b));
    }
    const chunk = randomBytes(64 * 1024);
    expect(toHex(sha256(chunk))).toBe(node(chunk));
  });
});
