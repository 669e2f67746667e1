export * from './config.ts';
export * from './format.ts';
export * from './keys.ts';
export * from './platform.ts';
export * from './store.ts';
export * from './mux-resume.ts';
