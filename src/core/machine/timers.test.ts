import { describe, expect, it } from 'vitest';
import { formatMs, groupThousands } from './timers.ts';

describe('formatMs', () => {
  it('writes ms under 10 s grouped as en-US does, and seconds with one decimal above', () => {
    for (const ms of [0, 7, 999.4, 999.6, 1000, 1234.5, 9999.4, -1234]) {
      expect(formatMs(ms)).toBe(`${Math.round(ms).toLocaleString('en-US')} ms`);
    }
    expect(formatMs(10_000)).toBe('10.0 s');
    expect(formatMs(12_345)).toBe('12.3 s');
  });

  it('writes a dash for a figure that is not one', () => {
    expect(formatMs(NaN)).toBe('–');
    expect(formatMs(Infinity)).toBe('–');
  });
});

describe('groupThousands', () => {
  it('puts a comma every three digits from the right, after any sign', () => {
    expect(groupThousands(0)).toBe('0');
    expect(groupThousands(999)).toBe('999');
    expect(groupThousands(1000)).toBe('1,000');
    expect(groupThousands(1234567)).toBe('1,234,567');
    expect(groupThousands(-1234567)).toBe('-1,234,567');
  });
});
