export { default as SnapshotControls } from './snapshot-controls.svelte';
export { default as ResumeOffer } from './resume-offer.svelte';
export { SnapshotShelf, shelf, resumeSession, resumeOrBoot, mib } from './shelf.svelte.ts';
