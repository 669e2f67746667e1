/**
 * What an experiment is and what it returns. DOM-free: the compare page, `npm run bench` and the
 * boot tests all consume these types; drivers (src/core/experiments/driver.ts) supply the machines.
 *
 * Rules every experiment follows:
 * - every number in a result was measured during this run (no constants dressed as figures);
 * - a figure says its unit and which side it belongs to;
 * - an experiment that cannot finish throws an Error whose message says what failed (the page shows
 *   it; the bench records it) and stops every machine it booted (use `withMachines`).
 */
import type { Driver } from './driver.ts';

/** Which machine a figure describes. 'host' = the container host itself (a VM running the containers' kernel). */
export type Side = 'vm' | 'container' | 'host';

/**
 * Units the page and the Markdown table know how to format. 'bytes' are printed as KiB/MiB,
 * 'ms' as ms/s, 'instructions' as M/G; 'text' figures have a string value.
 */
export type Unit = 'bytes' | 'ms' | 'instructions' | 'count' | 'percent' | 'ratio' | 'MiB' | 'bool' | 'text';

export interface Figure {
  /** Stable id, unique within the experiment (the bench aggregates runs by it), e.g. 'vm.disk'. */
  id: string;
  side: Side;
  /** Short label for tables: "disk image", "start (warm)". */
  label: string;
  value: number | string | boolean;
  unit: Unit;
  /** How it was measured, one line ("LazyDisk bytes fetched during one boot"). */
  how?: string;
  /**
   * Timing figures depend on the load of the machine running the emulator; instruction counts and
   * byte counts do not. The bench prints the spread of 'load' figures and warns about them.
   */
  dependsOnLoad?: boolean;
}

export interface SeriesPoint {
  x: number;
  y: number;
}

/** A curve for a chart (density: memory used vs number of machines started). */
export interface Series {
  id: string;
  side: Side;
  label: string;
  xLabel: string;
  xUnit: Unit;
  yLabel: string;
  yUnit: Unit;
  points: SeriesPoint[];
}

/** Raw text seen inside a machine (uname -r, ps output, a panic line), shown as evidence. */
export interface Evidence {
  side: Side;
  label: string;
  text: string;
}

export interface ExperimentResult {
  id: string;
  /** One line per side for the compare table, made from the figures of this run. */
  vm: string;
  container: string;
  host?: string;
  figures: Figure[];
  series: Series[];
  evidence: Evidence[];
  /** Plain sentences: what bounded a count, what differs on real hardware, caveats of this run. */
  notes: string[];
  /** Wall ms the whole experiment took (load-dependent). */
  durationMs: number;
}

export interface ProgressEvent {
  /** What is happening now, for a status line ("booting VM 3 of 16"). */
  message: string;
  /** 0..1 when known. */
  fraction?: number;
}

/** The part of AbortSignal used here (src/core has no DOM typings; a real AbortSignal fits). */
export interface AbortSignalLike {
  readonly aborted: boolean;
}

export interface ExperimentContext {
  onProgress?(e: ProgressEvent): void;
  /** Aborting stops the experiment at its next step; it then throws and stops its machines. */
  signal?: AbortSignalLike;
  /**
   * Knobs an experiment documents in `params` (e.g. density's `budgetMb`); tests use smaller ones
   * to stay fast. Unknown keys are ignored.
   */
  params?: Record<string, number>;
}

export interface ParamDef {
  name: string;
  default: number;
  unit: Unit;
  what: string;
}

export interface Experiment {
  /** Short id used on the command line (`npm run bench -- --only size,memory`) and in URLs. */
  id: string;
  /** The row of the comparison table it measures ("Size", "Boot/start time"). */
  title: string;
  /** Two or three plain sentences for the page: what is run and why the figures differ. */
  explain: string;
  /** Rough cost in wall seconds on an idle 2-core machine, so runners can pick fast ones. */
  costSeconds: number;
  /** The knobs `ctx.params` may set, with their defaults. */
  params?: ParamDef[];
  run(driver: Driver, ctx?: ExperimentContext): Promise<ExperimentResult>;
}
