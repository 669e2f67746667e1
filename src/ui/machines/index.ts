export { MachineSession, type MachineSpec, type SessionState } from './machine-session.svelte.ts';
export { machineUrls } from './urls.ts';
