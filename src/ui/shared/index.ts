export { clock, epochNow } from './clock.svelte.ts';
export { downloadText } from './download.ts';
export { warmPageFonts } from './fonts.ts';
export { exposeOnWindow } from './test-hook.ts';
export { nextTask } from './next-task.ts';
