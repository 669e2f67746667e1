export * from './api.ts';
export * from './flow.ts';
export * from './phases.ts';
export * from './profiles.ts';
export * from './results.ts';
export * from './timers.ts';
export * from './url-config.ts';
export * from './container-phases.ts';
