/** One colour per side on every chart and cell of the compare page. */
import type { Side } from '../../core/experiments/types.ts';

export const SIDE_COLORS: Record<Side, string> = {
  vm: '#4f46e5',
  container: '#0d9488',
  host: '#64748b',
};

export const SIDE_NAMES: Record<Side, string> = {
  vm: 'VM',
  container: 'Container',
  host: 'Container host',
};
