// Entry of a machine thread (worker_threads cannot start a .ts file themselves): TypeScript
// through tsx, Vite's virtual modules the runtime imports, then the page's MachineRuntime (thread.ts).
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

register('./virtual-modules.mjs', import.meta.url);
registerTsx();
await import('./thread.ts');
