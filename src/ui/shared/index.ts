export { clock, epochNow } from './clock.svelte.ts';
export { downloadText } from './download.ts';
