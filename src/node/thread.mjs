// Entry of a machine thread (worker_threads cannot start a .ts file themselves): TypeScript
// through tsx, Vite's virtual modules the worker imports, then the web-worker environment and the
// page's own machine worker (thread.ts).
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

register('./virtual-modules.mjs', import.meta.url);
registerTsx();
await import('./thread.ts');
