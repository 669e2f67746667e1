/**
 * What the compare page draws for one experiment's result, derived from its figures alone (no
 * figure is invented here): phase-split bars from the `<who>.phase.<name>` figures, bar groups of
 * the other numeric figures by unit (VM and container on one scale), and the series as curves.
 */
import type { ExperimentResult, Figure, Series, Side, Unit } from '../../core/experiments/types.ts';

export interface PhaseBar {
  /** 'vm', 'host', 'container.cold', … : the figure id's prefix. */
  key: string;
  side: Side;
  label: string;
  segments: { phase: string; ms: number; label: string }[];
  totalMs: number;
}

export interface BarGroup {
  unit: Unit;
  bars: { id: string; side: Side; label: string; value: number; how?: string }[];
  max: number;
}

export interface Fact {
  id: string;
  side: Side;
  label: string;
  /** A yes/no finding, or a short text one (a kernel version). */
  value: boolean | string;
}

export interface ResultCharts {
  phases: PhaseBar[];
  groups: BarGroup[];
  series: Series[];
  /** Yes/no findings (and, for a row without any numbers, its short text ones). */
  facts: Fact[];
}

const PHASE_ID = /^(.+)\.phase\.([^.]+)$/;
const SIDE_ORDER: Record<Side, number> = { vm: 0, container: 1, host: 2 };
/** Units worth a bar: amounts on a common scale (text, yes/no and ratios are read, not drawn). */
const BAR_UNITS: readonly Unit[] = ['bytes', 'ms', 'instructions', 'MiB', 'count', 'percent'];
/** A chart with more bars than this stops being a picture; the figures table has them all. */
export const MAX_BARS = 8;

const numeric = (f: Figure): f is Figure & { value: number } => typeof f.value === 'number' && Number.isFinite(f.value);

function who(key: string, side: Side): string {
  if (key === 'vm') return 'VM';
  if (key === 'host') return 'Host boot';
  if (key.startsWith('container.')) return `Container, ${key.slice('container.'.length)}`;
  return side === 'vm' ? `VM (${key})` : key;
}

export function phaseBars(figures: readonly Figure[]): PhaseBar[] {
  const bars = new Map<string, PhaseBar>();
  for (const f of figures) {
    const m = PHASE_ID.exec(f.id);
    if (!m || !numeric(f) || f.unit !== 'ms') continue;
    const [, key, phase] = m as unknown as [string, string, string];
    let bar = bars.get(key);
    if (!bar) bars.set(key, (bar = { key, side: f.side, label: who(key, f.side), segments: [], totalMs: 0 }));
    const ms = Math.max(0, f.value);
    bar.segments.push({ phase, ms, label: f.label });
    bar.totalMs += ms;
  }
  return [...bars.values()].sort((a, b) => SIDE_ORDER[a.side] - SIDE_ORDER[b.side]);
}

/**
 * Numeric figures grouped by unit, for bars. Groups with both a VM and a container figure come
 * first (they are the comparison); at most `maxGroups` groups, each cut to MAX_BARS bars.
 */
export function barGroups(figures: readonly Figure[], maxGroups = 2): BarGroup[] {
  const byUnit = new Map<Unit, BarGroup>();
  for (const f of figures) {
    if (!numeric(f) || PHASE_ID.test(f.id) || !BAR_UNITS.includes(f.unit)) continue;
    let g = byUnit.get(f.unit);
    if (!g) byUnit.set(f.unit, (g = { unit: f.unit, bars: [], max: 0 }));
    g.bars.push({ id: f.id, side: f.side, label: f.label, value: f.value, how: f.how });
  }
  const sides = (g: BarGroup) => new Set(g.bars.map((b) => b.side));
  const compares = (g: BarGroup) => sides(g).has('vm') && (sides(g).has('container') || sides(g).has('host'));
  // How far apart the values are: equal bars (the same download on both sides) say little.
  const spread = (g: BarGroup) => {
    const v = g.bars.map((b) => b.value).filter((x) => x > 0);
    return v.length ? Math.max(...v) / Math.min(...v) : 1;
  };
  return [...byUnit.values()]
    .filter((g) => g.bars.length > 1)
    .sort(
      (a, b) =>
        Number(compares(b)) - Number(compares(a)) || Number(spread(b) > 1.5) - Number(spread(a) > 1.5) || BAR_UNITS.indexOf(a.unit) - BAR_UNITS.indexOf(b.unit),
    )
    .slice(0, maxGroups)
    .map((g) => {
      const bars = pickAcrossSides(g.bars, MAX_BARS).sort((a, b) => SIDE_ORDER[a.side] - SIDE_ORDER[b.side]);
      return { ...g, bars, max: Math.max(...bars.map((b) => b.value), 0) };
    });
}

/** Up to `n` bars taken in turn from each side, so a long VM list cannot crowd out the containers. */
function pickAcrossSides<T extends { side: Side }>(bars: T[], n: number): T[] {
  const queues = (['vm', 'container', 'host'] as const).map((side) => bars.filter((b) => b.side === side));
  const out: T[] = [];
  while (out.length < n && queues.some((q) => q.length)) for (const q of queues) if (q.length && out.length < n) out.push(q.shift()!);
  return out;
}

/** A text figure short enough to read at a glance; longer ones stay in the figures table. */
const SHORT_TEXT = 40;
export const MAX_FACTS = 7;

/** Yes/no findings first (they are the row's conclusions), then short text ones if asked for. */
export function facts(figures: readonly Figure[], withText: boolean): Fact[] {
  const fact = (f: Figure): Fact => ({ id: f.id, side: f.side, label: f.label, value: f.value as boolean | string });
  const yesNo = figures.filter((f) => typeof f.value === 'boolean').map(fact);
  const text = withText ? figures.filter((f) => f.unit === 'text' && typeof f.value === 'string' && f.value.length <= SHORT_TEXT).map(fact) : [];
  return [...yesNo, ...text].slice(0, MAX_FACTS);
}

export function resultCharts(r: ExperimentResult): ResultCharts {
  const phases = phaseBars(r.figures);
  const groups = barGroups(r.figures);
  const series = r.series.filter((s) => s.points.length > 0);
  const pictures = phases.length + groups.length + series.length;
  return { phases, groups, series, facts: facts(r.figures, pictures === 0) };
}

/** Axis ticks in a unit's own steps: bytes in whole KiB or MiB, the rest by niceTicks. */
export function unitTicks(max: number, unit: Unit, count = 4): number[] {
  if (unit === 'bytes') {
    const scale = max >= 2 ** 20 ? 2 ** 20 : max >= 2 ** 10 ? 2 ** 10 : 1;
    return niceTicks(max / scale, count).map((t) => t * scale);
  }
  return niceTicks(max, count);
}

/** Round numbers for an axis from 0 to at least `max`: [0, step, 2·step, …]. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((k) => k * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < max) ticks.push(ticks[ticks.length - 1]! + step);
  return ticks;
}
