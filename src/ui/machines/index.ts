export { MachineSession, type MachineSpec, type SessionState } from './machine-session.svelte.ts';
export { machineUrls } from './urls.ts';
export { emulatorModule } from './emulator-module.ts';
export { ContainerSession, type ContainerStartMode } from './container-session.svelte.ts';
