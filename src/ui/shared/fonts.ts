import { TERMINAL_FONT } from '../terminal/terminal-session.ts';
import { warmFontStrikes } from './font-warmup.ts';

let warmed: Promise<void> | undefined;
/** Warm the page's and the terminals' font strikes once per page (see font-warmup.ts). */
export const warmPageFonts = () => (warmed ??= warmFontStrikes([TERMINAL_FONT]));
