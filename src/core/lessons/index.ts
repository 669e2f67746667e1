export * from './format.ts';
export * from './parse.ts';
export * from './checks.ts';
export * from './vm-agent.ts';
export * from './mux-runner.ts';
export * from './progress.ts';
export * from './results.ts';
