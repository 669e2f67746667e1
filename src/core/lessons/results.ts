/**
 * A student's lesson result as a file they export and the teacher drops on the class board
 * (`?page=class`): progress and the figures the page measured (guesses, a timed race with guest
 * instructions, so a slow and a fast laptop compare fairly). No server: files travel by hand.
 */

export const RESULT_FORMAT = 'stacklab-lesson-result';

export interface LessonResult {
  format: typeof RESULT_FORMAT;
  version: 1;
  lesson: string;
  /** ISO time of the export. */
  exportedAt: string;
  steps: number;
  /** 1-based steps whose check passed. */
  passed: number[];
  /** Page facts: guess.*, race.vm-ms, race.container-ms, race.vm-instructions, race.container-instructions. */
  facts: Record<string, string>;
  /** navigator.hardwareConcurrency of the student's browser, when known. */
  cores?: number;
}

export function makeResult(lesson: string, steps: number, passed: number[], facts: Record<string, string>, cores?: number, now = new Date()): LessonResult {
  return {
    format: RESULT_FORMAT,
    version: 1,
    lesson,
    exportedAt: now.toISOString(),
    steps,
    passed: [...passed],
    facts: { ...facts },
    ...(cores ? { cores } : {}),
  };
}

export type ResultRead = { ok: true; result: LessonResult } | { ok: false; message: string };

/** Read one exported file; a file that is not one gives a sentence naming it. */
export function parseResult(file: string, text: string): ResultRead {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, message: `${file}: not a stacklab result (it is not JSON)` };
  }
  return resultFromValue(file, v);
}

/** Check a parsed value is a LessonResult (facts as strings, unknown fields dropped); `file` names it in the message. */
export function resultFromValue(file: string, v: unknown): ResultRead {
  const r = v as Partial<LessonResult>;
  if (!r || typeof r !== 'object' || r.format !== RESULT_FORMAT)
    return { ok: false, message: `${file}: not a stacklab result (no "format": "${RESULT_FORMAT}")` };
  if (r.version !== 1) return { ok: false, message: `${file}: result version ${String(r.version)} is not one this page reads (1)` };
  if (typeof r.lesson !== 'string' || !Number.isInteger(r.steps) || !Array.isArray(r.passed) || !r.facts || typeof r.facts !== 'object')
    return { ok: false, message: `${file}: a stacklab result needs lesson, steps, passed and facts` };
  const facts: Record<string, string> = {};
  for (const [k, val] of Object.entries(r.facts)) if (typeof val === 'string' || typeof val === 'number') facts[k] = String(val);
  return {
    ok: true,
    result: {
      format: RESULT_FORMAT,
      version: 1,
      lesson: r.lesson,
      exportedAt: String(r.exportedAt ?? ''),
      steps: r.steps!,
      passed: r.passed.filter(Number.isInteger),
      facts,
      ...(Number.isInteger(r.cores) ? { cores: r.cores } : {}),
    },
  };
}

/** One row of the class board: a student's file, with the numbers it carries (undefined when absent). */
export interface ClassRow {
  file: string;
  lesson: string;
  passed: number;
  steps: number;
  vmMs?: number;
  containerMs?: number;
  vmInstructions?: number;
  containerInstructions?: number;
  guessVmS?: number;
  guessContainerS?: number;
  cores?: number;
}

const num = (s: string | undefined) => (s !== undefined && s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : undefined);

export function classRow(file: string, r: LessonResult): ClassRow {
  const f = r.facts;
  return {
    file,
    lesson: r.lesson,
    passed: r.passed.length,
    steps: r.steps,
    vmMs: num(f['race.vm-ms']),
    containerMs: num(f['race.container-ms']),
    vmInstructions: num(f['race.vm-instructions']),
    containerInstructions: num(f['race.container-instructions']),
    guessVmS: num(f['guess.vm-boot-s']),
    guessContainerS: num(f['guess.container-start-s']),
    cores: r.cores,
  };
}

/**
 * Counts of `values` in `bins` equal-width bins on a log10 scale from the smallest to the largest
 * value (boot times and start times differ by orders of magnitude). Edges in the values' unit.
 */
export function logHistogram(values: readonly number[], bins: number): { edges: number[]; counts: number[] } {
  const v = values.filter((x) => x > 0);
  if (!v.length || bins < 1) return { edges: [], counts: [] };
  const lo = Math.log10(Math.min(...v)),
    hi = Math.log10(Math.max(...v));
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const x of v) counts[Math.min(bins - 1, Math.floor((Math.log10(x) - lo) / width))]++;
  const edges = Array.from({ length: bins + 1 }, (_, i) => 10 ** (lo + i * width));
  return { edges, counts };
}

/** Several series counted in the same log-scale bins (edges from all their values together). */
export function sharedLogHistogram(series: readonly (readonly number[])[], bins: number): { edges: number[]; counts: number[][] } {
  const { edges } = logHistogram(series.flat(), bins);
  if (!edges.length) return { edges, counts: series.map(() => []) };
  const lo = Math.log10(edges[0]),
    width = (Math.log10(edges[bins]) - lo) / bins || 1;
  const counts = series.map((values) => {
    const c = new Array<number>(bins).fill(0);
    for (const x of values) if (x > 0) c[Math.min(bins - 1, Math.max(0, Math.floor((Math.log10(x) - lo) / width)))]++;
    return c;
  });
  return { edges, counts };
}

/** How far a guess was from the measurement, as measured ÷ guessed (1 = spot on). */
export function guessRatio(guessS: number | undefined, measuredMs: number | undefined): number | undefined {
  return guessS && measuredMs ? measuredMs / 1000 / guessS : undefined;
}
