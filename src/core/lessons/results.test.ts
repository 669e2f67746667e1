import { describe, expect, it } from 'vitest';
import { classRow, guessRatio, logHistogram, sharedLogHistogram, makeResult, parseResult } from './results.ts';

describe('lesson results', () => {
  it('round-trips an export and reads its figures into a class row', () => {
    const r = makeResult(
      'houses-and-apartments',
      3,
      [1, 2],
      { 'race.vm-ms': '2400', 'race.container-ms': '61', 'guess.vm-boot-s': '20', 'race.vm-instructions': '76700000' },
      8,
      new Date(0),
    );
    const back = parseResult('ana.json', JSON.stringify(r));
    expect(back.ok && classRow('ana.json', back.result)).toEqual({
      file: 'ana.json',
      lesson: 'houses-and-apartments',
      passed: 2,
      steps: 3,
      vmMs: 2400,
      containerMs: 61,
      vmInstructions: 76700000,
      containerInstructions: undefined,
      guessVmS: 20,
      guessContainerS: undefined,
      cores: 8,
    });
  });

  it('names the file and what is wrong with it', () => {
    expect(parseResult('a.txt', 'hello')).toEqual({ ok: false, message: 'a.txt: not a stacklab result (it is not JSON)' });
    expect(parseResult('b.json', '{"x":1}')).toMatchObject({ ok: false, message: expect.stringContaining('b.json: not a stacklab result') });
    expect(parseResult('c.json', '{"format":"stacklab-lesson-result","version":2}')).toMatchObject({
      message: 'c.json: result version 2 is not one this page reads (1)',
    });
  });

  it('bins on a log scale, so milliseconds and seconds share one histogram', () => {
    const h = logHistogram([10, 100, 1000, 1000], 3);
    expect(h.counts).toEqual([1, 1, 2]);
    expect(h.edges[0]).toBeCloseTo(10);
    expect(h.edges[3]).toBeCloseTo(1000);
    expect(logHistogram([], 4)).toEqual({ edges: [], counts: [] });
    expect(guessRatio(20, 2400)).toBeCloseTo(0.12);
    expect(
      sharedLogHistogram(
        [
          [2000, 2500],
          [50, 60],
        ],
        2,
      ).counts,
    ).toEqual([
      [0, 2],
      [2, 0],
    ]);
  });
});
