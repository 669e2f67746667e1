export { default as LabPage } from './lab-page.svelte';
export { Lab } from './lab.svelte.ts';
