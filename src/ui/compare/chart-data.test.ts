import { describe, expect, it } from 'vitest';
import type { Figure } from '../../core/experiments/types.ts';
import { MAX_BARS, MAX_FACTS, barGroups, facts, niceTicks, phaseBars, unitTicks } from './chart-data.ts';
import { exportCsv, exportJson } from './export.ts';

const fig = (id: string, side: Figure['side'], value: Figure['value'], unit: Figure['unit'], label = id): Figure => ({ id, side, label, value, unit });

describe('compare charts from figures', () => {
  it('splits phases per machine from <who>.phase.<name> figures, in side order', () => {
    const bars = phaseBars([
      fig('container.cold.phase.layers', 'container', 3, 'ms'),
      fig('vm.phase.bios', 'vm', 100, 'ms'),
      fig('vm.phase.kernel', 'vm', 400, 'ms'),
      fig('vm.cold.ms', 'vm', 500, 'ms'),
      fig('container.cold.phase.exec', 'container', 7, 'ms'),
    ]);
    expect(bars.map((b) => b.key)).toEqual(['vm', 'container.cold']);
    expect(bars[0]!.segments.map((s) => s.phase)).toEqual(['bios', 'kernel']);
    expect(bars[0]!.totalMs).toBe(500);
    expect(bars[1]!.totalMs).toBe(10);
  });

  it('groups numeric figures by unit, comparisons first, never text, yes/no or phases', () => {
    const groups = barGroups([
      fig('host.kernel', 'host', '6.12', 'text'),
      fig('vm.x', 'vm', true, 'bool'),
      fig('vm.ms', 'vm', 9, 'ms'),
      fig('vm.phase.bios', 'vm', 5, 'ms'),
      fig('host.a', 'host', 1, 'instructions'),
      fig('host.b', 'host', 2, 'instructions'),
      fig('container.disk', 'container', 10, 'bytes'),
      fig('vm.disk', 'vm', 40, 'bytes'),
    ]);
    expect(groups.map((g) => g.unit)).toEqual(['bytes', 'instructions']);
    expect(groups[0]!.bars.map((b) => b.id)).toEqual(['vm.disk', 'container.disk']);
    expect(groups[0]!.max).toBe(40);
  });

  it('keeps both sides when a group is cut, and prefers groups whose values differ', () => {
    const vm = Array.from({ length: MAX_BARS }, (_, i) => fig(`vm.ms${i}`, 'vm', 100 + i, 'ms'));
    const groups = barGroups([fig('vm.dl', 'vm', 5, 'bytes'), fig('container.dl', 'container', 5, 'bytes'), ...vm, fig('container.ms', 'container', 2, 'ms')]);
    expect(groups[0]!.unit).toBe('ms');
    expect(groups[0]!.bars).toHaveLength(MAX_BARS);
    expect(groups[0]!.bars.some((b) => b.side === 'container')).toBe(true);
  });

  it('cuts a group to MAX_BARS and drops NaN', () => {
    const many = Array.from({ length: MAX_BARS + 3 }, (_, i) => fig(`vm.f${i}`, 'vm', i, 'bytes'));
    const [g] = barGroups([...many, fig('container.nan', 'container', NaN, 'bytes')]);
    expect(g!.bars).toHaveLength(MAX_BARS);
    expect(g!.bars.some((b) => b.id === 'container.nan')).toBe(false);
  });

  it('lists yes/no findings, and short text ones only when asked', () => {
    const figures = [fig('vm.kernel', 'vm', '6.1.192', 'text'), fig('c.refused', 'container', true, 'bool'), fig('vm.long', 'vm', 'x'.repeat(60), 'text')];
    expect(facts(figures, false).map((f) => f.id)).toEqual(['c.refused']);
    expect(facts(figures, true).map((f) => f.id)).toEqual(['c.refused', 'vm.kernel']);
    expect(
      facts(
        Array.from({ length: 9 }, (_, i) => fig(`b${i}`, 'vm', false, 'bool')),
        false,
      ),
    ).toHaveLength(MAX_FACTS);
  });

  it('makes round axis ticks that cover the maximum', () => {
    expect(niceTicks(9)).toEqual([0, 2.5, 5, 7.5, 10]);
    expect(niceTicks(512, 4)).toEqual([0, 200, 400, 600]);
    expect(niceTicks(0)).toEqual([0, 1]);
    expect(unitTicks(300 * 2 ** 20, 'bytes', 3)).toEqual([0, 100, 200, 300].map((m) => m * 2 ** 20));
  });
});

describe('compare export', () => {
  const rows = [
    {
      id: 'size',
      title: 'Size',
      status: 'done',
      result: {
        id: 'size',
        vm: 'v',
        container: 'c',
        figures: [fig('vm.disk', 'vm', 16777216, 'bytes', 'disk, "image"')],
        series: [],
        evidence: [],
        notes: [],
        durationMs: 1,
      },
    },
    { id: 'os', title: 'OS support', status: 'failed', error: 'host-1: kernel panic, line 1\nline 2' },
  ];

  it('writes one CSV line per figure and one per failure, quoting what needs it', () => {
    const lines = exportCsv(rows).trim().split('\n');
    expect(lines[0]).toBe('experiment,figure,side,label,value,unit,dependsOnLoad,how');
    expect(lines[1]).toBe('size,vm.disk,vm,"disk, ""image""",16777216,bytes,,');
    expect(lines[2]).toBe('os,error,,"host-1: kernel panic, line 1');
  });

  it('writes JSON with the runtime facts and every row', () => {
    const doc = JSON.parse(exportJson(rows, { runtime: 'browser', runtimeVersion: 'x', cpuModel: '?', cores: 2, v86Version: '0.5' }, new Date(0)));
    expect(doc.exportedAt).toBe('1970-01-01T00:00:00.000Z');
    expect(doc.facts.cores).toBe(2);
    expect(doc.experiments.map((r: { id: string }) => r.id)).toEqual(['size', 'os']);
  });
});
