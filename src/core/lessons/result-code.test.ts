import { describe, expect, it } from 'vitest';
import { decodeResultCode, encodeResultCode, RESULT_CODE_PREFIX, RESULT_JSON_MAX_BYTES } from './result-code.ts';
import { deflateSync } from 'node:zlib';
import { bytesToBase64url } from './base64.ts';
import { makeResult } from './results.ts';

const result = makeResult(
  'houses-and-apartments',
  3,
  [1, 2],
  {
    'guess.vm-boot-s': '20',
    'guess.container-start-s': '2',
    'race.vm-ms': '2412',
    'race.container-ms': '61',
    'race.vm-instructions': '76712345',
    'race.container-instructions': '1234567',
  },
  8,
  new Date('2026-11-30T10:00:00Z'),
);

describe('result codes', () => {
  it('round-trip a result in a short code a student can copy', async () => {
    const code = await encodeResultCode(result);
    expect(code.startsWith(RESULT_CODE_PREFIX)).toBe(true);
    expect(code).toMatch(/^SL1\.[A-Za-z0-9_-]+$/);
    // The export file is ~400 bytes of JSON; the code must stay short enough to paste in a chat line.
    expect(code.length).toBeLessThan(260);
    expect(await decodeResultCode('code 1', code)).toEqual({ ok: true, result });
    // Chat apps wrap long words: spaces and line breaks inside the paste are ignored.
    const wrapped = `  ${code.slice(0, 40)}\n${code.slice(40, 90)} ${code.slice(90)}\n`;
    expect(await decodeResultCode('code 1', wrapped)).toEqual({ ok: true, result });
  });

  it('a mangled character never gives wrong numbers: it fails with a sentence, or decodes the same result', async () => {
    const code = await encodeResultCode(result);
    for (let i = RESULT_CODE_PREFIX.length; i < code.length; i++) {
      const other = code[i] === 'A' ? 'B' : 'A';
      const r = await decodeResultCode('code 2', code.slice(0, i) + other + code.slice(i + 1));
      // A change that lands only in unused bits (base64url's last character, deflate's padding
      // after its end-of-block code) leaves the same result; any other change must be refused.
      if (r.ok) expect(r.result, `character ${i} changed`).toEqual(result);
      else expect(r.message).toMatch(/^code 2: the code is damaged or cut short \(its checksum does not match\)|^code 2: the code decodes, but not/);
    }
  });

  it('names what is wrong: cut short, a stray character, not a code, another version', async () => {
    const code = await encodeResultCode(result);
    expect(await decodeResultCode('code 3', code.slice(0, -5))).toEqual({
      ok: false,
      message: 'code 3: the code is damaged or cut short (its checksum does not match): copy it again, whole',
    });
    expect(await decodeResultCode('code 3', `${code.slice(0, 10)}#${code.slice(11)}`)).toEqual({
      ok: false,
      message: 'code 3: "#" at character 11 cannot be in a code: copy it again',
    });
    expect(await decodeResultCode('code 3', 'hello')).toEqual({ ok: false, message: 'code 3: not a stacklab result code (a code starts with SL1.)' });
    expect(await decodeResultCode('code 3', `SL2.${code.slice(4)}`)).toMatchObject({ ok: false, message: expect.stringContaining('a version 2 result code') });
  });

  it('refuses a code that unpacks to far more than a result (a pasted zip bomb), and one far too long', async () => {
    // 4 MiB of spaces deflate to about 4 KiB: a paste under the length limit that inflates 1000-fold.
    const bomb = RESULT_CODE_PREFIX + bytesToBase64url(deflateSync(Buffer.alloc(4 * 1024 * 1024, 32), { level: 9 }));
    const read = await decodeResultCode('pasted code 1', bomb);
    expect(read).toEqual({ ok: false, message: expect.stringMatching(/^pasted code 1: the code unpacks to more than 64 KiB/) });
    const justOver = RESULT_CODE_PREFIX + bytesToBase64url(deflateSync(Buffer.alloc(RESULT_JSON_MAX_BYTES + 1, 32)));
    expect((await decodeResultCode('c', justOver)).ok).toBe(false);
    const long = RESULT_CODE_PREFIX + 'A'.repeat(9000);
    expect(await decodeResultCode('c', long)).toEqual({ ok: false, message: expect.stringMatching(/^c: 9004 characters is far longer than a result code/) });
  });
});
