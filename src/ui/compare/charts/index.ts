export { default as BarChart } from './bar-chart.svelte';
export { default as PhaseBars } from './phase-bars.svelte';
export { default as LineChart } from './line-chart.svelte';
export { default as FactList } from './fact-list.svelte';
