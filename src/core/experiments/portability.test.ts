import { describe, expect, it } from 'vitest';
import { parseCounter } from './common.ts';
import { parseDfKb, parseFileFacts } from './portability.ts';

const SUM = 'a'.repeat(40) + '0123456789abcdef01234567';

describe('portability: what the guests print', () => {
  it('wc -c < FILE; sha256sum FILE → bytes and digest', () => {
    expect(parseFileFacts(`1069568\n${SUM}  /tmp/share/app.tar\n`)).toEqual({ bytes: 1069568, sha256: SUM });
    // busybox wc pads the count with spaces on some builds
    expect(parseFileFacts(`   512\n${SUM}  /tmp/app.tar`).bytes).toBe(512);
  });

  it('a missing line is an error that shows the output', () => {
    expect(() => parseFileFacts(`${SUM}  /tmp/app.tar\n`)).toThrow(/byte count and a sha256 line, got:\n/);
    expect(() => parseFileFacts('wc: /tmp/app.tar: No such file or directory\n')).toThrow(/No such file/);
  });

  it('df -k / → total and used bytes of the last line', () => {
    const df = 'Filesystem           1K-blocks      Used Available Use% Mounted on\n/dev/sda1                15863      9321      5723  62% /\n';
    expect(parseDfKb(df)).toEqual({ totalBytes: 15863 * 1024, usedBytes: 9321 * 1024 });
    expect(() => parseDfKb('df: /: No such file or directory')).toThrow(/df printed no usage line/);
  });

  it('a counter alone on its line', () => {
    expect(parseCounter('1234567\n', 'rx_bytes')).toBe(1234567);
    expect(() => parseCounter('cat: can\u2019t open', 'rx_bytes')).toThrow(/rx_bytes: expected a number/);
  });
});
