import { describe, it, expect } from 'vitest';
import { OutputQueue, CreditReturner } from '../../../src/core/machine/flow.ts';

function queue(limits = { window: 10, high: 30, low: 5 }) {
  const sent: number[][] = [];
  const log: string[] = [];
  const q = new OutputQueue({ send: (b) => sent.push([...b]), pause: () => log.push('pause'), resume: () => log.push('resume') }, limits);
  return { q, sent, log };
}

describe('OutputQueue', () => {
  it('sends at most the credit window, in one message per flush, in order', () => {
    const { q, sent } = queue();
    for (let i = 0; i < 25; i++) q.pushByte(i);
    q.flush();
    expect(sent).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    q.flush();
    expect(sent).toHaveLength(1);
    q.grant(4);
    expect(sent[1]).toEqual([10, 11, 12, 13]);
    q.grant(100);
    expect(sent[2]).toEqual([14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
    expect(q.length).toBe(1);
  });

  it('mixes byte and chunk pushes without reordering', () => {
    const { q, sent } = queue({ window: 100, high: 200, low: 10 });
    q.pushByte(1);
    q.push(new Uint8Array([2, 3]));
    q.pushByte(4);
    q.flush();
    expect(sent).toEqual([[1, 2, 3, 4]]);
  });

  it('pauses the producer at the high watermark and resumes below the low one', () => {
    const { q, log } = queue();
    q.push(new Uint8Array(30));
    expect(log).toEqual(['pause']);
    q.flush(); // 10 sent, 20 left
    q.grant(10); // 10 left
    expect(log).toEqual(['pause']);
    q.grant(10); // 0 left
    expect(log).toEqual(['pause', 'resume']);
    expect(q.isPaused).toBe(false);
  });

  it('rejects watermarks the wrong way round', () => {
    expect(() => queue({ window: 1, high: 5, low: 5 })).toThrow(/low watermark/);
  });
});

describe('CreditReturner', () => {
  it('returns credit in batches, and everything once the terminal is idle', () => {
    const given: number[] = [];
    const c = new CreditReturner((n) => given.push(n), 10);
    c.written(8);
    c.written(8);
    c.done(8);
    expect(given).toEqual([]);
    c.done(8);
    expect(given).toEqual([16]);
    expect(c.inFlight).toBe(0);
  });
});
