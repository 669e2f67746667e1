/** One colour per side on every chart and cell: the page's --vm, --container and --host (src/ui/styles.css). */
import type { Side } from '../../core/experiments/types.ts';

/** CSS values: set them as style properties (style:fill), which take var(), not as SVG attributes. */
export const SIDE_COLORS: Record<Side, string> = {
  vm: 'var(--vm)',
  container: 'var(--container)',
  host: 'var(--host)',
};

export const SIDE_NAMES: Record<Side, string> = {
  vm: 'VM',
  container: 'Container',
  host: 'Container host',
};
