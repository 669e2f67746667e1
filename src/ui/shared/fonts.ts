import { TERMINAL_FONT } from '../terminal/terminal-session.ts';
import { warmFontStrikes } from './font-warmup.ts';

let warmed: Promise<void> | undefined;
/**
 * Warm the page's and the terminals' font strikes once per page (see font-warmup.ts), in slices of
 * about `sliceMs` of main-thread time (Infinity: all in the calling task). The first call decides.
 */
export const warmPageFonts = (sliceMs?: number) => (warmed ??= warmFontStrikes([TERMINAL_FONT], sliceMs));
