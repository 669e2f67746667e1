export { default as ComparePage } from './compare-page.svelte';
export { Compare, ExperimentRow } from './compare.svelte.ts';
export { BrowserDriver } from './browser-driver.ts';
