export { default as RacePage } from './race-page.svelte';
export { Race, CONTAINERS_AVAILABLE } from './race.svelte.ts';
