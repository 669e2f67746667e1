// Entry of a machine thread (worker_threads cannot start a .ts file themselves): TypeScript
// through tsx, Vite's virtual modules the runtime imports, then the page's MachineRuntime (thread.ts).
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
// After tsx, so the hooks module is TypeScript too (it builds the integrity with core's function).
register('./virtual-modules.ts', import.meta.url);
await import('./thread.ts');
