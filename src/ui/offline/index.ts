export { default as OfflineControls } from './offline-controls.svelte';
export { offline, OfflineState, type OfflineStatus } from './offline.svelte.ts';
