export { default as MachineCard } from './machine-card.svelte';
export { default as PhaseTimeline } from './phase-timeline.svelte';
export { PHASE_COLORS, phaseColor } from './phase-colors.ts';
export { machineStateLabel } from './state-label.ts';
