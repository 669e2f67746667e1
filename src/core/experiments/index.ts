/**
 * The experiments, in the order of the comparison table (seed 004). To add one, import it and put
 * it in EXPERIMENTS where its row belongs; the page, `npm run bench` and the tests pick it up.
 */
import type { Experiment } from './types.ts';
import { size } from './size.ts';
import { boot } from './boot.ts';
import { compute } from './compute.ts';
import { isolation } from './isolation.ts';
import { osSupport } from './os-support.ts';
import { security } from './security.ts';
import { memory } from './memory.ts';
import { density } from './density.ts';
import { networking } from './networking.ts';
import { storage } from './storage.ts';
import { hybrid } from './hybrid.ts';
import { portability } from './portability.ts';

export const EXPERIMENTS: readonly Experiment[] = [
  size,
  boot,
  compute,
  isolation,
  osSupport,
  security,
  memory,
  density,
  networking,
  storage,
  hybrid,
  portability,
];

export * from './types.ts';
export * from './driver.ts';
export { formatValue, formatBytes, median } from './common.ts';
