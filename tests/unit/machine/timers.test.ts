import { describe, it, expect } from 'vitest';
import { InstructionCounter, Stopwatch, formatMs, formatInstructions, boardScaleMs } from '../../../src/core/machine/timers.ts';

describe('timers', () => {
  it('widens the u32 instruction counter across wraps', () => {
    let raw = 2 ** 32 - 100;
    const c = new InstructionCounter(() => raw);
    raw = 50; // wrapped
    expect(c.sample()).toBe(150);
    raw = 2 ** 32 - 1;
    expect(c.sample()).toBe(150 + 2 ** 32 - 51);
    c.reset();
    expect(c.sample()).toBe(0);
  });

  it('stopwatch runs from start and freezes at stop', () => {
    let t = 1000;
    const w = new Stopwatch(() => t);
    expect(w.elapsedMs()).toBe(0);
    w.start();
    t = 1250;
    expect(w.elapsedMs()).toBe(250);
    w.stop();
    t = 9999;
    expect(w.elapsedMs()).toBe(250);
    expect(w.running).toBe(false);
  });

  it('formats for a projector', () => {
    expect(formatMs(1234.4)).toBe('1,234 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
    expect(formatInstructions(51_106_505)).toBe('51.1 M');
    expect(formatInstructions(NaN)).toBe('–');
  });
});

describe('boardScaleMs', () => {
  it('rounds the longest timeline up to whole steps, so the scale holds still between them', () => {
    expect(boardScaleMs(0)).toBe(2000);
    expect(boardScaleMs(1)).toBe(2000);
    expect(boardScaleMs(2000)).toBe(2000);
    expect(boardScaleMs(2001)).toBe(4000);
    expect(boardScaleMs(19_999)).toBe(20_000);
    expect(boardScaleMs(20_001)).toBe(25_000);
    expect(boardScaleMs(31_700)).toBe(35_000);
  });
});
