/**
 * The experiments, in the order of the comparison table (seed 004). To add one, import it and put
 * it in EXPERIMENTS where its row belongs; the page, `npm run bench` and the tests pick it up.
 */
import type { Experiment } from './types.ts';

export const EXPERIMENTS: readonly Experiment[] = [];

export function findExperiment(id: string): Experiment | undefined {
  return EXPERIMENTS.find((e) => e.id === id);
}

export * from './types.ts';
export * from './driver.ts';
